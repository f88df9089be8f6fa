/**
 * Deployment records through the real `nxc` binary and the fake flavour: a start writes one
 * (0600, next to the deployment and in artifact/…/records/), stop keeps it, `nxc records`
 * lists it (table and --json), `records show` prints it, a corrupt record file is one line,
 * a failed start writes none, clean keeps them unless --records.
 */
import { execFileSync } from 'node:child_process';
import { readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, composeInfo, fakeFlavour, makeProject, runNxc } from './helpers.js';

const lock = {
  version: 7,
  root: 'root',
  nodes: {
    root: { inputs: { nixpkgs: 'nixpkgs' } },
    nixpkgs: {
      locked: {
        type: 'github',
        owner: 'NixOS',
        repo: 'nixpkgs',
        rev: 'b'.repeat(40),
        narHash: 'sha256-AAAA=',
        lastModified: 1733000000,
      },
      original: { type: 'github', owner: 'NixOS', repo: 'nixpkgs' },
    },
  },
};

let dir: string;
const recordsDir = () => path.join(dir, 'artifact/composition/fake/records');
const records = async () => (await readdir(recordsDir()).catch(() => [])).filter((f) => f.endsWith('.json'));

beforeAll(async () => {
  assertBuilt();
  dir = await makeProject(
    {
      'flake.nix': '{ outputs = _: { }; }\n',
      'flake.lock': lock,
      'nxc.config.json': { plugins: [fakeFlavour] },
      'ci.json': composeInfo({ roles_distribution: { client: 2 } }),
    },
    { 'composition::fake': 'ci.json' },
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('deployment records (fake flavour)', () => {
  it('a failed start writes no record', async () => {
    const r = await runNxc(dir, ['start'], { NXC_FAKE_FAIL_START: '1' });
    expect(r.code).toBe(1);
    expect(await records()).toEqual([]);
  });

  let id = '';
  it('start writes a 0600 record with the versions, lock, store paths, nodes, parameters and timings', async () => {
    const before = Date.now();
    const r = await runNxc(dir, ['start', '-p', 'rate=10', '-k', 'quiet', '-O', 'speed=3', '--json'], {
      NXC_FAKE_NODE_EVENTS: '1',
    });
    expect(r.stderr).not.toMatch(/warning|error/);
    expect(r.code).toBe(0);
    const files = await records();
    expect(files).toHaveLength(1);
    const file = path.join(recordsDir(), files[0]!);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const running = path.join(dir, 'deploy/composition::fake.record.json');
    expect((await stat(running)).mode & 0o777).toBe(0o600);
    const rec = JSON.parse(await readFile(file, 'utf8'));
    expect(JSON.parse(await readFile(running, 'utf8'))).toEqual(rec);
    id = rec.id;
    // start --json names the record
    expect(JSON.parse(r.stdout)).toMatchObject({ record: id, recordFile: file });
    expect(files[0]).toBe(`${id}.json`);
    const core = JSON.parse(
      await readFile(path.join(__dirname, '../../../packages/core/package.json'), 'utf8'),
    ) as { version: string };
    expect(rec).toMatchObject({
      recordVersion: 2,
      identity: { kind: 'project' },
      composition: 'composition',
      flavour: 'fake',
      retry: false,
      versions: { core: core.version, plugin: { name: 'nxc-flavour-clifake', version: '0.0.0' } },
      flake: {
        lockFile: path.join(dir, 'flake.lock'),
        inputs: { nixpkgs: { rev: 'b'.repeat(40), narHash: 'sha256-AAAA=', lastModified: 1733000000 } },
      },
      composeInfo: {
        file: path.join(dir, 'build/composition::fake'),
        roles: { server: { init: '/nix/store/00000000000000000000000000000000-server/init' } },
        storePaths: [
          '/nix/store/00000000000000000000000000000000-client/init',
          '/nix/store/00000000000000000000000000000000-server/init',
        ],
      },
      distribution: { server: ['server'], client: ['client1', 'client2'] },
      parameters: { rate: 10 },
      kernelParams: 'quiet',
      flavourOptions: expect.objectContaining({ speed: 3 }),
      wait: true,
    });
    expect(
      rec.nodes.map((n: { host: string; address: string; machine: string; state: string }) => [
        n.host,
        n.address,
        n.machine,
        n.state,
      ]),
    ).toEqual([
      ['server', '10.254.0.2', 'machine-1', 'running'],
      ['client1', '10.254.0.3', 'machine-2', 'running'],
      ['client2', '10.254.0.4', 'machine-3', 'running'],
    ]);
    expect(rec.platform).toEqual({ job: 'fake-job-1' });
    const t0 = Date.parse(rec.startedAt);
    expect(t0).toBeGreaterThanOrEqual(before - 1000);
    for (const n of rec.nodes) {
      expect(Date.parse(n.launchedAt)).toBeGreaterThanOrEqual(t0);
      expect(Date.parse(n.readyAt)).toBeGreaterThan(Date.parse(n.launchedAt));
      expect(Date.parse(n.readyAt)).toBeLessThanOrEqual(Date.parse(rec.endedAt));
    }
  });

  it('stop removes the running copy and keeps the record', async () => {
    const r = await runNxc(dir, ['stop']);
    expect(r.code).toBe(0);
    await expect(stat(path.join(dir, 'deploy/composition::fake.record.json'))).rejects.toThrow(/ENOENT/);
    expect(await records()).toEqual([`${id}.json`]);
  });

  it('nxc records lists it; --json parses; records show prints it', async () => {
    const list = await runNxc(dir, ['records']);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^STARTED\s+DEPLOYMENT\s+NODES\s+ID\s+FILE$/);
    expect(list.stdout).toMatch(
      new RegExp(
        `composition::fake\\s+3\\s+${id.slice(-8)}\\s+artifact/composition/fake/records/${id}\\.json`,
      ),
    );
    const json = await runNxc(dir, ['records', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ id, composition: 'composition', flavour: 'fake', nodes: 3 }),
    ]);
    const show = await runNxc(dir, ['records', 'show', id.slice(-8), '--json']);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toEqual(
      JSON.parse(await readFile(path.join(recordsDir(), `${id}.json`), 'utf8')),
    );
    const human = await runNxc(dir, ['records', 'show', id]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^deployment {2}composition::fake$/m);
    expect(human.stdout).toMatch(/^identity {4}the project identity$/m);
    expect(human.stdout).toMatch(/^client2\s+client\s+10\.254\.0\.4\s+machine-3\s+running\s+\d{4}-/m);
  });

  it('a second start adds a record, newest first', async () => {
    expect((await runNxc(dir, ['start'])).code).toBe(0);
    expect((await runNxc(dir, ['stop'])).code).toBe(0);
    const json = JSON.parse((await runNxc(dir, ['records', '--json'])).stdout) as { id: string }[];
    expect(json).toHaveLength(2);
    expect(json[1]!.id).toBe(id);
  });

  it('start --replay: a flag that conflicts with the record is one error line (exit 2), nothing is started', async () => {
    const short = id.slice(-8);
    const cases: Array<[string[], string]> = [
      [
        ['-r', 'client=3'],
        'error: --replay: -r client=3 conflicts with the record (a replay deploys the recorded nodes: server, client1, client2)',
      ],
      [['-k', 'debug'], 'error: --replay: -k "debug" conflicts with the record (-k "quiet")'],
      [
        ['-O', 'speed=4'],
        'error: --replay: flavour options conflict with record ' + id + ' (speed: 3 recorded, 4 now)',
      ],
      [['--retry-failed'], 'error: --replay and --retry-failed cannot be combined'],
    ];
    for (const [flags, line] of cases) {
      const r = await runNxc(dir, ['start', '--replay', short, ...flags]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.split('\n')[0]).toBe(line);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const unknown = await runNxc(dir, ['start', '--replay', 'cafecafe']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: no deployment record "cafecafe" in /m);
    await expect(stat(path.join(dir, 'deploy/composition::fake.json'))).rejects.toThrow(/ENOENT/);
    expect(await records()).toHaveLength(2);
  });

  it('a corrupt record is one line naming the file; the others still list', async () => {
    const bad = path.join(recordsDir(), '20200101T000000Z-0badf00d.json');
    await writeFile(bad, '{"recordVersion": 1, "nodes": [');
    const list = await runNxc(dir, ['records', '--json']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toHaveLength(2);
    expect(list.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^warning: .*20200101T000000Z-0badf00d\.json: not a deployment record: invalid JSON/,
      ),
    ]);
    const show = await runNxc(dir, ['records', 'show', '0badf00d']);
    expect(show.code).toBe(2);
    expect(show.stderr).toMatch(/^error: .*0badf00d\.json: not a deployment record: invalid JSON/m);
    expect(show.stderr).not.toMatch(/\n\s+at /);
    const unknown = await runNxc(dir, ['records', 'show', 'cafecafe']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: no deployment record "cafecafe" in /m);
    await rm(bad);
  });

  it('-m and -i are recorded (the key file, never the key); a replay of it without -m is refused naming the machines', async () => {
    await writeFile(path.join(dir, 'machines.txt'), 'm1\nm2\nm3\n');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'key')]);
    const r = await runNxc(dir, ['start', '-m', 'machines.txt', '-i', 'key', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const file = JSON.parse(r.stdout).recordFile as string;
    const text = await readFile(file, 'utf8');
    const rec = JSON.parse(text);
    expect(rec.machines).toEqual(['m1', 'm2', 'm3']);
    expect(rec.identity).toEqual({ kind: 'file', file: path.join(dir, 'key') });
    expect(text).not.toMatch(/PRIVATE KEY/);
    expect((await runNxc(dir, ['stop'])).code).toBe(0);
    const replay = await runNxc(dir, ['start', '--replay', rec.id]);
    expect(replay.code).toBe(2);
    expect(replay.stderr.split('\n')[0]).toBe(
      `error: --replay: record ${rec.id} deployed onto 3 machine(s) (m1, m2, m3) and no -m file is given`,
    );
  });

  it('clean keeps the records; clean --records removes them', async () => {
    expect((await runNxc(dir, ['clean'])).code).toBe(0);
    expect(await records()).toHaveLength(3);
    expect((await runNxc(dir, ['clean', '--records'])).code).toBe(0);
    expect(await records()).toHaveLength(0);
  });
});
