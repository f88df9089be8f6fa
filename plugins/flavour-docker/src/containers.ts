/**
 * One container per node: what it runs, mounts and exposes. The runtime of a node is
 * described once ({@link NodeRuntime}, pure data) and rendered both as an Engine API
 * create request ({@link toCreateOptions}) and as a docker-compose service
 * (compose-file.ts), so the two cannot drift apart.
 */
import { createHash } from 'node:crypto';
import { readdirSync, rmdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { NxcError, z } from '@nxc/core/flavour';
import type Docker from 'dockerode';
import { type Scope, containerName, nodeLabels, volumeName } from './labels.js';
import { DEFAULT_PUBLISH_ADDRESS } from './options.js';

/** Docker-specific composition attributes (compose info `extra.docker`), as in the original nxc. */
export interface DockerExtras {
  /** Extra mounts for every node: `SRC:DST[:ro|rw]` (SRC a host path or a volume name). */
  extraVolumes: Array<{ source: string; target: string; readOnly: boolean }>;
  /** Published ports per role: `"8080:80"`, `"127.0.0.1:8080:80/udp"`, `"80"`. */
  dockerPorts: Record<string, PortMapping[]>;
  /**
   * The role inits are a real systemd (NixOS): PID 1 itself, a writable name=systemd cgroup
   * subtree of its own ({@link SystemdCgroups}) and SIGRTMIN+3 as stop signal (systemd's
   * "halt"). Default false.
   */
  systemd: boolean;
}

/**
 * Where a systemd node's cgroups come from. `subtree` (cgroup v1, cgroupfs driver): the
 * containers of a deployment get their own parent cgroup; each sees the name=systemd
 * hierarchy as a tmpfs holding only that parent's subtree, read-write, in the host's cgroup
 * namespace (so the paths in /proc/self/cgroup match), and no CAP_SYS_ADMIN: no hierarchy root,
 * hence no release_agent, is within reach, and no other cgroup can be created or written.
 * `host` (explicit opt-in, for engines where `subtree` does not apply): CAP_SYS_ADMIN and the
 * host's /sys/fs/cgroup read-write, with which root in the container can become root on the host.
 */
export type SystemdCgroups = { kind: 'subtree'; parent: string } | { kind: 'host' };

/** Parent cgroup of a deployment's containers in `subtree` mode (one per project, composition and flavour). */
export function cgroupParentFor(scope: Scope): string {
  const h = createHash('sha256')
    .update(`${scope.projectRoot}\0${scope.composition}\0${scope.flavour}`)
    .digest('hex')
    .slice(0, 12);
  return `/nxc-${h}`;
}

/**
 * Removes the deployment's empty parent cgroup from every hierarchy once its containers are
 * gone (the engine removes only the containers' own cgroups). Needs root on the host: for
 * other users the empty folders stay, harmless, and are reused by the next start.
 */
export function removeCgroupParent(scope: Scope, root = '/sys/fs/cgroup'): void {
  let hierarchies: string[];
  try {
    hierarchies = readdirSync(root);
  } catch {
    return;
  }
  for (const h of hierarchies) {
    try {
      rmdirSync(join(root, h, cgroupParentFor(scope)));
    } catch {
      /* absent, in use, or not ours to remove */
    }
  }
}

export interface PortMapping {
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostPort?: number;
  hostIp?: string;
}

const PORT_RE = /^(?:(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5}):)?(\d{1,5})(?:\/(tcp|udp|sctp))?$/;

/** Parses one docker-compose short port syntax entry. Throws a plain Error on bad input. */
export function parsePort(spec: string | number): PortMapping {
  const m = PORT_RE.exec(String(spec).trim());
  if (!m)
    throw new Error(`bad port "${spec}" (expected CONTAINER, HOST:CONTAINER or IP:HOST:CONTAINER[/udp])`);
  const mapping: PortMapping = {
    containerPort: Number(m[3]),
    protocol: (m[4] ?? 'tcp') as PortMapping['protocol'],
  };
  if (m[2] !== undefined) mapping.hostPort = Number(m[2]);
  if (m[1] !== undefined) mapping.hostIp = m[1];
  return mapping;
}

