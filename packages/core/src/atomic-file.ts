/**
 * Atomic file replacement for every document and state file nxc writes: a reader (a node
 * fetching its deployment, `nxc stop` after a crash) sees the old content or the new one,
 * never an empty or half-written file, even if nxc is killed or the machine loses power.
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { nodeCrypto } from './lazy-builtins.js';

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** Mode of the new file (default 0o644; 0o600 for anything private). */
  mode?: number;
}

/**
 * Replaces `file` with `data`: writes a temporary file beside it, flushes it to disk, renames
 * it over `file` (atomic within one file system) and flushes the folder so that the rename
 * itself survives a crash. Creates the parent folder. On failure the temporary file is
 * removed and `file` is untouched.
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = join(
    dir,
    `.${basename(file)}.${process.pid}.${nodeCrypto().randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    const handle = await open(tmp, 'wx', options.mode ?? 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  await syncDir(dir);
}

/** Flushes a folder's entries (the rename); some file systems refuse: best effort. */
async function syncDir(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // EISDIR/EINVAL/EPERM on some file systems: the rename is still atomic, only not yet durable
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** {@link writeFileAtomic} of `value` as pretty JSON with a final newline. */
export function writeJsonAtomic(
  file: string,
  value: unknown,
  options: AtomicWriteOptions = {},
): Promise<void> {
  return writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`, options);
}
