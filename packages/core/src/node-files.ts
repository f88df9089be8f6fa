/**
 * Writing files a node sends onto this machine (`Transport.copyFrom`, the driver's
 * `copy_from_vm`). The node chooses the names, types and modes: a compromised node would
 * name an entry `../../.bashrc`, `/etc/x`, or send a link to `/etc` and then a file through
 * it. Every transport hands what it receives to {@link receiveFromNode}, which keeps it all
 * inside the destination: names must be single plain path components, links and special
 * files are never created (nor followed), set-id and sticky bits are dropped, and the tree is
 * built in a private scratch folder then moved into place, so a refused copy leaves nothing.
 */
import { chmod, lstat, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { NxcError, isNxcError } from './errors.js';
import { displayPath, errnoCode, firstLine } from './validation.js';

/** True when `name` is one plain path component: not empty, `.` or `..`, no `/`, no NUL. */
export function isPlainFileName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

/**
 * Where a node's tree goes. Paths are lists of names relative to the copied item (`[]` is the
 * item itself); each name is checked, and a bad one refuses the whole copy.
 */
export interface NodeTreeSink {
  /** Creates a directory (the node's mode, without set-id/sticky bits, applied at the end). */
  directory(path: readonly string[], mode: number): Promise<void>;
  /**
   * Creates a regular file: `write` receives a fresh local path inside the private scratch
   * folder (no link can exist there) and writes the content to it.
   */
  file(path: readonly string[], mode: number, write: (localPath: string) => Promise<void>): Promise<void>;
  /** An entry that is not copied (link, device, fifo...): its name is still checked. */
  skip(path: readonly string[]): void;
  /** Refuses the copy: `what` the node sent (e.g. `an entry outside data: "x"`). */
  refuse(what: string): never;
}

/** What is being copied, for messages. */
export interface NodeCopy {
  host: string;
  remotePath: string;
  localPath: string;
}

function refused(copy: NodeCopy, what: string): NxcError {
  return new NxcError(
    'NXC_NODE_FAILED',
    `node "${copy.host}" sent ${what} while copying ${copy.remotePath}: refused, nothing was written to ${displayPath(copy.localPath)}`,
    {
      hint: 'nxc only writes plain names inside the destination; if you trust the node, archive the files there (tar) and copy the archive',
    },
  );
}

/**
 * Receives a file or directory tree from a node into `copy.localPath` (replaced if it exists;
 * its parent is created). `fill` feeds the sink. Links and special files are skipped.
 *
 * @throws NxcError `NXC_NODE_FAILED` for a name that is not a plain component, an entry that
 *   collides with another, or a copy that produced nothing; `NXC_IO` when the destination
 *   cannot be written. Nothing is left behind in either case.
 */
export async function receiveFromNode(
  copy: NodeCopy,
  fill: (sink: NodeTreeSink) => Promise<void>,
): Promise<void> {
  const parent = dirname(copy.localPath);
  let scratch: string;
  try {
    await mkdir(parent, { recursive: true });
    scratch = await mkdtemp(join(parent, '.nxc-copy-'));
  } catch (error) {
    throw new NxcError(
      'NXC_IO',
      `cannot copy ${copy.host}:${copy.remotePath} to ${displayPath(copy.localPath)} (${errnoCode(error) ?? firstLine(error)})`,
      { hint: 'check that the destination folder is writable' },
    );
  }
  const root = join(scratch, 'tree');
  const dirModes = new Map<string, number>();
  const made = new Set<string>();

  const localOf = (path: readonly string[]): string => {
    for (const name of path) {
      if (!isPlainFileName(name)) throw refused(copy, `an unsafe file name ${JSON.stringify(name)}`);
    }
    return join(root, ...path);
  };
  // Parents a tree format did not list first (tar allows it) become plain directories.
  const ensureParents = async (path: readonly string[]): Promise<void> => {
    for (let i = 0; i < path.length; i++) {
      const dir = join(root, ...path.slice(0, i));
      if (made.has(dir)) continue;
      await mkdir(dir, { mode: 0o700 }).catch((error) => {
        if (errnoCode(error) !== 'EEXIST') throw error;
      });
      if (!(await lstat(dir)).isDirectory()) {
        throw refused(copy, `"${path.slice(0, i).join('/')}" both as a file and as a directory`);
      }
      made.add(dir);
      if (!dirModes.has(dir)) dirModes.set(dir, 0o755);
    }
  };

  const sink: NodeTreeSink = {
    async directory(path, mode) {
      const local = localOf(path);
      await ensureParents(path);
      if (!made.has(local)) {
        await mkdir(local, { mode: 0o700 }).catch((error) => {
          if (errnoCode(error) !== 'EEXIST') throw error;
        });
        if (!(await lstat(local)).isDirectory()) {
          throw refused(copy, `"${path.join('/')}" both as a file and as a directory`);
        }
        made.add(local);
      }
      dirModes.set(local, (mode & 0o777) | 0o700);
    },
    async file(path, mode, write) {
      const local = localOf(path);
      await ensureParents(path);
      if (made.has(local)) throw refused(copy, `"${path.join('/') || '.'}" twice`);
      made.add(local);
      await write(local);
      const st = await lstat(local);
      if (!st.isFile()) throw refused(copy, `"${path.join('/')}" as something other than a file`);
      await chmod(local, (mode & 0o777) | 0o600);
    },
    skip(path) {
      localOf(path);
    },
    refuse(what) {
      throw refused(copy, what);
    },
  };

  try {
    await fill(sink);
    if (!made.has(root)) throw refused(copy, 'no regular file or directory');
    // Deepest first, the copied item itself after the move (a read-only directory cannot be
    // moved to another parent: its `..` entry changes).
    const dirs = [...dirModes.entries()].sort((a, b) => b[0].length - a[0].length);
    for (const [dir, mode] of dirs) if (dir !== root) await chmod(dir, mode);
    await rm(copy.localPath, { recursive: true, force: true });
    await rename(root, copy.localPath);
    const rootMode = dirModes.get(root);
    if (rootMode !== undefined) await chmod(copy.localPath, rootMode);
  } catch (error) {
    if (isNxcError(error)) throw error;
    throw new NxcError(
      'NXC_IO',
      `cannot copy ${copy.host}:${copy.remotePath} to ${displayPath(copy.localPath)}: ${firstLine(error)}`,
      { hint: 'check the destination (free space, permissions) and that the node is still running' },
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
