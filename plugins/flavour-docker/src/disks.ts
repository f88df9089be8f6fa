/**
 * Block devices of the docker nodes (`nxc.disks`). Per declared disk of a node: a sparse file
 * (0600) in the deployment's private disk folder (0700), attached to a free loop device of the
 * host (`losetup`), which the node's container gets as a device node at
 * `/dev/disk/by-id/virtio-<id>` (the name the QEMU flavours' nodes see; a container has no
 * udev, so the node is the device itself, not a link). Created at start, detached and removed
 * at stop, after a failed start, and with the leftovers of a crashed one: the folder's name
 * depends only on the deployment scope, and every loop device whose backing file lies in it is
 * the deployment's.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  constants,
  accessSync,
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { promisify } from 'node:util';
import { NxcError, checkDisksFit } from '@nxc/core/flavour';
import type { EngineEndpoint } from './engine.js';
import { type Scope, projectHash } from './labels.js';

const run = promisify(execFile);

/** Where a node's disk appears in its container (the QEMU flavours' udev name). */
export function diskDevicePath(id: string): string {
  return `/dev/disk/by-id/virtio-${id}`;
}

/** One disk of a node, attached. */
export interface AttachedDisk {
  host: string;
  id: string;
  /** Backing file on the host. */
  file: string;
  /** Loop device on the host, e.g. `/dev/loop3`. */
  loop: string;
  /** Device node in the container. */
  device: string;
}

/** What {@link loopProblem} looks at (probed by {@link probeLoop}). */
export interface LoopProbe {
  euid: number;
  /** `/dev/loop-control` exists and this process may open it read-write. */
  loopControl: 'ok' | 'missing' | 'denied';
  /** Path of `losetup` on the PATH, if any. */
  losetup?: string;
  endpoint: EngineEndpoint;
}

