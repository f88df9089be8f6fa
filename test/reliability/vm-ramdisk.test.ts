/**
 * The vm-ramdisk flavour under the faults of issue 13, with the real `nxc` binary on the demo
 * project and real QEMU (TCG, 1 server + 1 client):
 * - two `nxc start` at once: exactly one runs (its VMs answer), the other is refused naming it;
 * - SIGTERM to `nxc start` at moments spread over a whole start: it finished (exit 0, VMs
 *   answer) or exited 143 leaving no QEMU, no labelled process, no run folder, no deploy/ file;
 * - `nxc stop` with deploy/ deleted finds the VMs (by the labels in their environment) and
 *   their run folder, removes and lists them.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentId } from '../../plugins/flavour-qemu/src/vm-spec.js';
import {
  demoProject,
  deployFiles,
  launch,
  nxc,
  processLeftovers,
  processesNaming,
  removeProject,
  runFolderLeftovers,
  spreadDelays,
} from './helpers.js';

let dir: string;
const START = ['start', '-f', 'vm-ramdisk'];

beforeAll(async () => {
  dir = await demoProject({ 'vm-ramdisk': { accel: 'tcg', memory: 256 } });
  const build = await nxc(dir, ['build', '-f', 'vm-ramdisk']);
  if (build.code !== 0) throw new Error(`nxc build failed:\n${build.stderr}`);
}, 900_000);

afterAll(async () => {
  if (!dir) return;
  await nxc(dir, ['stop', '-f', 'vm-ramdisk']);
  await removeProject(dir);
}, 300_000);

/** The deployment's id, which QEMU names, run folders and helper processes carry. */
const ids = () => [deploymentId(dir, 'composition', 'vm-ramdisk')];

/** Nothing of the project runs or stays: no QEMU or other process, run folder, deploy/ file. */
function expectNothingLeft(where: string): void {
  expect(processLeftovers(dir), where).toEqual([]);
  expect(processesNaming(ids()), where).toEqual([]);
  expect(runFolderLeftovers(dir, ids()), where).toEqual([]);
  expect(deployFiles(dir), where).toEqual([]);
}

async function expectUp(): Promise<void> {
  expect(deployFiles(dir)).toEqual([
    'composition::vm-ramdisk.json',
    'composition::vm-ramdisk.record.json',
    'composition::vm-ramdisk.state.json',
  ]);
  const exec = await nxc(dir, ['exec', 'all', '--', 'true']);
  expect(exec.code, exec.stderr).toBe(0);
  expect(processLeftovers(dir).filter((p) => p.includes('qemu-system'))).toHaveLength(2);
}

async function stopAndCheck(): Promise<void> {
  const stop = await nxc(dir, ['stop', '-f', 'vm-ramdisk']);
  expect(stop.code, stop.stderr).toBe(0);
  expectNothingLeft('after stop');
}

describe('two nxc start at once (vm-ramdisk)', () => {
  it('exactly one runs, the other is refused naming it', async () => {
    const a = launch(dir, START);
    const b = launch(dir, START);
    const results = await Promise.all([a.done, b.done]);
    expect(results.map((r) => r.code).sort(), results.map((r) => r.stderr).join('\n---\n')).toEqual([0, 3]);
    const winner = results[0]!.code === 0 ? a : b;
    const loser = results[0]!.code === 0 ? results[1]! : results[0]!;
    expect(loser.stderr).toMatch(
      new RegExp(
        `^error: ${dir} is busy: pid ${winner.pid} is running \`start composition::vm-ramdisk\``,
        'm',
      ),
    );
    await expectUp();
    await stopAndCheck();
  }, 900_000);
});

describe('SIGTERM to nxc start at any moment (vm-ramdisk)', () => {
  let startMs = 0;

  beforeAll(async () => {
    const t0 = Date.now();
    const start = await nxc(dir, START);
    startMs = Date.now() - t0;
    if (start.code !== 0) throw new Error(`reference start failed:\n${start.stderr}`);
    await stopAndCheck();
  }, 900_000);

  it('at 4 moments spread over a start: nothing left behind, exit 143', async () => {
    let interrupted = 0;
    for (const delay of spreadDelays(4, startMs)) {
      const run = launch(dir, START);
      await sleep(delay);
      run.kill('SIGTERM');
      const r = await run.done;
      const where = `SIGTERM at ${delay} ms of ~${startMs} ms:\n${r.stderr}`;
      if (r.code === 0) {
        await expectUp();
        await stopAndCheck();
        continue;
      }
      interrupted++;
      // a signal before nxc installed its handlers kills it at once (nothing was created yet)
      if (r.signal === null) expect(r.code, where).toBe(143);
      else expect(r.signal, where).toBe('SIGTERM');
      expect(r.stderr, where).not.toMatch(/internal error/);
      expectNothingLeft(where);
    }
    expect(interrupted).toBeGreaterThanOrEqual(3);
  }, 1_200_000);
});

describe('nxc stop without deploy/ files (vm-ramdisk)', () => {
  it('finds the VMs and their run folder by their labels, removes and lists them', async () => {
    const start = await nxc(dir, START);
    expect(start.code, start.stderr).toBe(0);
    const folders = runFolderLeftovers(dir, ids());
    expect(folders).toHaveLength(1);
    await rm(path.join(dir, 'deploy'), { recursive: true });
    const stop = await nxc(dir, ['stop']);
    expect(stop.code, stop.stderr).toBe(0);
    const line =
      /^warning: removed leftovers of composition::vm-ramdisk: (.*)$/m.exec(stop.stderr)?.[1] ?? '';
    const removed = line.split(', ').sort();
    const vms = removed.filter((r) => r.startsWith('VM '));
    expect(vms).toHaveLength(2);
    expect(vms[0]).toMatch(/^VM client \(pid \d+\)$/);
    expect(vms[1]).toMatch(/^VM server \(pid \d+\)$/);
    expect(removed).toContain(`run folder ${folders[0]}`);
    // anything else listed is a helper process of the deployment (e.g. its segment switch)
    for (const other of removed.filter((r) => !r.startsWith('VM ') && !r.startsWith('run folder ')))
      expect(other).toMatch(/^(segment switch|process \S+) \(pid \d+\)$/);
    expectNothingLeft('after stop without documents');
  }, 900_000);
});
