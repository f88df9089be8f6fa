/**
 * The deployment's network: one user-defined bridge per deployment (Docker's embedded DNS
 * resolves node hostnames only on such networks), with a subnet nxc chooses itself so that
 * every node gets a static address known BEFORE its container starts: the deployment
 * document, keyed by address, is written first and then mounted into every node.
 */
import { networkInterfaces } from 'node:os';

/** An IPv4 network: base address as an unsigned 32-bit integer and prefix length. */
export interface Cidr {
  base: number;
  prefix: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.').map((p) => Number(p));
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(text: string): Cidr {
  const [ip, len] = text.split('/');
  const prefix = Number(len ?? '32');
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`not a CIDR: ${text}`);
  return { base: (ipToInt(ip ?? '') & mask(prefix)) >>> 0, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.base)}/${c.prefix}`;
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const aEnd = a.base + size(a) - 1;
  const bEnd = b.base + size(b) - 1;
  return a.base <= bEnd && b.base <= aEnd;
}

/** Smallest prefix (at most /24) whose subnet holds network, gateway, `nodes` hosts and broadcast. */
export function prefixFor(nodes: number): number {
  let prefix = 24;
  while (prefix > 8 && 2 ** (32 - prefix) < nodes + 3) prefix--;
  return prefix;
}

/**
 * Candidate pools, tried in order: the ranges Docker itself uses for bridges, then a slice
 * of 10/8 rarely routed on laptops and clusters.
 */
const POOLS = ['172.18.0.0/15', '172.20.0.0/14', '172.24.0.0/13', '10.200.0.0/13', '192.168.128.0/17'];

/** Subnets free of every `taken` one, best first, sized for `nodes`. */
export function* candidateSubnets(nodes: number, taken: Cidr[]): Generator<Cidr> {
  const prefix = prefixFor(nodes);
  for (const pool of POOLS.map(parseCidr)) {
    if (pool.prefix > prefix) continue;
    const step = 2 ** (32 - prefix);
    for (let base = pool.base; base < pool.base + size(pool); base += step) {
      const c = { base: base >>> 0, prefix };
      if (!taken.some((t) => overlaps(t, c))) yield c;
    }
  }
}

/** Gateway (first host) and node addresses (following ones) of a subnet. */
export function allocateAddresses(subnet: Cidr, count: number): { gateway: string; addresses: string[] } {
  if (count + 3 > size(subnet)) {
    throw new Error(`subnet ${formatCidr(subnet)} cannot hold ${count} nodes`);
  }
  const gateway = intToIp(subnet.base + 1);
  const addresses = Array.from({ length: count }, (_, i) => intToIp(subnet.base + 2 + i));
  return { gateway, addresses };
}

/** IPv4 networks of this machine's interfaces (a bridge must not shadow them). */
export function hostSubnets(): Cidr[] {
  const out: Cidr[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv4' && a.cidr && !a.internal) out.push(parseCidr(a.cidr));
    }
  }
  return out;
}

/** The network created for a deployment. */
export interface DeploymentNetwork {
  id: string;
  name: string;
  subnet: string;
  gateway: string;
  /** One address per node, in node order. */
  addresses: string[];
}

/**
 * Creates the deployment's bridge with a free subnet sized for `nodeCount` nodes. Another
 * process may grab a subnet between our listing and our request: the engine then refuses
 * with "overlaps", and the next candidate is tried.
 */
export async function createDeploymentNetwork(
  docker: import('dockerode'),
  name: string,
  labels: Record<string, string>,
  nodeCount: number,
): Promise<DeploymentNetwork> {
  const existing = await docker.listNetworks();
  const taken: Cidr[] = [...hostSubnets()];
  for (const net of existing) {
    for (const config of net.IPAM?.Config ?? []) {
      const subnet = (config as { Subnet?: string }).Subnet;
      if (subnet && /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(subnet)) taken.push(parseCidr(subnet));
    }
  }
  let attempts = 0;
  let lastError: unknown;
  for (const candidate of candidateSubnets(nodeCount, taken)) {
    if (attempts++ >= 32) break;
    const { gateway, addresses } = allocateAddresses(candidate, nodeCount);
    const subnet = formatCidr(candidate);
    try {
      const network = await docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: labels,
        IPAM: { Driver: 'default', Config: [{ Subnet: subnet, Gateway: gateway }] },
      });
      return { id: network.id, name, subnet, gateway, addresses };
    } catch (error) {
      lastError = error;
      if (!/overlap/i.test(String((error as Error).message))) throw error;
    }
  }
  throw lastError ?? new Error(`no free IPv4 subnet for ${nodeCount} nodes`);
}
