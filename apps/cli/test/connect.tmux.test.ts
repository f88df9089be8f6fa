/**
 * `nxc connect` driven through a real tmux (Debian's): one host -> a shell in the current
 * terminal (keys typed in, output read back, remote exit code passed through); several hosts
 * -> one tmux window with a pane per host, laid out by -g. Nodes come from the fake flavour
 * (a local sh per node); the docker e2e test does the same against containers.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, composeInfo, fakeFlavour, makeProject, nxcBin, runNxc } from './helpers.js';

const socket = `nxc-test-${process.pid}`;
let dir: string;

function tmux(...args: string[]): string {
  const { TMUX: _outer, ...env } = process.env;
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', env }).trim();
}

async function waitFor(pane: string, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let screen = '';
  while (Date.now() < deadline) {
    screen = tmux('capture-pane', '-p', '-t', pane);
    if (pattern.test(screen)) return screen;
    await sleep(100);
  }
  throw new Error(`pane ${pane} never showed ${pattern}; screen:\n${screen}`);
}

beforeAll(async () => {
  assertBuilt();
  dir = await makeProject(
    {
      'flake.nix': '{ outputs = _: { }; }\n',
      'nxc.config.json': { plugins: [fakeFlavour] },
      'ci.json': composeInfo({ roles_distribution: { client: 3 } }),
    },
    { 'composition::fake': 'ci.json' },
  );
  const r = await runNxc(dir, ['start']);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  try {
    tmux('kill-server');
  } catch {
    // no server left
  }
  rmSync(path.join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.()}`, socket), { force: true });
  if (dir) {
    await runNxc(dir, ['stop']);
    await rm(dir, { recursive: true, force: true });
  }
});

describe('nxc connect under tmux', () => {
  it('one host: typed command output comes back and the exit code passes through', async () => {
    const cmd = `${process.execPath} ${nxcBin} connect server; echo "NXC_EXIT=$?"; sleep 60`;
    tmux('new-session', '-d', '-s', 'one', '-x', '120', '-y', '30', '-c', dir, cmd);
    await sleep(300);
    tmux('send-keys', '-t', 'one', 'echo "answer-$((6*7)) on $NXC_HOST"', 'Enter');
    await waitFor('one', /answer-42 on server/);
    tmux('send-keys', '-t', 'one', 'exit 5', 'Enter');
    await waitFor('one', /NXC_EXIT=5/);
  });

  it('two hosts: one window with two panes, one per host', async () => {
    const cmd = `${process.execPath} ${nxcBin} connect server client1; echo "NXC_EXIT=$?"; sleep 60`;
    tmux('new-session', '-d', '-s', 'two', '-x', '160', '-y', '40', '-c', dir, cmd);
    await waitFor('two:0', /NXC_EXIT=0/);
    const panes = tmux('list-panes', '-t', 'two:nxc', '-F', '#{pane_id} #{pane_left} #{pane_top}').split(
      '\n',
    );
    expect(panes).toHaveLength(2);
    // default geometry for 2 panes is "1+1": two columns side by side
    const [a, b] = panes.map((l) => l.split(' '));
    expect(a![2]).toBe(b![2]);
    expect(Number(b![1])).toBeGreaterThan(Number(a![1]));
    for (const [id, host] of [
      [a![0]!, 'server'],
      [b![0]!, 'client1'],
    ]) {
      await sleep(200);
      tmux('send-keys', '-t', id, 'echo "pane-on-$NXC_HOST"', 'Enter');
      await waitFor(id, new RegExp(`pane-on-${host}`));
    }
  });

  it('-g 1+3 lays out a column of 1 and a column of 3 for @client plus server', async () => {
    const cmd = `${process.execPath} ${nxcBin} connect server @client -g 1+3; echo "NXC_EXIT=$?"; sleep 60`;
    tmux('new-session', '-d', '-s', 'geo', '-x', '160', '-y', '40', '-c', dir, cmd);
    await waitFor('geo:0', /NXC_EXIT=0/);
    const panes = tmux('list-panes', '-t', 'geo:nxc', '-F', '#{pane_left} #{pane_top}')
      .split('\n')
      .map((l) => l.split(' ').map(Number));
    expect(panes).toHaveLength(4);
    const columns = new Map<number, number>();
    for (const [left] of panes) columns.set(left!, (columns.get(left!) ?? 0) + 1);
    expect([...columns.values()].sort()).toEqual([1, 3]);
  });

  it('several hosts without tmux installed: one clear line, exit 3', async () => {
    const r = await runNxc(dir, ['connect', 'server', 'client1'], { PATH: '/nonexistent', TMUX: '' });
    expect(r.code).toBe(3);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      'error: connecting to several nodes needs tmux, which is not installed',
      'hint: install tmux (e.g. `apt-get install tmux`), or connect to one node: `nxc connect HOST`',
    ]);
  });
});