function parseVolume(spec: string): { source: string; target: string; readOnly: boolean } {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]?.startsWith('/')) {
    throw new Error(`bad volume "${spec}" (expected SOURCE:/container/path[:ro])`);
  }
  const mode = parts[2] ?? 'rw';
  if (!/^(ro|rw)(,.*)?$/.test(mode) && !/^[a-z,]+$/.test(mode))
    throw new Error(`bad volume mode in "${spec}"`);
  return { source: parts[0], target: parts[1], readOnly: mode.split(',').includes('ro') };
}

const volumeEntry = z.union([
  z.string(),
  z.object({
    source: z.string().min(1),
    target: z.string().startsWith('/'),
    read_only: z.boolean().optional(),
  }),
]);
const extrasSchema = z
  .object({
    extraVolumes: z.array(volumeEntry).default([]),
    dockerPorts: z.record(z.array(z.union([z.string(), z.number()]))).default({}),
    systemd: z.boolean().optional(),
  })
  .passthrough();

/**
 * Reads `extra.docker` of a compose info. Relative host paths are resolved against the
 * project root (as docker-compose resolves them against the compose file).
 */
export function readDockerExtras(
  extra: Record<string, unknown>,
  where: { source: string; projectRoot: string; defaultSystemd?: boolean },
): DockerExtras {
  const parsed = extrasSchema.safeParse(extra.docker ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new NxcError(
      'NXC_COMPOSE_INFO',
      `${where.source}: extra.docker.${issue.path.join('.')}: ${issue.message}`,
      {
        hint: 'fix extraVolumes / dockerPorts in the composition and rebuild',
      },
    );
  }
  const fail = (field: string, error: unknown): never => {
    throw new NxcError(
      'NXC_COMPOSE_INFO',
      `${where.source}: extra.docker.${field}: ${(error as Error).message}`,
      {
        hint: 'fix the composition and rebuild',
      },
    );
  };
  const extraVolumes = parsed.data.extraVolumes.map((v, i) => {
    try {
      const vol =
        typeof v === 'string'
          ? parseVolume(v)
          : { source: v.source, target: v.target, readOnly: v.read_only ?? false };
      if (vol.source.startsWith('.') || vol.source.startsWith('~')) {
        vol.source = vol.source.startsWith('~')
          ? vol.source.replace(/^~/, process.env.HOME ?? '~')
          : resolve(where.projectRoot, vol.source);
      }
      return vol;
    } catch (error) {
      return fail(`extraVolumes[${i}]`, error);
    }
  });
  const dockerPorts: Record<string, PortMapping[]> = {};
  for (const [role, list] of Object.entries(parsed.data.dockerPorts)) {
    dockerPorts[role] = list.map((p, i) => {
      try {
        return parsePort(p);
      } catch (error) {
        return fail(`dockerPorts.${role}[${i}]`, error);
      }
    });
  }
  return { extraVolumes, dockerPorts, systemd: parsed.data.systemd ?? where.defaultSystemd ?? false };
}

/** A mount of a node: a host path (bind), a named volume, or nothing but memory (tmpfs is separate). */
export interface Mount {
  kind: 'bind' | 'volume';
  source: string;
  target: string;
  readOnly: boolean;
  /** The engine creates a missing source (a cgroup directory: created by the engine as root). */
  createSource?: boolean;
}

/** Everything a node's container is, as plain data. */
export interface NodeRuntime {
  name: string;
  host: string;
  role: string;
  address: string;
  image: string;
  command: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  mounts: Mount[];
  tmpfs: Record<string, string>;
  capAdd: string[];
  /** Run Docker's tiny init as PID 1 (forwards signals, reaps zombies). */
  init: boolean;
  /** systemd as PID 1: the host's cgroup namespace (paths in /proc/self/cgroup are the host's). */
  hostCgroupns: boolean;
  /** Parent cgroup of the container (systemd `subtree` mode). */
  cgroupParent?: string;
  stopSignal?: string;
  ports: PortMapping[];
  network: { name: string; alias: string; ipv4: string };
  /** Host block devices the container gets (`nxc.disks`: loop devices), rw. */
  devices: Array<{ host: string; container: string }>;
}