/** The host facts loop devices depend on. */
export function probeLoop(endpoint: EngineEndpoint, env: NodeJS.ProcessEnv = process.env): LoopProbe {
  let loopControl: LoopProbe['loopControl'] = 'ok';
  if (!existsSync('/dev/loop-control')) loopControl = 'missing';
  else {
    try {
      accessSync('/dev/loop-control', constants.R_OK | constants.W_OK);
    } catch {
      loopControl = 'denied';
    }
  }
  const losetup = (env.PATH ?? '')
    .split(delimiter)
    .filter((d) => isAbsolute(d))
    .map((d) => join(d, 'losetup'))
    .find((p) => {
      try {
        accessSync(p, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  return { euid: process.geteuid?.() ?? -1, loopControl, ...(losetup ? { losetup } : {}), endpoint };
}

/**
 * Why this host cannot give docker nodes loop block devices, as the error to show (one line,
 * a hint, exit 3), or undefined when it can. Pure.
 */
export function loopProblem(p: LoopProbe, role: string): NxcError | undefined {
  const what = `role ${role} declares nxc.disks, which the docker flavour gives nodes as loop devices of this host`;
  const fail = (missing: string, hint: string): NxcError =>
    new NxcError('NXC_FLAVOUR_UNUSABLE', `${what}, but ${missing}`, { hint, exitCode: 3 });
  if (p.endpoint.kind !== 'unix') {
    return fail(
      `the Docker engine is not on this host (DOCKER_HOST=${p.endpoint.display})`,
      "run nxc on the engine's machine (unset DOCKER_HOST), or use flavour vm or vm-ramdisk",
    );
  }
  if (p.loopControl === 'missing') {
    return fail(
      '/dev/loop-control does not exist (no loop device support loaded)',
      'load the loop module (`sudo modprobe loop`), or use flavour vm or vm-ramdisk',
    );
  }
  if (p.euid !== 0 || p.loopControl === 'denied') {
    return fail(
      'attaching loop devices needs root (CAP_SYS_ADMIN) and nxc does not run as root',
      'run nxc as root (e.g. `sudo nxc start ...`), or use flavour vm or vm-ramdisk',
    );
  }
  if (!p.losetup) {
    return fail(
      'losetup is not on the PATH',
      "install util-linux's losetup (Debian/Ubuntu: `apt-get install mount`) or add its folder to PATH",
    );
  }
  return undefined;
}

/** Base of the per-user private folders (as the qemu flavour's run folders). */
function privateBase(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  return xdg && isAbsolute(xdg) ? join(xdg, 'nxc') : join(tmpdir(), `nxc-${process.getuid?.() ?? -1}`);
}

/** Prefix of the disk folders of a project's deployments (in the per-user base). */
function projectPrefix(projectRoot: string): string {
  return `docker-disks-${projectHash(projectRoot)}-`;
}

/** The deployment's disk folder (not created): its name depends only on the scope. */
export function diskDir(scope: Scope, env: NodeJS.ProcessEnv = process.env): string {
  const h = createHash('sha256').update(`${scope.composition}\0${scope.flavour}`).digest('hex').slice(0, 12);
  return join(privateBase(env), `${projectPrefix(scope.projectRoot)}${h}`);
}

/** File in a disk folder naming its deployment (read when cleaning leftovers). */
const OWNER_FILE = 'owner.json';

/** Creates `dir` 0700 if needed; refuses one that is a link or someone else's. */
function privateFolder(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.() ?? -1;
  if (!st.isDirectory() || st.uid !== uid) {
    throw new NxcError('NXC_FLAVOUR_UNUSABLE', `${dir} is not a private folder of this user's`, {
      hint: `remove ${dir} (or set XDG_RUNTIME_DIR to a folder of yours)`,
      exitCode: 3,
    });
  }
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/** The disks the nodes' roles declare. */
export type WantedDisk = { host: string; id: string; size: string; bytes: number };

/**
 * Creates the sparse files and attaches them to loop devices. Their declared sizes together
 * must fit in the free space of the folder's file system (checked before any file exists). On
 * any failure, what was attached is detached and the folder removed before throwing.
 */
export async function attachDisks(
  scope: Scope,
  wanted: WantedDisk[],
  onStep: (message: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AttachedDisk[]> {
  if (wanted.length === 0) return [];
  const dir = diskDir(scope, env);
  privateFolder(dir);
  const attached: AttachedDisk[] = [];
  try {
    writeFileSync(join(dir, OWNER_FILE), `${JSON.stringify(scope)}\n`, { mode: 0o600 });
    await checkDisksFit(dir, wanted);
    for (const d of wanted) {
      const file = join(dir, `${d.host}.disk-${d.id}.raw`);
      const handle = await open(file, 'w', 0o600);
      try {
        await handle.truncate(d.bytes);
      } finally {
        await handle.close();
      }
      const { stdout } = await run('losetup', ['--find', '--show', file], { env });
      const loop = stdout.trim();
      if (!/^\/dev\/loop\d+$/.test(loop)) throw new Error(`losetup printed "${loop}" for ${file}`);
      attached.push({ host: d.host, id: d.id, file, loop, device: diskDevicePath(d.id) });
      onStep(`${d.host}: disk ${d.id} (${d.size}) on ${loop}, backed by ${file}`);
    }
    return attached;
  } catch (error) {
    await detachDisks(scope, env).catch(() => {});
    if (error instanceof NxcError) throw error;
    const message = ((error as { stderr?: string }).stderr || (error as Error).message).trim().split('\n')[0];
    throw new NxcError('NXC_FLAVOUR_UNUSABLE', `nxc.disks: cannot attach a loop device: ${message}`, {
      hint: 'free loop devices (`losetup -a` lists them; `losetup -D` detaches unused ones) or load more (`modprobe loop max_loop=64`)',
      exitCode: 3,
      cause: error,
    });
  }
}

/** Loop devices of this host whose backing file is in `dir`. */
export async function loopsIn(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  let stdout: string;
  try {
    ({ stdout } = await run('losetup', ['--list', '--json', '--output', 'NAME,BACK-FILE'], { env }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  if (!stdout.trim()) return [];
  const list = (JSON.parse(stdout) as { loopdevices?: Array<{ name: string; 'back-file'?: string | null }> })
    .loopdevices;
  return (list ?? [])
    .filter((l) => (l['back-file'] ?? '').startsWith(`${dir}/`))
    .map((l) => l.name)
    .sort();
}

/**
 * Detaches every loop device backed by a file of the deployment's disk folder and removes the
 * folder. Idempotent; returns the loop devices it detached.
 */
export async function detachDisks(scope: Scope, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  return detachDir(diskDir(scope, env), env);
}

async function detachDir(dir: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const loops = await loopsIn(dir, env);
  for (const loop of loops) {
    try {
      await run('losetup', ['--detach', loop], { env });
    } catch (error) {
      // already detached by someone else: fine; anything else is reported
      if (!/No such device or address|No such device/.test(String((error as { stderr?: string }).stderr)))
        throw error;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  return loops;
}

/**
 * The disk folders of a project's docker deployments (of one composition when given), detached
 * and removed whatever their state: leftovers of crashed starts or lost deploy/ files. Returns
 * what was removed per deployment.
 */
export async function detachProjectDisks(
  projectRoot: string,
  flavour: string,
  composition: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Array<{ composition: string; removed: string[] }>> {
  const base = privateBase(env);
  let names: string[];
  try {
    names = readdirSync(base).filter((n) => n.startsWith(projectPrefix(projectRoot)));
  } catch {
    return [];
  }
  const out: Array<{ composition: string; removed: string[] }> = [];
  for (const name of names) {
    const dir = join(base, name);
    let owner: Partial<Scope> = {};
    try {
      owner = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as Partial<Scope>;
    } catch {
      /* no owner file: a start that died before writing it; still the project's */
    }
    if (owner.flavour !== undefined && owner.flavour !== flavour) continue;
    if (composition !== undefined && dir !== diskDir({ projectRoot, composition, flavour }, env)) continue;
    const loops = await detachDir(dir, env);
    out.push({
      composition: composition ?? owner.composition ?? '',
      removed: [...loops.map((l) => `loop device ${l}`), `disk folder ${dir}`],
    });
  }
  return out;
}
