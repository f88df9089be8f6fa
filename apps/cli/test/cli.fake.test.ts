/**
 * The CLI's start -> status -> exec -> stop path through the real loader and a third-party
 * style flavour (test/fixtures/flavour-fake: nodes are records, commands run locally).
 * Proves: deployment files written and removed, --json outputs, exec exit summary,
 * "already running" refusal, and cleanup of deploy/ when a flavour's start fails.
 */
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertBuilt,
  composeInfo,
  fakeFlavour,
  makeProject,
  nxcBin,
  runNxc,
  stateListing,
} from './helpers.js';

let dir: string;

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
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('nxc with a plugin flavour', () => {
  it('lists the flavour', async () => {
    const r = await runNxc(dir, ['flavours', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).flavours).toEqual([
      expect.objectContaining({
        name: 'fake',
        image: 'docker',
        description: 'local fake nodes for CLI tests',
      }),
    ]);
  });

  it('removes the deployment files when the flavour fails to start', async () => {
    const r = await runNxc(dir, ['start'], { NXC_FAKE_FAIL_START: '1' });
    expect(r.stderr).toMatch(/^error: node server failed to boot \(fake\)$/m);
    expect(r.code).toBe(1);
    expect((await stateListing(dir)).filter((p) => p.startsWith('deploy/'))).toEqual([]);
  });

  it('starts with the composition defaults and -r overrides, writing the deployment', async () => {
    const r = await runNxc(dir, [
      'start',
      '-r',
      'client=3',
      '-p',
      'iterations=4',
      '--speed',
      '3',
      '-O',
      'memory=512',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ composition: 'composition', flavour: 'fake' });
    expect(out.nodes.map((n: { host: string }) => n.host)).toEqual([
      'server',
      'client1',
      'client2',
      'client3',
    ]);
    const doc = JSON.parse(await readFile(path.join(dir, 'deploy/composition::fake.json'), 'utf8'));
    expect(doc.deployment['10.254.0.2']).toMatchObject({ role: 'server', host: 'server' });
    expect(doc.parameters).toEqual({ iterations: 4 });
    expect(doc['ssh_key.pub']).toMatch(/^ssh-ed25519 /);
    // flavour options from the command line reach the flavour
    const state = JSON.parse(await readFile(path.join(dir, 'deploy/composition::fake.state.json'), 'utf8'));
    expect(state.options).toEqual({ speed: 3, memory: 512 });
    // progress went to stderr as JSON lines
    for (const line of r.stderr.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('refuses to start the same composition::flavour twice', async () => {
    const r = await runNxc(dir, ['start']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^error: composition::fake is already running \(server, client1, client2, client3\)$/m,
    );
    expect(r.stderr).toMatch(/^hint: stop it first with `nxc stop -C composition::fake`$/m);
  });

  it('reports status as JSON', async () => {
    const r = await runNxc(dir, ['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { deployments } = JSON.parse(r.stdout);
    expect(deployments).toHaveLength(1);
    expect(deployments[0].nodes.map((n: { state: string }) => n.state)).toEqual([
      'running',
      'running',
      'running',
      'running',
    ]);
  });

  it('execs on @role in parallel with prefixed output and a per-node summary', async () => {
    const r = await runNxc(dir, ['exec', '@client', '--', 'echo hello from $NXC_HOST']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'client1 | hello from client1',
      'client2 | hello from client2',
      'client3 | hello from client3',
    ]);
    expect(r.stderr).toMatch(/^3\/3 succeeded: client1 ok, client2 ok, client3 ok$/m);
  });

  it('exits non-zero when a node fails, with its stderr in --json', async () => {
    const r = await runNxc(dir, [
      'exec',
      'server',
      'client2',
      '--json',
      '--',
      'if [ $NXC_HOST = client2 ]; then echo boom >&2; exit 3; fi; echo fine',
    ]);
    expect(r.code).toBe(1);
    const { results, failed } = JSON.parse(r.stdout);
    expect(failed).toBe(1);
    expect(results).toEqual([
      { host: 'server', role: 'server', exitCode: 0, stdout: 'fine\n', stderr: '' },
      { host: 'client2', role: 'client', exitCode: 3, stdout: '', stderr: 'boom\n' },
    ]);
  });

  it('names unknown targets with the choices', async () => {
    const r = await runNxc(dir, ['exec', 'clinet1', '--', 'true']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^error: no node "clinet1" in the deployment \(nodes: server, client1, client2, client3\)$/m,
    );
  });

  it('prints node logs prefixed by host, --tail and --json', async () => {
    const r = await runNxc(dir, ['logs', '@client', '-n', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      'client1 | NXC_READY client1\nclient2 | NXC_READY client2\nclient3 | NXC_READY client3\n',
    );
    const j = await runNxc(dir, ['logs', 'server', '--json']);
    expect(
      j.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { host: 'server', stream: 'console', line: 'booting server' },
      { host: 'server', stream: 'console', line: 'NXC_READY server' },
    ]);
  });

  it('refuses to clean while the deployment runs', async () => {
    const r = await runNxc(dir, ['clean']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^error: composition::fake is still running \(server, client1, client2, client3\); clean would lose track of it$/m,
    );
    expect(await stateListing(dir)).toContain('deploy/composition::fake.json');
  });

  it('stops and removes the deployment files', async () => {
    const r = await runNxc(dir, ['stop', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      composition: 'composition',
      flavour: 'fake',
      hosts: ['server', 'client1', 'client2', 'client3'],
    });
    expect((await stateListing(dir)).filter((p) => p.startsWith('deploy/'))).toEqual([]);
    const again = await runNxc(dir, ['status', '--json']);
    expect(JSON.parse(again.stdout)).toEqual({ deployments: [] });
  });
});

describe('Ctrl-C', () => {
  it('interrupts a start waiting for its machine file: exit 130, nothing left in deploy/', async () => {
    const child = spawn(process.execPath, [nxcBin, 'start', '-W', '-m', 'machines.txt'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stderr = '';
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    // wait until it says it is waiting, then press Ctrl-C
    const deadline = Date.now() + 20_000;
    while (!stderr.includes('waiting for machine file') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toMatch(/^error: interrupted while waiting for machines\.txt$/m);
    expect(code).toBe(130);
    expect((await stateListing(dir)).filter((p) => p.startsWith('deploy/'))).toEqual([]);
  });

  it('cleans the project once stopped', async () => {
    const r = await runNxc(dir, ['clean', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).removed).toContain(path.join(dir, 'build/composition::fake'));
    expect(await stateListing(dir)).toEqual([]);
  });
});
