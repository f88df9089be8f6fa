/**
 * The driver against a REAL vm-ramdisk deployment of the demo (QEMU under TCG, examples/demo
 * built by core's build() with real Nix on the offline test OS, started and stopped by core
 * with @nxc/flavour-qemu, commands over SSH): the same scenarios as on docker, same script.
 */
import { describe, it } from 'vitest';
import { DECLARED_DELAY, networkScenario } from './helpers/network.js';
import {
  consoleScript,
  demoTestScript,
  failingScript,
  fullScript,
  typescriptApi,
} from './helpers/scenarios.js';
import { VM_FLAVOUR as FLAVOUR, vmRamdiskDemo } from './helpers/vm-demo.js';

// a declared condition (as `nxc start --net FILE`): applied once the nodes are up
const vm = vmRamdiskDemo(DECLARED_DELAY);

describe('driver on vm-ramdisk (qemu)', () => {
  // first: the shared script below restarts the server, which drops what the kernel had in force
  it('network: the declared 50 ms delay measured by `nxc net check`; a driver script partitions and heals; loss/rate in the guests', () =>
    networkScenario(vm.demo.dir, vm.demo.project, FLAVOUR, vm.recordFile));
  it("`nxc driver -t`: the demo's own testScript passes unchanged", () =>
    demoTestScript(vm.demo.dir, FLAVOUR));
  it('the shared script (subtests, waits, fail(), units, ports, copies) passes, JUnit written', () =>
    fullScript(vm.demo.dir, FLAVOUR));
  it('a failing assertion exits 1 naming the line, node, command, exit code and output', () =>
    failingScript(vm.demo.dir, FLAVOUR));
  it('TypeScript API (a user vitest suite): clients reach the server, failures reject with output', () =>
    typescriptApi(vm.demo.dir, FLAVOUR));
  it('NixOS driver console calls: console text, UNIX socket, forward_port, tty text and keyboard (or one clear refusal)', () =>
    consoleScript(vm.demo.dir, FLAVOUR));
});
