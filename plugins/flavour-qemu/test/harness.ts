/**
 * What the qemu flavours' tests share: the test OS's extra kernel parameter, what "nothing
 * left behind" means for VMs (no QEMU or switch process of the deployment, no run folder,
 * read from the process table, not from the flavour's records), and core's
 * `flavourHarness` set up for small TCG guests, for tests below the library verbs.
 */
import { type FlavourHarness, flavourHarness, throwAwayProject } from '@nxc/core/testing';
import { qemuStateSchema } from '../src/deployer.js';
import { qemuOptionsSchema } from '../src/options.js';
import { findQemus, findSwitches } from '../src/processes.js';
import { leftoverRunDirs } from '../src/run-dir.js';
import { switchName } from '../src/segment.js';
import { deploymentId } from '../src/vm-spec.js';

/** What a qemu deployment of `projectRoot` left on this machine, one line each (empty: nothing). */
export function qemuLeftovers(projectRoot: string, composition: string, flavour: string): string[] {
  const id = deploymentId(projectRoot, composition, flavour);
  return [
    ...findQemus(`nxc-${id}-`, 'any').map((q) => `qemu ${q.pid} ${q.name}`),
    ...findSwitches(switchName(id), 'any').map((q) => `switch ${q.pid} ${q.name}`),
    ...leftoverRunDirs(id).map((d) => `run folder ${d}`),
  ];
}

/** A throw-away project and contexts for `flavour`, plus its {@link qemuLeftovers}. */
export interface QemuHarness extends FlavourHarness {
  leftovers(): string[];
}

export function harness(flavour: 'vm-ramdisk' | 'vm'): QemuHarness {
  const h = flavourHarness({
    flavour,
    project: throwAwayProject({ plugins: ['@nxc/flavour-qemu'], prefix: 'nxc-qemu-e2e-' }),
    optionsSchema: qemuOptionsSchema,
    stateSchema: qemuStateSchema,
    options: { accel: 'tcg', memory: 256 },
    timeoutMs: 180_000,
  });
  return { ...h, leftovers: () => qemuLeftovers(h.project.root, 'composition', flavour) };
}

/**
 * Run on a node whose role declares the disks `data` and `disk1` (the demo's server in the
 * disk tests): on each, a file system (labelled `nxc-<id>`), mounted, a file written,
 * unmounted, mounted read-only again and read back. Prints, per disk, `<host> wrote <id>` and
 * the label blkid reads.
 */
export const DISK_ROUND_TRIP = [
  'set -e',
  'for id in data disk1; do d=/dev/disk/by-id/virtio-$id; m=/mnt/nxc-$id',
  '  mke2fs -q -L nxc-$id $d >/dev/null; mkdir -p $m; mount $d $m',
  '  echo "$(hostname) wrote $id" > $m/proof; umount $m',
  '  mount -o ro $d $m; cat $m/proof; umount $m',
  `  blkid $d | grep -o 'LABEL="[^"]*"'`,
  'done',
].join('\n');

/** What {@link DISK_ROUND_TRIP} prints on `host`. */
export function diskRoundTripOutput(host: string): string[] {
  return [`${host} wrote data`, 'LABEL="nxc-data"', `${host} wrote disk1`, 'LABEL="nxc-disk1"'];
}

/** The composition text with the server declaring the disks {@link DISK_ROUND_TRIP} uses (64M `data`, 40M `disk1`). */
export function withServerDisks(text: string): string {
  const out = text.replace(
    'environment.systemPackages = [ pkgs.busybox ];\n        systemd.services.httpd',
    'nxc.disks = [ { size = "64M"; id = "data"; } { size = "40M"; } ];\n        environment.systemPackages = [ pkgs.busybox ];\n        systemd.services.httpd',
  );
  if (out === text) throw new Error('the demo composition changed: cannot add nxc.disks to its server');
  return out;
}
