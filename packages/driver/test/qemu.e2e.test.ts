/**
 * The driver against a REAL vm-ramdisk deployment of the demo (QEMU under TCG, examples/demo
 * built by core's build() with real Nix on the offline test OS, started and stopped by core
 * with @nxc/flavour-qemu, commands over SSH): the same scenarios as on docker, same script.
 */
import * as core from '@nxc/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoProject, demoProject } from './helpers/demo.js';
import { DECLARED_DELAY, networkScenario } from './helpers/network.js';
import {
  consoleScript,
  demoTestScript,
  failingScript,
  fullScript,
  typescriptApi,
} from './helpers/scenarios.js';

const FLAVOUR = 'vm-ramdisk';
let demo: DemoProject;
let recordFile: string | undefined;

beforeAll(async () => {
  demo = await demoProject(FLAVOUR);
  const summary = await core.start(demo.project, {
    flavour: FLAVOUR,
    timeoutMs: 240_000,
    options: { accel: 'tcg', memory: 256 },
    // a declared condition (as `nxc start --net FILE`): applied once the nodes are up
    network: DECLARED_DELAY,
  });
  recordFile = summary.recordFile;
  expect(summary.nodes.map((n) => [n.host, n.state]).sort()).toEqual([
    ['client', 'running'],
    ['server', 'running'],
  ]);
});

afterAll(async () => {
  try {
    if (demo) await core.stop(demo.project, { flavour: FLAVOUR });
  } finally {
    demo?.remove();
  }
});

describe('driver on vm-ramdisk (qemu)', () => {
  // first: the shared script below restarts the server, which drops what the kernel had in force
  it('network: the declared 50 ms delay measured by `nxc net check`; a driver script partitions and heals; loss/rate in the guests', () =>
    networkScenario(demo.dir, demo.project, FLAVOUR, recordFile));
  it("`nxc driver -t`: the demo's own testScript passes unchanged", () => demoTestScript(demo.dir, FLAVOUR));
  it('the shared script (subtests, waits, fail(), units, ports, copies) passes, JUnit written', () =>
    fullScript(demo.dir, FLAVOUR));
  it('a failing assertion exits 1 naming the line, node, command, exit code and output', () =>
    failingScript(demo.dir, FLAVOUR));
  it('TypeScript API (a user vitest suite): clients reach the server, failures reject with output', () =>
    typescriptApi(demo.dir, FLAVOUR));
  it('NixOS driver console calls: console text, UNIX socket, forward_port, tty text and keyboard (or one clear refusal)', () =>
    consoleScript(demo.dir, FLAVOUR));
});
