/**
 * Whether a flavour can give the nodes the block devices their roles declare (`nxc.disks`):
 * checked by `nxc start` before anything is created and reported by `nxc check`.
 */
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
