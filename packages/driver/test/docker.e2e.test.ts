/**
 * The driver against a REAL docker deployment of the demo (examples/demo built by core's
 * build() with real Nix on the offline test OS, started and stopped by core with
 * @nxc/flavour-docker): see helpers/scenarios.ts.
 */
import { execFileSync } from 'node:child_process';
import * as core from '@nxc/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoProject, demoProject } from './helpers/demo.js';
import {
  consoleScript,
  demoTestScript,
  failingScript,
  fullScript,
  typescriptApi,
} from './helpers/scenarios.js';

let demo: DemoProject;
let containerNames: string[] = [];

beforeAll(async () => {
  demo = await demoProject('docker');
  const summary = await core.start(demo.project, { flavour: 'docker' });
  expect(summary.nodes.map((n) => [n.host, n.state]).sort()).toEqual([
    ['client', 'running'],
    ['server', 'running'],
  ]);
  containerNames = summary.nodes.map((n) => (n.detail ?? '').split(' ')[0]!).filter(Boolean);
  expect(containerNames).toHaveLength(2);
});

afterAll(async () => {
  try {
    if (demo) await core.stop(demo.project, { flavour: 'docker' });
    // nothing of this deployment is left on the engine
    for (const name of containerNames) {
      const left = execFileSync('docker', ['ps', '-aq', '--filter', `name=^${name}$`], { encoding: 'utf8' });
      expect(left.trim(), name).toBe('');
    }
  } finally {
    demo?.remove();
  }
});

describe('driver on docker', () => {
  it("`nxc driver -t`: the demo's own testScript passes unchanged", () => demoTestScript(demo.dir, 'docker'));
  it('the shared script (subtests, waits, fail(), units, ports, copies) passes, JUnit written', () =>
    fullScript(demo.dir, 'docker'));
  it('a failing assertion exits 1 naming the line, node, command, exit code and output', () =>
    failingScript(demo.dir, 'docker'));
  it('TypeScript API (a user vitest suite): clients reach the server, failures reject with output', () =>
    typescriptApi(demo.dir, 'docker'));
  it('NixOS driver console calls: console text, UNIX socket, forward_port, tty text and keyboard (or one clear refusal)', () =>
    consoleScript(demo.dir, 'docker'));
});
