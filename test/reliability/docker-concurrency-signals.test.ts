/**
 * The docker flavour under the two faults issue 13 reproduced, with the real `nxc` binary on
 * the demo project and the real dockerd:
 * - two `nxc start` at once in one project: exactly one runs, the other is refused naming it,
 *   and the deployment that runs is whole (its containers, its document);
 * - SIGTERM (and SIGHUP) to `nxc start` at moments spread over a whole start: it either
 *   finished (exit 0, deployment whole) or exited 128+n leaving no container, network,
 *   volume, process or deploy/ file of the project.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Outcome,
  demoProject,
  deployFiles,
  dockerLeftovers,
  launch,
  nxc,
  processLeftovers,
  removeProject,
  spreadDelays,
} from './helpers.js';

let dir: string;
const START = ['start', '-f', 'docker', '-r', 'client=2'];

beforeAll(async () => {
  dir = await demoProject({});
  const build = await nxc(dir, ['build', '-f', 'docker']);
  if (build.code !== 0) throw new Error(`nxc build failed:\n${build.stderr}`);
}, 900_000);

afterAll(async () => {
  if (!dir) return;
  await nxc(dir, ['stop', '-f', 'docker']);
  await removeProject(dir);
}, 300_000);

/** The deployment ids (label nxc.deployment) of the project's containers. */
function containerDeployments(): string[] {
  return execFileSync(
    'docker',
    ['ps', '-a', '--filter', `label=nxc.project.root=${dir}`, '--format', '{{.Label "nxc.deployment"}}'],
    { encoding: 'utf8' },
  )
    .split('\n')
    .filter(Boolean);
}

/** A started deployment is whole: 3 running containers of one start, its document, every node answers. */
async function expectWhole(): Promise<void> {
  const ids = containerDeployments();
  expect(ids).toHaveLength(3);
  expect(new Set(ids).size).toBe(1);
  expect(deployFiles(dir)).toEqual([
    'composition::docker.json',
    'composition::docker.record.json',
    'composition::docker.state.json',
  ]);
  const state = JSON.parse(readFileSync(path.join(dir, 'deploy/composition::docker.state.json'), 'utf8'));
  expect(state.deploymentId).toBe(ids[0]);
  const exec = await nxc(dir, ['exec', 'all', '--', 'true']);
  expect(exec.code, exec.stderr).toBe(0);
}

async function stopAndCheck(): Promise<void> {
  const stop = await nxc(dir, ['stop', '-f', 'docker']);
  expect(stop.code, stop.stderr).toBe(0);
  expect(dockerLeftovers(dir)).toEqual([]);
}

describe('two nxc start at once (docker)', () => {
  it('exactly one runs, whole; the other is refused naming it (3 rounds)', async () => {
    for (let round = 0; round < 3; round++) {
      const a = launch(dir, START);
      const b = launch(dir, START);
      const results = await Promise.all([a.done, b.done]);
      const codes = results.map((r) => r.code).sort();
      expect(codes, results.map((r) => r.stderr).join('\n---\n')).toEqual([0, 3]);
      const winner = results[0]!.code === 0 ? a : b;
      const loser = results[0]!.code === 0 ? results[1]! : results[0]!;
      expect(loser.stderr).toMatch(
        new RegExp(`^error: ${dir} is busy: pid ${winner.pid} is running \`start composition::docker\``, 'm'),
      );
      await expectWhole();
      await stopAndCheck();
    }
  }, 600_000);

  it('a stop during a start is refused, the start completes whole', async () => {
    const start = launch(dir, START);
    await start.saw(/starting composition::docker/);
    const stop = await nxc(dir, ['stop']);
    expect(stop.code).toBe(3);
    expect(stop.stderr).toMatch(/is busy: pid \d+ is running `start composition::docker`/);
    expect((await start.done).code).toBe(0);
    await expectWhole();
    await stopAndCheck();
  }, 300_000);
});

describe('signals to nxc start at any moment (docker)', () => {
  let startMs = 0;

  beforeAll(async () => {
    const t0 = Date.now();
    const start = await nxc(dir, START);
    startMs = Date.now() - t0;
    if (start.code !== 0) throw new Error(`reference start failed:\n${start.stderr}`);
    await stopAndCheck();
  }, 300_000);

  /** Starts, signals after `delayMs`, and checks the outcome; true when the start was interrupted. */
  async function interruptAt(delayMs: number, signals: NodeJS.Signals[]): Promise<boolean> {
    const run = launch(dir, START);
    await sleep(delayMs);
    for (const s of signals) {
      run.kill(s);
      await sleep(200);
    }
    const r: Outcome = await run.done;
    const where = `signal ${signals.join('+')} at ${delayMs} ms of ~${startMs} ms:\n${r.stderr}`;
    if (r.code === 0) {
      await expectWhole();
      await stopAndCheck();
      return false;
    }
    const number = { SIGTERM: 15, SIGHUP: 1, SIGINT: 2 }[signals[0] as 'SIGTERM'];
    // a signal before nxc installed its handlers kills it at once (nothing was created yet)
    if (r.signal === null) expect(r.code, where).toBe(128 + number);
    else expect(r.signal, where).toBe(signals[0]);
    expect(r.stderr, where).not.toMatch(/internal error|at .*\.js:\d+/);
    expect(dockerLeftovers(dir), where).toEqual([]);
    expect(deployFiles(dir), where).toEqual([]);
    expect(processLeftovers(dir), where).toEqual([]);
    return true;
  }

  it('SIGTERM at 8 moments spread over a start: nothing left, exit 143', async () => {
    let interrupted = 0;
    for (const delay of spreadDelays(8, startMs * 1.2)) {
      if (await interruptAt(delay, ['SIGTERM'])) interrupted++;
    }
    // most moments fall inside the start: they must have been interrupted, not just waited out
    expect(interrupted).toBeGreaterThanOrEqual(5);
  }, 900_000);

  it('SIGHUP, and SIGTERM twice, mid-start: nothing left', async () => {
    expect(await interruptAt(Math.round(startMs * 0.5), ['SIGHUP'])).toBe(true);
    expect(await interruptAt(Math.round(startMs * 0.6), ['SIGTERM', 'SIGTERM'])).toBe(true);
  }, 300_000);
});
