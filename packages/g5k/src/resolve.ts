/**
 * Host -> address resolution. A node finds itself in the deployment by its own IP address,
 * so nxc must key the deployment by the address each machine really has, as the deploying
 * host resolves it (on Grid'5000 the site DNS; in tests the namespace's hosts file).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIPv4 } from 'node:net';
import { NxcError } from '@nxc/core/flavour';

/** Resolver signature (defaults to the system resolver, IPv4). */
export type Lookup = (host: string) => Promise<string>;

const systemLookup: Lookup = async (host) => (await dnsLookup(host, { family: 4 })).address;

/** A machine and its address. */
export interface ResolvedMachine {
  host: string;
  address: string;
}

/**
 * Resolves every machine to an IPv4 address, in parallel. One NxcError `NXC_MACHINES` naming
 * every host that does not resolve, and two machines with the same address are refused
 * (nodes could not tell themselves apart).
 */
export async function resolveMachines(
  hosts: string[],
  options: { lookup?: Lookup; source?: string } = {},
): Promise<ResolvedMachine[]> {
  const lookup = options.lookup ?? systemLookup;
  const where = options.source ? `machine file ${options.source}` : 'machine list';
  const results = await Promise.all(
    hosts.map(async (host) => {
      if (isIPv4(host)) return { host, address: host };
      try {
        return { host, address: await lookup(host) };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const why =
          code === 'ENOTFOUND' || code === 'EAI_NONAME'
            ? 'unknown host'
            : code === 'EAI_AGAIN'
              ? 'no answer from DNS'
              : (code ?? (e as Error).message);
        return { host, error: why };
      }
    }),
  );
  const bad = results.filter((r): r is { host: string; error: string } => 'error' in r);
  if (bad.length > 0) {
    throw new NxcError(
      'NXC_MACHINES',
      `${where}: cannot resolve ${bad.map((b) => `${b.host} (${b.error})`).join(', ')}`,
      {
        hint: 'check the host names (run nxc on the site frontend, where node names resolve)',
      },
    );
  }
  const ok = results as ResolvedMachine[];
  const byAddress = new Map<string, string>();
  for (const r of ok) {
    const other = byAddress.get(r.address);
    if (other) {
      throw new NxcError('NXC_MACHINES', `${where}: ${other} and ${r.host} both resolve to ${r.address}`, {
        hint: 'list each machine once',
      });
    }
    byAddress.set(r.address, r.host);
  }
  return ok;
}
