/**
 * Block devices of the Grid'5000 flavours (`nxc.disks`): a role's declared disks map onto the
 * spare disks the OAR job reserved on each machine. Grid'5000 declares each reservable disk as
 * an OAR resource of type `disk` with the machine's `host`, a `disk` name (`disk1.<host>`) and
 * its `diskpath` on the machine (a `/dev/disk/by-path/...` name); a job reserves them with the
 * machine (`oarsub -t deploy -l "{type='default' or type='disk'}/host=1"`) and sees them in
 * `$OAR_RESOURCE_PROPERTIES_FILE` (or `oarstat -p -j <job>`). The system disk is never a
 * resource of type `disk`.
 *
 * Mapping: declared disk i of a node's role -> the i-th reserved disk of its machine, in the
 * order of their `disk` names (disk1, disk2, ..., disk10). Checked before anything is deployed:
 * count from OAR, then over SSH in the standard environment: the path exists, is a whole disk
 * of at least the declared size, and nothing of it is mounted (the disk the node runs from).
 * In the deployed system the disk is `/dev/disk/by-nxc/<id>`, a link the boot script makes
 * from the kernel parameter `nxc_disks=<id>=<by-path name>,...` ({@link disksKernelParam}).
 */
import { readFile } from 'node:fs/promises';
import { NxcError } from '@nxc/core/flavour';
import { type CommandRunner, localRunner } from './oar.js';

/** One spare disk the OAR job reserved on a machine. */
export interface ReservedDisk {
  /** The machine (`host` property). */
  host: string;
  /** OAR's name of the disk (`disk` property), e.g. `disk1.grimoire-1.nancy.grid5000.fr`. */
  disk: string;
  /** Its path on the machine (`diskpath` property), e.g. `/dev/disk/by-path/pci-0000:02:00.0-scsi-0:0:1:0`. */
  diskpath: string;
}

/** A node's declared disk and the reserved disk it gets. */
export interface AssignedDisk {
  id: string;
  size: string;
  bytes: number;
  /** The reserved disk's `diskpath` on the machine. */
  diskpath: string;
  /** OAR's name of it. */
  disk: string;
}

/** Device path of a declared disk in a Grid'5000 node (made by the boot script). */
export function nxcDiskDevice(id: string): string {
  return `/dev/disk/by-nxc/${id}`;
}

/**
 * Parses OAR's resource property lines (`$OAR_RESOURCE_PROPERTIES_FILE`, `oarstat -p`): one
 * resource a line, ` key = 'value' , key = 'value' ...` (a `'` inside a value doubled).
 */
export function parseResourceProperties(text: string): Array<Record<string, string>> {
  const resources: Array<Record<string, string>> = [];
  for (const line of text.split('\n')) {
    if (!line.includes('=')) continue;
    const props: Record<string, string> = {};
    const re = /([A-Za-z_][A-Za-z0-9_]*)\s*=\s*'((?:[^']|'')*)'(?=\s*,|\s*$)/g;
    for (let m = re.exec(line); m; m = re.exec(line)) {
      props[m[1] as string] = (m[2] as string).replace(/''/g, "'");
    }
    if (Object.keys(props).length > 0) resources.push(props);
  }
  return resources;
}

const natural = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

/** The reserved disks by machine (`host`), each machine's in the order of their `disk` names. */
export function reservedDisksByHost(resources: Array<Record<string, string>>): Map<string, ReservedDisk[]> {
  const byHost = new Map<string, ReservedDisk[]>();
  for (const r of resources) {
    if (r.type !== 'disk' || !r.host || !r.diskpath) continue;
    const list = byHost.get(r.host) ?? [];
    list.push({ host: r.host, disk: r.disk ?? r.diskpath, diskpath: r.diskpath });
    byHost.set(r.host, list);
  }
  for (const list of byHost.values()) list.sort((a, b) => natural(a.disk, b.disk));
  return byHost;
}

/**
 * The disks the current OAR job reserved: `$OAR_RESOURCE_PROPERTIES_FILE` (inside the job),
 * else `oarstat -p -j $OAR_JOB_ID`; undefined when neither variable is set.
 */
