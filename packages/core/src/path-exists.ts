/**
 * The one "does this path exist?" of nxc. Only "no such file" means no: a permission error
 * means nxc cannot tell, and answering "no" there used to turn it into a misleading
 * "not found" further on.
 */
import { lstatSync, statSync } from 'node:fs';
import { lstat, stat } from 'node:fs/promises';
import { NxcError } from './errors.js';
import { displayPath, errnoCode } from './validation.js';

/** Options of {@link pathExists}. */
export interface PathExistsOptions {
  /**
   * Follow a symbolic link to its target (default `true`: a dangling link does not exist).
   * `false` answers for the link itself, as a cleanup that removes links needs.
   */
  followSymlinks?: boolean;
}

/**
 * Whether `path` exists (file, folder or anything else).
 * @returns `false` when it or a folder on its way is missing (`ENOENT`, `ENOTDIR`).
 * @throws NxcError `NXC_IO` when the answer is unknown (e.g. a folder on the way is not
 *   searchable), naming the path and the errno code.
 */
export async function pathExists(path: string, options: PathExistsOptions = {}): Promise<boolean> {
  try {
    await (options.followSymlinks === false ? lstat(path) : stat(path));
    return true;
  } catch (error) {
    return absent(path, error);
  }
}

/**
 * {@link pathExists}, synchronously: for the few checks a command makes before anything runs
 * beside them (plugin discovery), where the thread pool's round trip costs more than the
 * check (issue #17). Not part of the public API.
 */
export function pathExistsSync(path: string, options: PathExistsOptions = {}): boolean {
  try {
    (options.followSymlinks === false ? lstatSync : statSync)(path);
    return true;
  } catch (error) {
    return absent(path, error);
  }
}

/** false for a missing path; NxcError `NXC_IO` when the failure says nothing of existence. */
function absent(path: string, error: unknown): false {
  const code = errnoCode(error);
  if (code === 'ENOENT' || code === 'ENOTDIR') return false;
  throw new NxcError('NXC_IO', `cannot tell whether ${displayPath(path)} exists: ${code ?? String(error)}`, {
    hint: 'check the permissions of the folders on its path',
    cause: error,
  });
}