export interface NodeRuntimeInput {
  scope: Scope;
  deploymentId: string;
  node: { host: string; role: string; address: string; init: string; toplevel?: string };
  image: string;
  network: string;
  /** Host path of the deployment document, mounted at /etc/nxc/deployment.json. */
  deploymentFile: string;
  /** Name of the deployment's shared volume (mounted at /var/nxc/shared). */
  sharedVolume: string;
  extras: DockerExtras;
  /** Host store mounted read-only at /nix/store (default /nix/store). */
  storeDir?: string;
  /** How systemd nodes get their cgroups (default: `subtree` under {@link cgroupParentFor}). */
  systemdCgroups?: SystemdCgroups;
  /** Host address published ports bind when the composition names none (default 127.0.0.1). */
  publishAddress?: string;
  /** The node's disks: host loop device and device path in the container. */
  devices?: Array<{ host: string; container: string }>;
}

/**
 * How systemd nodes get their cgroups on this engine: `subtree` where it is known to work (cgroup
 * v1 with the cgroupfs driver, measured with Debian's systemd 252 on Docker 20.10); elsewhere only
 * with the explicit opt-in `unsafeCgroups` (the original nxc's settings), with a warning.
 */
export function chooseSystemdCgroups(
  engine: { CgroupVersion?: string; CgroupDriver?: string },
  scope: Scope,
  options: { unsafeCgroups: boolean },
): { cgroups: SystemdCgroups; warning?: string } {
  const unsafe = options.unsafeCgroups;
  const risk =
    "systemd nodes get CAP_SYS_ADMIN and the host's /sys/fs/cgroup read-write: root in a node can become root on this host";
  if (unsafe) return { cgroups: { kind: 'host' }, warning: `docker.unsafeCgroups: ${risk}` };
  const version = engine.CgroupVersion ?? '1';
  const driver = engine.CgroupDriver ?? 'cgroupfs';
  if (version === '1' && driver === 'cgroupfs')
    return { cgroups: { kind: 'subtree', parent: cgroupParentFor(scope) } };
  throw new NxcError(
    'NXC_FLAVOUR_UNUSABLE',
    `this composition's nodes run systemd, which nxc can confine only on cgroup v1 engines with the cgroupfs driver (this one: cgroup v${version}, ${driver} driver)`,
    {
      hint: `to run them anyway, set flavourOptions.docker.unsafeCgroups = true (or -O unsafeCgroups=true): ${risk}`,
    },
  );
}

/**
 * Stop signal of the containers whose init is systemd (its clean halt). A container inspected
 * with it runs systemd as PID 1, which is how `nxc logs` knows to read the node's journal.
 */
export const SYSTEMD_STOP_SIGNAL = 'SIGRTMIN+3';

/** In-memory mounts of every node (what systemd and NixOS activation expect to be fresh). */
export const TMPFS_MOUNTS: Readonly<Record<string, string>> = {
  '/run': 'rw,exec,mode=755',
  '/run/wrappers': 'rw,exec,suid,mode=755',
  '/tmp': 'rw,exec,mode=1777',
};

/** Names of the named volumes `extraVolumes` asks for (created and labelled by nxc). */
export function extraVolumeNames(scope: Scope, extras: DockerExtras): Map<string, string> {
  const names = new Map<string, string>();
  for (const v of extras.extraVolumes) {
    if (!isAbsolute(v.source)) names.set(v.source, volumeName(scope, v.source));
  }
  return names;
}

/**
 * PATH of the node's processes, `docker exec` included: NixOS's system paths, then the
 * role's own system (so commands resolve even before, or without, an activation that links
 * /run/current-system), then the FHS directories of the base image.
 */
export function systemPath(toplevel?: string): string {
  return [
    '/run/wrappers/bin',
    '/run/current-system/sw/bin',
    ...(toplevel ? [`${toplevel}/sw/bin`] : []),
    '/bin',
    '/usr/bin',
  ].join(':');
}