export async function readReservedDisks(
  env: NodeJS.ProcessEnv = process.env,
  runner: CommandRunner = localRunner,
): Promise<{ disks: Map<string, ReservedDisk[]>; source: string } | undefined> {
  const file = env.OAR_RESOURCE_PROPERTIES_FILE;
  if (file) {
    const text = await readFile(file, 'utf8').catch((e: unknown) => {
      throw new NxcError('NXC_IO', `cannot read $OAR_RESOURCE_PROPERTIES_FILE ${file}: ${String(e)}`, {
        hint: 'run nxc start inside the OAR job that reserved the machines and their disks',
      });
    });
    return { disks: reservedDisksByHost(parseResourceProperties(text)), source: file };
  }
  const job = env.OAR_JOB_ID;
  if (job) {
    const r = await runner(['oarstat', '-p', '-j', job]);
    if (r.exitCode !== 0) {
      throw new NxcError(
        'NXC_MACHINES',
        `\`oarstat -p -j ${job}\` failed: ${r.stderr.trim().split('\n').pop()}`,
        {
          hint: 'run nxc start inside the OAR job that reserved the machines and their disks',
        },
      );
    }
    return { disks: reservedDisksByHost(parseResourceProperties(r.stdout)), source: `OAR job ${job}` };
  }
  return undefined;
}

/** The reserved disks of `machine` (matched exactly, else by short name). */
function disksOf(reserved: Map<string, ReservedDisk[]>, machine: string): ReservedDisk[] {
  const exact = reserved.get(machine);
  if (exact) return exact;
  const short = machine.split('.')[0];
  for (const [host, list] of reserved) if (host.split('.')[0] === short) return list;
  return [];
}

/** Declared disks of a role, as the compose info lists them. */
export interface DeclaredDisk {
  id: string;
  size: string;
  bytes: number;
}

/** A node to give disks to: its machine, hostname and its role's declared disks. */
export interface DiskTarget {
  machine: string;
  host: string;
  disks: DeclaredDisk[];
}

export const RESERVE_HINT =
  "reserve the machines with their disks, e.g. `oarsub -t deploy -l \"{type='default' or type='disk'}/host=N\"`, and run nxc start inside that job (see docs/disks.md)";

/**
 * Declared disk i -> the machine's i-th reserved disk. Returns each node's disks, and one
 * problem line per node that has too few.
 */
export function assignDisks(
  targets: DiskTarget[],
  reserved: Map<string, ReservedDisk[]>,
): { assigned: Map<string, AssignedDisk[]>; problems: string[] } {
  const assigned = new Map<string, AssignedDisk[]>();
  const problems: string[] = [];
  for (const t of targets) {
    if (t.disks.length === 0) continue;
    const spare = disksOf(reserved, t.machine);
    if (spare.length < t.disks.length) {
      problems.push(
        `node ${t.host} (${t.machine}) needs ${t.disks.length} disk${t.disks.length > 1 ? 's' : ''} (${t.disks.map((d) => `${d.id} ${d.size}`).join(', ')}), the OAR job reserved ${spare.length} on ${t.machine}${spare.length > 0 ? ` (${spare.map((s) => s.disk).join(', ')})` : ''}`,
      );
      continue;
    }
    assigned.set(
      t.host,
      t.disks.map((d, i) => {
        const s = spare[i] as ReservedDisk;
        return { id: d.id, size: d.size, bytes: d.bytes, diskpath: s.diskpath, disk: s.disk };
      }),
    );
  }
  return { assigned, problems };
}

/** What a `diskpath` may be to travel on the kernel command line: `/dev/disk/<dir>/<name>`. */
const DISKPATH = /^\/dev\/disk\/(by-[a-z]+\/[A-Za-z0-9:._+-]+)$/;

/**
 * The kernel parameter naming a node's disks for the boot script:
 * `nxc_disks=<id>=<by-path/name>,...` (paths relative to /dev/disk).
 */
export function disksKernelParam(disks: AssignedDisk[]): string | undefined {
  if (disks.length === 0) return undefined;
  return `nxc_disks=${disks
    .map((d) => {
      const m = DISKPATH.exec(d.diskpath);
      if (!m) {
        throw new NxcError(
          'NXC_MACHINES',
          `disk ${d.disk}: its diskpath ${JSON.stringify(d.diskpath)} is not a /dev/disk/by-*/ name`,
          {
            hint: "report it to the site's administrators (OAR disk resources give a /dev/disk/by-path/ name)",
          },
        );
      }
      return `${d.id}=${m[1]}`;
    })
    .join(',')}`;
}

/**
 * Shell command run on a machine's standard environment: one line per disk path,
 * `<path> <device> <bytes> <mountpoints...>`, `<path> MISSING` when it does not resolve to a
 * block device. Mount points are those of the disk and of its partitions.
 */
