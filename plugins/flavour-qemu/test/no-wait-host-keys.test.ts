/**
 * `nxc start --no-wait` returns before any VM answers SSH, so no host key is known at start.
 * The first command that reaches a node learns its key and saves it with the deployment;
 * every later command checks it: a VM presenting another key is refused. Real `nxc`, real
 * QEMU (TCG), the demo built by real Nix.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoCopy, removeDir, runNxc } from './cli.js';

let dir: string;
const stateFile = () => join(dir, 'deploy/composition::vm-ramdisk.state.json');

beforeAll(async () => {
  dir = await demoCopy({ 'vm-ramdisk': { accel: 'tcg', memory: 256 } });
}, 600_000);
afterAll(async () => {
  if (!dir) return;
  await runNxc(dir, ['stop', '-f', 'vm-ramdisk']);
  await removeDir(dir);
});

describe('host keys of a vm-ramdisk deployment started with --no-wait', () => {
  it('are saved by the first command that reaches the nodes and checked by the next ones', async () => {
    const build = await runNxc(dir, ['build', '-f', 'vm-ramdisk'], 600_000);
    expect(build.code, build.stderr).toBe(0);
    const start = await runNxc(dir, ['start', '-f', 'vm-ramdisk', '--no-wait']);
    expect(start.code, start.stderr).toBe(0);
    expect(JSON.parse(readFileSync(stateFile(), 'utf8')).hostKeys).toEqual({});

    // the first exec that gets through (the VM boots meanwhile) learns and saves the key
    let first = await runNxc(dir, ['exec', 'server', '--', 'hostname']);
    for (let i = 0; i < 60 && first.code !== 0; i++) {
      await sleep(2000);
      first = await runNxc(dir, ['exec', 'server', '--', 'hostname']);
    }
    expect(first.code, first.stderr).toBe(0);
    const saved = JSON.parse(readFileSync(stateFile(), 'utf8')).hostKeys as Record<string, string>;
    expect(Object.keys(saved)).toEqual(['server']);
    expect(saved.server).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]+=*$/);

    // a later command checks it: with another key on record, the node is refused
    expect((await runNxc(dir, ['exec', 'server', '--', 'true'])).code).toBe(0);
    const state = JSON.parse(readFileSync(stateFile(), 'utf8'));
    state.hostKeys.server =
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm6hsz0Yc1I0xWAB3uyCVxzNMbG8Ivn1kt3Hb1/0E7M';
    writeFileSync(stateFile(), JSON.stringify(state));
    const refused = await runNxc(dir, ['exec', 'server', '--', 'true']);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(
      /host key changed during the deployment \(expected SHA256:/,
    );
  }, 900_000);
});
