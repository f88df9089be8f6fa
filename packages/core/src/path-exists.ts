/**
 * The one "does this path exist?" of nxc. Only "no such file" means no: a permission error
 * means nxc cannot tell, and answering "no" there used to turn it into a misleading
 * "not found" further on.
 */
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
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw new NxcError(
      'NXC_IO',
      `cannot tell whether ${displayPath(path)} exists: ${code ?? String(error)}`,
      {
        hint: 'check the permissions of the folders on its path',
        cause: error,
      },
    );
  }
}
