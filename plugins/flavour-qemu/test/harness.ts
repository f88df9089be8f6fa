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

/** The demo's composition text with the server declaring two disks (64M `data`, 40M `disk1`). */
export function withServerDisks(text: string): string {
  const out = text.replace(
    'environment.systemPackages = [ pkgs.busybox ];\n        systemd.services.httpd',
    'nxc.disks = [ { size = "64M"; id = "data"; } { size = "40M"; } ];\n        environment.systemPackages = [ pkgs.busybox ];\n        systemd.services.httpd',
  );
  if (out === text) throw new Error('the demo composition changed: cannot add nxc.disks to its server');
  return out;
}