/** The runtime description of one node. */
export function nodeRuntime(input: NodeRuntimeInput): NodeRuntime {
  const { scope, node, extras } = input;
  const named = extraVolumeNames(scope, extras);
  const mounts: Mount[] = [
    { kind: 'bind', source: input.storeDir ?? '/nix/store', target: '/nix/store', readOnly: true },
    { kind: 'bind', source: input.deploymentFile, target: '/etc/nxc/deployment.json', readOnly: true },
    { kind: 'volume', source: input.sharedVolume, target: '/var/nxc/shared', readOnly: false },
  ];
  const cgroups: SystemdCgroups | undefined = extras.systemd
    ? (input.systemdCgroups ?? { kind: 'subtree', parent: cgroupParentFor(scope) })
    : undefined;
  const tmpfs: Record<string, string> = { ...TMPFS_MOUNTS };
  // systemd mounts /run/lock when it is not a mount point yet, and without CAP_SYS_ADMIN that
  // failure stops it at boot ("Failed to mount API filesystems")
  if (extras.systemd) tmpfs['/run/lock'] = 'rw,nosuid,nodev,noexec,mode=1777,size=5m';
  if (cgroups?.kind === 'host')
    mounts.push({ kind: 'bind', source: '/sys/fs/cgroup', target: '/sys/fs/cgroup', readOnly: false });
  if (cgroups?.kind === 'subtree') {
    // over the engine's read-only view: a tmpfs holding only the deployment's subtree, writable
    tmpfs['/sys/fs/cgroup/systemd'] = 'rw,nosuid,nodev,noexec,mode=755';
    const subtree = `/sys/fs/cgroup/systemd${cgroups.parent}`;
    mounts.push({ kind: 'bind', source: subtree, target: subtree, readOnly: false, createSource: true });
  }
  for (const v of extras.extraVolumes) {
    const volume = named.get(v.source);
    mounts.push(
      volume === undefined
        ? { kind: 'bind', source: v.source, target: v.target, readOnly: v.readOnly }
        : { kind: 'volume', source: volume, target: v.target, readOnly: v.readOnly },
    );
  }
  return {
    name: containerName(scope, node.host),
    host: node.host,
    role: node.role,
    address: node.address,
    image: input.image,
    command: [node.init],
    env: {
      NXC_FLAVOUR: 'docker',
      container: 'docker',
      NIX_REMOTE: '',
      PATH: systemPath(node.toplevel),
    },
    labels: nodeLabels(scope, input.deploymentId, node),
    mounts,
    tmpfs,
    capAdd: cgroups?.kind === 'host' ? ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN'] : ['NET_ADMIN', 'NET_RAW'],
    // systemd must be PID 1 itself; anything else gets docker-init so SIGTERM stops it at once.
    init: !extras.systemd,
    hostCgroupns: extras.systemd,
    ...(cgroups?.kind === 'subtree' ? { cgroupParent: cgroups.parent } : {}),
    ...(extras.systemd ? { stopSignal: SYSTEMD_STOP_SIGNAL } : {}),
    ports: (extras.dockerPorts[node.role] ?? []).map((p) => ({
      ...p,
      hostIp: p.hostIp ?? input.publishAddress ?? DEFAULT_PUBLISH_ADDRESS,
    })),
    network: { name: input.network, alias: node.host, ipv4: node.address },
    devices: (input.devices ?? []).map((d) => ({ ...d })),
  };
}