export function diskProbeCommand(diskpaths: string[]): string {
  const quoted = diskpaths.map((p) => `'${p.replace(/'/g, "'\\''")}'`).join(' ');
  return [
    `for p in ${quoted}; do`,
    '  d=$(readlink -f "$p" 2>/dev/null); n=${d##*/}',
    '  if [ -z "$d" ] || ! [ -b "$d" ] || ! [ -e "/sys/class/block/$n/size" ]; then echo "$p MISSING"; continue; fi',
    '  if [ -e "/sys/class/block/$n/partition" ]; then echo "$p PARTITION $d"; continue; fi',
    '  b=$(( $(cat "/sys/class/block/$n/size") * 512 ))',
    '  m=""',
    '  while read -r src mp _; do',
    '    case $src in /dev/*) ;; *) continue ;; esac',
    '    s=$(readlink -f "$src" 2>/dev/null); s=${s##*/}',
    '    if [ "$s" = "$n" ] || [ -e "/sys/class/block/$n/$s" ]; then m="$m $mp"; fi',
    '  done < /proc/mounts',
    '  echo "$p $d $b$m"',
    'done',
  ].join('\n');
}

/** Problem lines from a machine's answer to {@link diskProbeCommand}. */
export function diskProbeProblems(
  host: string,
  machine: string,
  disks: AssignedDisk[],
  output: string,
): string[] {
  const lines = new Map<string, string[]>();
  for (const line of output.trim().split('\n')) {
    const [path, ...rest] = line.trim().split(/\s+/);
    if (path) lines.set(path, rest);
  }
  const problems: string[] = [];
  for (const d of disks) {
    const where = `node ${host} (${machine}), disk ${d.id}: ${d.disk} (${d.diskpath})`;
    const r = lines.get(d.diskpath);
    if (!r || r[0] === 'MISSING') {
      problems.push(`${where} is not a block device on ${machine}`);
      continue;
    }
    if (r[0] === 'PARTITION') {
      problems.push(`${where} is a partition (${r[1]}), not a whole disk`);
      continue;
    }
    const [device, bytesText, ...mounts] = r;
    const bytes = Number(bytesText);
    if (mounts.length > 0) {
      problems.push(
        `${where} = ${device} is in use on ${machine} (mounted on ${mounts.join(', ')}): nxc never touches it`,
      );
    } else if (!(bytes >= d.bytes)) {
      problems.push(
        `${where} = ${device} has ${bytes} bytes, less than the declared ${d.size} (${d.bytes} bytes)`,
      );
    }
  }
  return problems;
}

/** The error for a list of problems: the first as the message, each other as its own `error:` line. */
export function disksError(problems: string[]): NxcError {
  const [first, ...rest] = problems;
  return new NxcError('NXC_MACHINES', first ?? 'no disks', {
    ...(rest.length > 0 ? { details: rest.map((p) => `error: ${p}`).join('\n') } : {}),
    hint: `${RESERVE_HINT}; nothing was deployed`,
  });
}

/**
 * The reserved disks each node gets (by hostname), for the nodes whose role declares disks;
 * an empty map when none does. Throws, before anything is deployed, when the job is unknown
 * or a machine has too few reserved disks (one `error:` line per node).
 */
export async function planNodeDisks(
  roles: Record<string, { disks?: DeclaredDisk[] }>,
  targets: Array<{ machine: string; host: string; role: string }>,
  options: { env?: NodeJS.ProcessEnv; runner?: CommandRunner; flavour: string },
): Promise<Map<string, AssignedDisk[]>> {
  const wanting = targets
    .map((t) => ({ machine: t.machine, host: t.host, role: t.role, disks: roles[t.role]?.disks ?? [] }))
    .filter((t) => t.disks.length > 0);
  if (wanting.length === 0) return new Map();
  const reserved = await readReservedDisks(options.env, options.runner);
  if (!reserved) {
    const roleNames = [...new Set(wanting.map((t) => t.role))].join(', ');
    throw new NxcError(
      'NXC_MACHINES',
      `role${roleNames.includes(',') ? 's' : ''} ${roleNames} declare${roleNames.includes(',') ? '' : 's'} nxc.disks, but flavour ${options.flavour} does not know which disks the OAR job reserved (neither $OAR_RESOURCE_PROPERTIES_FILE nor $OAR_JOB_ID is set)`,
      { hint: RESERVE_HINT },
    );
  }
  const { assigned, problems } = assignDisks(wanting, reserved.disks);
  if (problems.length > 0) throw disksError(problems);
  return assigned;
}
