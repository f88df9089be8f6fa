/**
 * Whether a flavour can give the nodes the block devices their roles declare (`nxc.disks`):
 * checked by `nxc start` before anything is created and reported by `nxc check`; and whether
 * their files fit where a flavour creates them.
 */
import { statfs } from 'node:fs/promises';
import { NxcError } from './errors.js';

/**
 * The error for starting `nodes` on a flavour without {@link Flavour.disks} when one of their
 * roles declares disks (`diskCount(role) > 0`), else undefined. Exit 3.
 */
export function unsupportedDisks(
  flavour: { name: string; disks?: boolean },
  nodes: ReadonlyArray<{ role: string }>,
  diskCount: (role: string) => number,
): NxcError | undefined {
  if (flavour.disks) return undefined;
  const role = nodes.map((n) => n.role).find((r) => diskCount(r) > 0);
  if (role === undefined) return undefined;
  return new NxcError(
    'NXC_FLAVOUR_UNUSABLE',
    `flavour ${flavour.name} does not support nxc.disks (role ${role} declares disks)`,
    {
      hint: 'use a flavour that does (docker, vm, vm-ramdisk, g5k-ramdisk, g5k-nfs-store: see docs/disks.md), or remove nxc.disks',
    },
  );
}

/**
 * Checks, before any disk file is created, that the declared sizes of `disks` together fit in
 * the free space (for an unprivileged user) of the file system holding `folder`: the files are
 * sparse, but a node may fill them. Throws the `NXC_FLAVOUR_UNUSABLE` error (exit 3) naming the
 * need and what is free, with a hint; resolves otherwise (at once when `disks` is empty).
 *
 * @param folder - the existing folder the disk files will be created in
 * @param disks - the disks of the deployment, each with its size in bytes
 */
export async function checkDisksFit(folder: string, disks: ReadonlyArray<{ bytes: number }>): Promise<void> {
  if (disks.length === 0) return;
  const total = disks.reduce((sum, d) => sum + d.bytes, 0);
  const fs = await statfs(folder);
  const free = fs.bavail * fs.bsize;
  if (total <= free) return;
  throw new NxcError(
    'NXC_FLAVOUR_UNUSABLE',
    `nxc.disks: the ${disks.length} disks of this deployment need ${formatBytes(total)} but the file system of ${folder} has ${formatBytes(free)} free`,
    {
      hint: 'declare smaller disks, start fewer nodes, or set XDG_RUNTIME_DIR to a folder on a larger file system',
      exitCode: 3,
    },
  );
}

/** `n` bytes in the largest binary unit that keeps it at least 1 (`1.5 GiB`), or `N bytes`. */
function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[u]}`;
}