/** Engine API create request of a node. */
export function toCreateOptions(rt: NodeRuntime): Docker.ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp?: string; HostPort?: string }>> = {};
  for (const p of rt.ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposed[key] = {};
    const list = bindings[key] ?? [];
    list.push({ HostIp: p.hostIp ?? '', HostPort: p.hostPort === undefined ? '' : String(p.hostPort) });
    bindings[key] = list;
  }
  return {
    name: rt.name,
    Hostname: rt.host,
    Image: rt.image,
    Cmd: rt.command,
    Env: Object.entries(rt.env).map(([k, v]) => `${k}=${v}`),
    Labels: rt.labels,
    Tty: false,
    OpenStdin: false,
    ...(rt.stopSignal ? { StopSignal: rt.stopSignal } : {}),
    ExposedPorts: exposed,
    HostConfig: {
      Init: rt.init,
      ...(rt.hostCgroupns ? { CgroupnsMode: 'host' as const } : {}),
      ...(rt.cgroupParent ? { CgroupParent: rt.cgroupParent } : {}),
      CapAdd: rt.capAdd,
      Mounts: rt.mounts
        .filter((m) => !m.createSource)
        .map((m) => ({
          Type: m.kind,
          Source: m.source,
          Target: m.target,
          ReadOnly: m.readOnly,
        })),
      // `Binds` (unlike `Mounts`) lets the engine create a missing source
      Binds: rt.mounts
        .filter((m) => m.createSource)
        .map((m) => `${m.source}:${m.target}:${m.readOnly ? 'ro' : 'rw'}`),
      Tmpfs: rt.tmpfs,
      NetworkMode: rt.network.name,
      PortBindings: bindings,
      ...(rt.devices.length > 0
        ? {
            Devices: rt.devices.map((d) => ({
              PathOnHost: d.host,
              PathInContainer: d.container,
              CgroupPermissions: 'rwm',
            })),
          }
        : {}),
    },
    NetworkingConfig: {
      EndpointsConfig: {
        [rt.network.name]: { Aliases: [rt.network.alias], IPAMConfig: { IPv4Address: rt.network.ipv4 } },
      },
    },
  };
}

/**
 * Refuses distributions that cannot work before anything is created: a fixed host port
 * published by a role that has several nodes.
 */
export function checkPorts(
  nodes: Array<{ role: string; host: string }>,
  extras: DockerExtras,
  source: string,
): void {
  for (const [role, ports] of Object.entries(extras.dockerPorts)) {
    const hosts = nodes.filter((n) => n.role === role).map((n) => n.host);
    const fixed = ports.find((p) => p.hostPort !== undefined);
    if (hosts.length > 1 && fixed) {
      throw new NxcError(
        'NXC_DISTRIBUTION',
        `${source}: dockerPorts.${role} publishes host port ${fixed.hostPort} but role "${role}" has ${hosts.length} nodes (${hosts.join(', ')})`,
        {
          hint: `run one ${role} node, or publish "${fixed.containerPort}" alone so Docker picks a free host port per node`,
        },
      );
    }
  }
}

/** Mounts every node gets anyway (or that nxc replaces), skipped when reading an original compose file. */
const ORIGINAL_STANDARD_TARGETS = new Set([
  '/nix/store',
  '/sys/fs/cgroup',
  '/var/nxc/shared',
  '/etc/nxc/deployment.json',
  '/tmp/shared',
]);

/**
 * The `extra.docker` equivalent of the original nxc's generated docker-compose file (its
 * docker dialect keeps `extraVolumes` and `dockerPorts` only there): the services' volumes
 * beyond the standard ones, and each role's published ports. Pure.
 */
export function extrasFromOriginalComposeFile(
  compose: { services?: Record<string, { volumes?: unknown[]; ports?: unknown[] }> },
  roles: string[],
): { extraVolumes: string[]; dockerPorts: Record<string, string[]> } {
  const extraVolumes: string[] = [];
  const dockerPorts: Record<string, string[]> = {};
  for (const role of roles) {
    const service = compose.services?.[role];
    if (!service) continue;
    for (const v of service.volumes ?? []) {
      let spec: string | undefined;
      if (typeof v === 'string') spec = v;
      else if (v && typeof v === 'object' && 'source' in v && 'target' in v) {
        const o = v as { source: string; target: string; read_only?: boolean };
        spec = `${o.source}:${o.target}${o.read_only ? ':ro' : ''}`;
      }
      const target = spec?.split(':')[1];
      if (spec && target && !ORIGINAL_STANDARD_TARGETS.has(target) && !extraVolumes.includes(spec))
        extraVolumes.push(spec);
    }
    const ports = (service.ports ?? []).flatMap((p) => {
      if (typeof p === 'string' || typeof p === 'number') return [String(p)];
      if (p && typeof p === 'object' && 'target' in p) {
        const o = p as { target: number; published?: number | string; protocol?: string };
        return [
          `${o.published === undefined ? '' : `${o.published}:`}${o.target}${o.protocol ? `/${o.protocol}` : ''}`,
        ];
      }
      return [];
    });
    if (ports.length > 0) dockerPorts[role] = ports;
  }
  return { extraVolumes, dockerPorts };
}
