/**
 * Reliability of the real `nxc` binary, with the fake flavour and its engine stand-in
 * (NXC_FAKE_WORLD: one file per running node, removed by stop like containers): two commands
 * at once in one project (the lock), SIGTERM/SIGHUP/SIGINT during a start (cleanup, exit
 * 128+n, a second signal does not cut the cleanup short, a third or the cleanup bound quits),
 * and `nxc stop` with deploy/ files missing or corrupt (it finds and removes the nodes and
 * says which). The same properties on docker and vm-ramdisk are in test/reliability/.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunResult,
  assertBuilt,
  composeInfo,
  fakeFlavour,
  makeProject,
  nxcBin,
  runNxc,
} from './helpers.js';

let dir: string;
let world: string;

beforeAll(async () => {
  assertBuilt();
  dir = await makeProject(
    {
      'flake.nix': '{ outputs = _: { }; }\n',
      'nxc.config.json': { plugins: [fakeFlavour] },
      'ci.json': composeInfo({ roles_distribution: { client: 2 } }),
    },
    { 'composition::fake': 'ci.json' },
  );
  world = await mkdtemp(path.join(tmpdir(), 'nxc-fake-world-'));
});
// each test starts from a project without deployment, whatever the previous one left
afterEach(async () => {
  await rm(path.join(dir, 'deploy'), { recursive: true, force: true });
  for (const f of await readdir(world)) await rm(path.join(world, f), { force: true });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(world, { recursive: true, force: true });
});

/** A running `nxc` whose output is collected; `done` resolves with its exit. */
function launch(args: string[], env: Record<string, string> = {}) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [nxcBin, ...args], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1', NXC_FAKE_WORLD: world, ...env },
  });
  child.stdin.end();
  const result: RunResult = { code: null, stdout: '', stderr: '' };
  child.stdout.on('data', (c) => {
    result.stdout += c;
  });
  child.stderr.on('data', (c) => {
    result.stderr += c;
  });
  const done = new Promise<RunResult>((resolve) => child.on('close', (code) => resolve({ ...result, code })));
  /** Resolves once stderr matches (the command reached that point). */
  const saw = async (pattern: RegExp, timeoutMs = 30_000): Promise<void> => {
    const end = Date.now() + timeoutMs;
    while (!pattern.test(result.stderr)) {
      if (Date.now() > end || child.exitCode !== null)
        throw new Error(`never saw ${pattern}; stderr:\n${result.stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return { child, done, saw, result };
}

const worldNodes = async () => (await readdir(world)).map((f) => f.split('~').slice(1).join('~')).sort();
/**
 * The nodes of a start under way, once its deployer has made them: "starting …" is printed just
 * before the deployer runs, so on a loaded machine the nodes may not exist yet when it is seen.
 */
const nodesOfRunningStart = async (count: number, timeoutMs = 10_000): Promise<string[]> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const nodes = await worldNodes();
    if (nodes.length >= count || Date.now() > deadline) return nodes;
    await new Promise((r) => setTimeout(r, 50));
  }
};
const deployFiles = async () =>
  existsSync(path.join(dir, 'deploy')) ? (await readdir(path.join(dir, 'deploy'))).sort() : [];
const run = (args: string[], env: Record<string, string> = {}) =>
  runNxc(dir, args, { NXC_FAKE_WORLD: world, ...env });

describe('two commands at once in one project', () => {
  it('two starts: exactly one runs, the other names it and changes nothing (4 rounds)', async () => {
    for (let round = 0; round < 4; round++) {
      // long enough for the two to overlap on a loaded machine
      const env = { NXC_FAKE_START_DELAY_MS: '8000' };
      const a = launch(['start'], env);
      const b = launch(['start'], env);
      const results = await Promise.all([a.done, b.done]);
      const ok = results.filter((r) => r.code === 0);
      const busy = results.filter((r) => r.code === 3);
      expect(ok, results.map((r) => r.stderr).join('\n---\n')).toHaveLength(1);
      expect(busy).toHaveLength(1);
      const winner = results[0]!.code === 0 ? a : b;
      expect(busy[0]!.stderr).toMatch(
        new RegExp(
          `^error: ${dir} is busy: pid ${winner.child.pid} is running \`start composition::fake\` \\(nxc start\\) since \\d\\d:\\d\\d:\\d\\d$`,
          'm',
        ),
      );
      // the winner's nodes are all there, and the document is the winner's
      expect(await worldNodes()).toEqual([
        'composition~client1',
        'composition~client2',
        'composition~server',
      ]);
      const state = JSON.parse(await readFile(path.join(dir, 'deploy/composition::fake.state.json'), 'utf8'));
      for (const f of await readdir(world))
        expect(await readFile(path.join(world, f), 'utf8')).toBe(state.startId);
      const stop = await run(['stop']);
      expect(stop.code, stop.stderr).toBe(0);
      expect(await worldNodes()).toEqual([]);
    }
  }, 300_000);

  it('stop and clean during a start are refused; the start completes', async () => {
    const start = launch(['start'], { NXC_FAKE_START_DELAY_MS: '3000' });
    await start.saw(/starting composition::fake/);
    const stop = await run(['stop']);
    expect(stop.code).toBe(3);
    expect(stop.stderr).toMatch(/^error: .* is busy: pid \d+ is running `start composition::fake`/m);
    const clean = await run(['clean', '--force']);
    expect(clean.code).toBe(3);
    expect(clean.stderr).toMatch(/is busy: pid \d+ is running `start composition::fake`/);
    expect((await start.done).code).toBe(0);
    expect(await worldNodes()).toHaveLength(3);
    expect((await run(['stop'])).code).toBe(0);
  }, 120_000);

  it('a lock left by a killed command (SIGKILL) does not block the next one', async () => {
    const start = launch(['start'], { NXC_FAKE_START_DELAY_MS: '30000' });
    await start.saw(/starting composition::fake/);
    // the fake engine creates nodes one by one after that line: kill once all three exist
    expect(await nodesOfRunningStart(3)).toHaveLength(3);
    start.child.kill('SIGKILL');
    await start.done;
    expect(await deployFiles()).toContain('.lock');
    // the killed start left its nodes and no document: stop finds them anyway
    const stop = await run(['stop', '--json']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(JSON.parse(stop.stdout).recovered).toEqual([
      {
        composition: 'composition',
        flavour: 'fake',
        removed: ['node client1', 'node client2', 'node server'],
      },
    ]);
    expect(await worldNodes()).toEqual([]);
    expect(await deployFiles()).toEqual([]);
  }, 120_000);
});

describe('signals during a start', () => {
  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGHUP', 129],
    ['SIGINT', 130],
  ] as const) {
    it(`${signal}: removes what it created, exits ${code}`, async () => {
      const start = launch(['start'], { NXC_FAKE_START_DELAY_MS: '30000' });
      await start.saw(/starting composition::fake/);
      expect(await nodesOfRunningStart(3)).toHaveLength(3);
      start.child.kill(signal);
      const r = await start.done;
      expect(r.code, r.stderr).toBe(code);
      expect(r.stderr).toMatch(/^error: fake start interrupted; nodes removed$/m);
      expect(await worldNodes()).toEqual([]);
      expect(await deployFiles()).toEqual([]);
    }, 60_000);
  }

  it('a second signal does not cut the cleanup short; it says so', async () => {
    const start = launch(['start'], { NXC_FAKE_START_DELAY_MS: '30000', NXC_FAKE_CLEANUP_DELAY_MS: '2000' });
    await start.saw(/starting composition::fake/);
    start.child.kill('SIGTERM');
    await start.saw(/received SIGTERM: cleaning up/);
    start.child.kill('SIGTERM');
    await start.saw(/still cleaning up/);
    const r = await start.done;
    expect(r.code).toBe(143);
    expect(r.stderr).toMatch(/^error: fake start interrupted; nodes removed$/m);
    expect(await worldNodes()).toEqual([]);
    expect(await deployFiles()).toEqual([]);
  }, 60_000);

  it('a third signal quits at once, saying what to run', async () => {
    const start = launch(['start'], { NXC_FAKE_START_DELAY_MS: '30000', NXC_FAKE_CLEANUP_DELAY_MS: '20000' });
    await start.saw(/starting composition::fake/);
    const t0 = Date.now();
    for (const pattern of [/cleaning up/, /still cleaning up/, /quit before cleanup finished/]) {
      start.child.kill('SIGTERM');
      await start.saw(pattern);
    }
    const r = await start.done;
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r.code).toBe(143);
    expect(r.stderr).toMatch(/^error: quit before cleanup finished; what is left is removed by `nxc stop`$/m);
    const stop = await run(['stop']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(await worldNodes()).toEqual([]);
  }, 60_000);

  it('cleanup is bounded (NXC_CLEANUP_TIMEOUT)', async () => {
    const start = launch(['start'], {
      NXC_FAKE_START_DELAY_MS: '30000',
      NXC_FAKE_CLEANUP_DELAY_MS: '60000',
      NXC_CLEANUP_TIMEOUT: '2',
    });
    await start.saw(/starting composition::fake/);
    const t0 = Date.now();
    start.child.kill('SIGTERM');
    const r = await start.done;
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(r.code).toBe(143);
    expect(r.stderr).toMatch(
      /^error: cleanup did not finish within 2 s; what is left is removed by `nxc stop`$/m,
    );
    expect((await run(['stop'])).code).toBe(0);
    expect(await worldNodes()).toEqual([]);
  }, 60_000);
});

describe('nxc stop without usable deploy/ files', () => {
  const startFresh = async () => {
    const r = await run(['start']);
    expect(r.code, r.stderr).toBe(0);
    expect(await worldNodes()).toHaveLength(3);
  };

  it('corrupt document: stops anyway, says so, removes the files', async () => {
    await startFresh();
    await writeFile(path.join(dir, 'deploy/composition::fake.json'), '{"deployment": ');
    const r = await run(['stop']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /warning: .*composition::fake\.json: not valid JSON .*; stopping composition::fake without it/,
    );
    expect(await worldNodes()).toEqual([]);
    expect(await deployFiles()).toEqual([]);
  }, 60_000);

  it('corrupt state: stops anyway', async () => {
    await startFresh();
    await writeFile(path.join(dir, 'deploy/composition::fake.state.json'), 'garbage');
    const r = await run(['stop', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ composition: 'composition', flavour: 'fake' });
    expect(await worldNodes()).toEqual([]);
    expect(await deployFiles()).toEqual([]);
  }, 60_000);

  it('no document at all (deploy/ removed): finds the nodes and lists what it removed', async () => {
    await startFresh();
    await rm(path.join(dir, 'deploy'), { recursive: true });
    const r = await run(['stop']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /^warning: removed leftovers of composition::fake: node client1, node client2, node server$/m,
    );
    expect(await worldNodes()).toEqual([]);
    const again = await run(['stop']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^error: no deployment in deploy\/$/m);
  }, 60_000);
});
