import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComposeInfo } from './compose-info.js';
import { isNxcError } from './errors.js';
import { makeProject } from './project.js';
import {
  type RecordInput,
  buildRecord,
  composeInfoStorePaths,
  listRecords,
  lockedInputs,
  newRecordId,
  parseRecord,
  readCoreVersion,
  readFlakeLock,
  readRecord,
  recordsDir,
  runningRecordPath,
  timingReporter,
  writeRecord,
} from './records.js';
import type { ProgressEvent } from './reporter.js';
import { artifactDir, clean } from './state.js';

const config = {
  plugins: [],
  composition: 'composition.nix',
  nix: { flags: [], overrideInputs: {} },
  flavourOptions: {},
};
let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'nxc-records-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

const S = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz';
const info: ComposeInfo = {
  source: '/p/build/composition::docker',
  format: 'nxc',
  composition: 'composition',
  flavour: { name: 'docker', image: 'docker' },
  system: 'x86_64-linux',
  roles: {
    server: { init: `${S}-server/init`, toplevel: `${S}-server` },
    client: { init: `${S}-client/init` },
  },
  all: { 'docker-compose-file': `${S}-compose.json`, cmdline: 'console=ttyS0' },
  testScript: `${S}-test.py`,
  extra: { extraVolumes: [`${S}-vol:/data`], dockerPorts: { server: ['80:80'] } },
};

const lock = {
  version: 7,
  root: 'root',
  nodes: {
    root: { inputs: { nixpkgs: 'nixpkgs', nxc: 'nxc', utils: ['nxc', 'flake-utils'] } },
    nixpkgs: {
      locked: {
        type: 'github',
        owner: 'NixOS',
        repo: 'nixpkgs',
        rev: 'a'.repeat(40),
        narHash: 'sha256-xyz=',
        lastModified: 1700000000,
      },
      original: { type: 'github', owner: 'NixOS', repo: 'nixpkgs' },
    },
    nxc: { locked: { type: 'path', path: '/src/nxc', narHash: 'sha256-abc=' } },
  },
};

function input(over: Partial<RecordInput> = {}): RecordInput {
  return {
    id: '20261201T023833Z-1a2b3c4d',
    project: makeProject('/p', config),
    composition: 'composition',
    flavour: 'docker',
    retry: false,
    startedAt: new Date('2026-12-01T02:38:33.120Z'),
    endedAt: new Date('2026-12-01T02:38:40.000Z'),
    coreVersion: '0.1.0',
    plugin: { name: '@nxc/flavour-docker', spec: '@nxc/flavour-docker', version: '0.2.0' },
    flake: { lockFile: '/p/flake.lock', inputs: lockedInputs(lock), lock },
    composeInfo: info,
    deployment: {
      '10.0.0.2': { role: 'server', host: 'server' },
      '10.0.0.3': {
        role: 'client',
        host: 'client1',
        index: 1,
        globalIndex: 1,
        uuid: '0b7e7a52-5f0e-4d5e-9a59-2f3c9f1c6a01',
      },
      '10.0.0.4': { role: 'client', host: 'client2' },
    },
    nodes: [
      { host: 'client2', role: 'client', address: '10.0.0.4', state: 'exited' },
      { host: 'server', role: 'server', address: '10.0.0.2', state: 'running', machine: 'dahu-1' },
      { host: 'client1', role: 'client', address: '10.0.0.3', state: 'running' },
    ],
    timings: new Map([
      ['server', { launchedAt: '2026-12-01T02:38:34.000Z', readyAt: '2026-12-01T02:38:39.000Z' }],
    ]),
    parameters: { rate: 10 },
    kernelParams: 'quiet',
    flavourOptions: { workers: 4 },
    platform: { oarJobId: 1234 },
    wait: true,
    ...over,
  };
}

describe('buildRecord', () => {
  it('puts the start together: nodes in document order, distribution, store paths, timings', () => {
    const r = buildRecord(input());
    expect(r.recordVersion).toBe(2);
    expect(r.nodes.map((n) => [n.host, n.role, n.address, n.state, n.machine])).toEqual([
      ['server', 'server', '10.0.0.2', 'running', 'dahu-1'],
      ['client1', 'client', '10.0.0.3', 'running', undefined],
      ['client2', 'client', '10.0.0.4', 'exited', undefined],
    ]);
    expect(r.nodes[0]).toMatchObject({
      launchedAt: '2026-12-01T02:38:34.000Z',
      readyAt: '2026-12-01T02:38:39.000Z',
    });
    expect(r.nodes[1]).not.toHaveProperty('readyAt');
    // the node's identity from the document, which a replay gives it again
    expect(r.nodes[1]).toMatchObject({
      index: 1,
      globalIndex: 1,
      uuid: '0b7e7a52-5f0e-4d5e-9a59-2f3c9f1c6a01',
    });
    expect(r.nodes[2]).not.toHaveProperty('uuid');
    expect(r.distribution).toEqual({ server: ['server'], client: ['client1', 'client2'] });
    expect(r.composeInfo.storePaths).toEqual([
      `${S}-client/init`,
      `${S}-compose.json`,
      `${S}-server`,
      `${S}-server/init`,
      `${S}-test.py`,
      `${S}-vol:/data`,
    ]);
    expect(r.composeInfo.roles.client).toEqual({ init: `${S}-client/init` });
    expect(r.flake.inputs.nixpkgs).toEqual({
      type: 'github',
      owner: 'NixOS',
      repo: 'nixpkgs',
      rev: 'a'.repeat(40),
      narHash: 'sha256-xyz=',
      lastModified: 1700000000,
    });
    expect(r).toMatchObject({
      startedAt: '2026-12-01T02:38:33.120Z',
      parameters: { rate: 10 },
      kernelParams: 'quiet',
      flavourOptions: { workers: 4 },
      platform: { oarJobId: 1234 },
      versions: { core: '0.1.0', plugin: { version: '0.2.0' } },
    });
  });

  it('leaves out what the start did not have (no parameters, kernel params, platform)', () => {
    const r = buildRecord(
      input({ parameters: {}, kernelParams: undefined, platform: undefined, timings: new Map() }),
    );
    expect(r).not.toHaveProperty('parameters');
    expect(r).not.toHaveProperty('kernelParams');
    expect(r).not.toHaveProperty('platform');
    expect(r.nodes.every((n) => n.launchedAt === undefined && n.readyAt === undefined)).toBe(true);
  });

  it("records each node's disks from the deployment document, and reads them back", () => {
    const disk = { id: 'data', size: '4G', bytes: 4 * 1024 ** 3, device: '/dev/disk/by-id/virtio-data' };
    const base = input();
    const r = buildRecord({
      ...base,
      deployment: { ...base.deployment, '10.0.0.2': { role: 'server', host: 'server', disks: [disk] } },
    });
    expect(r.nodes.find((n) => n.host === 'server')?.disks).toEqual([disk]);
    expect(r.nodes.find((n) => n.host === 'client1')).not.toHaveProperty('disks');
    expect(parseRecord(JSON.parse(JSON.stringify(r)), 'x.json')).toEqual(r);
  });

  it('writes what the schema reads back', () => {
    const r = buildRecord(input());
    expect(parseRecord(JSON.parse(JSON.stringify(r)), 'x.json')).toEqual(r);
  });
});

describe('parseRecord', () => {
  const good = () => JSON.parse(JSON.stringify(buildRecord(input())));
  it('refuses another record version, naming it', () => {
    const error = (() => {
      try {
        parseRecord({ ...good(), recordVersion: 3 }, 'r.json');
      } catch (e) {
        return e;
      }
    })();
    expect(isNxcError(error) && error.message).toBe(
      'r.json: record version 3 is not supported (this nxc reads 1 and 2)',
    );
  });
  it('reads a version-1 record as main wrote it (no identity, no replay fields)', () => {
    const v1 = good();
    v1.recordVersion = 1;
    for (const k of [
      'identity',
      'replayOf',
      'replication',
      'changedParameters',
      'composeInfoOrigin',
      'replayChanges',
    ])
      delete v1[k];
    const r = parseRecord(v1, 'r.json');
    expect(r.recordVersion).toBe(1);
    expect(r.identity).toBeUndefined();
    expect(r.nodes.map((n) => n.host)).toEqual(['server', 'client1', 'client2']);
  });
  it('keeps the identity choice and the replay fields', () => {
    const r = buildRecord(
      input({
        identity: { kind: 'file', file: '/home/u/.ssh/id_ed25519' },
        replayOf: '20261201T010000Z-00000000',
        replication: true,
        changedParameters: ['rate'],
        composeInfoOrigin: 'recorded',
        replayChanges: ['machine dahu-2 is new (not in the record)'],
      }),
    );
    const back = parseRecord(JSON.parse(JSON.stringify(r)), 'r.json');
    expect(back).toEqual(r);
    expect([
      back.recordVersion,
      back.identity,
      back.replayOf,
      back.replication,
      back.changedParameters,
    ]).toEqual([
      2,
      { kind: 'file', file: '/home/u/.ssh/id_ed25519' },
      '20261201T010000Z-00000000',
      true,
      ['rate'],
    ]);
    expect(() => parseRecord({ ...back, identity: { kind: 'key', key: 'x' } }, 'r.json')).toThrow(/identity/);
  });
  it('names the first wrong field', () => {
    const bad = good();
    bad.nodes[0].readyAt = 'yesterday';
    expect(() => parseRecord(bad, 'r.json')).toThrow(/^r\.json: not a deployment record: .*nodes.*readyAt/);
  });
});

describe('lockedInputs and readFlakeLock', () => {
  it('gives each root input its locked fields, and follows as a path', () => {
    expect(lockedInputs(lock)).toEqual({
      nixpkgs: expect.objectContaining({ rev: 'a'.repeat(40), narHash: 'sha256-xyz=' }),
      nxc: { type: 'path', path: '/src/nxc', narHash: 'sha256-abc=' },
      utils: { follows: ['nxc', 'flake-utils'] },
    });
  });
  it('records a missing lock as null, saying so', async () => {
    const root = await mkdtemp(join(base, 'nolock-'));
    expect(await readFlakeLock(makeProject(root, config))).toEqual({
      lockFile: null,
      inputs: {},
      lock: null,
      note: 'no flake.lock in the project',
    });
  });
  it('reads the project lock', async () => {
    const root = await mkdtemp(join(base, 'lock-'));
    await writeFile(join(root, 'flake.lock'), JSON.stringify(lock));
    const flake = await readFlakeLock(makeProject(root, config));
    expect(flake.lockFile).toBe(join(root, 'flake.lock'));
    expect(flake.inputs.nixpkgs?.rev).toBe('a'.repeat(40));
    expect(flake.lock).toEqual(lock);
  });
  it("records the config's input overrides", async () => {
    const root = await mkdtemp(join(base, 'override-'));
    const project = makeProject(root, {
      ...config,
      nix: { flags: [], overrideInputs: { nixpkgs: '/src/os' } },
    });
    expect((await readFlakeLock(project)).overrideInputs).toEqual({ nixpkgs: '/src/os' });
    expect(await readFlakeLock(makeProject(root, config))).not.toHaveProperty('overrideInputs');
  });
});

describe('composeInfoStorePaths', () => {
  it('ignores strings that are not store paths', () => {
    expect(
      composeInfoStorePaths({ ...info, all: { cmdline: 'init=/nix/store/x' }, extra: {} }),
    ).not.toContain('init=/nix/store/x');
  });
});

describe('timingReporter', () => {
  it('notes the first launched and ready event per host and passes every event on', () => {
    const seen: ProgressEvent[] = [];
    let t = 0;
    const { reporter, timings } = timingReporter(
      { emit: (e) => seen.push(e) },
      () => new Date(Date.UTC(2026, 0, 1, 0, 0, ++t)),
    );
    reporter.emit({ type: 'node', host: 'a', state: 'started' });
    reporter.emit({ type: 'step', message: 'x' });
    reporter.emit({ type: 'node', host: 'b', state: 'up' });
    reporter.emit({ type: 'node', host: 'a', state: 'ready' });
    reporter.emit({ type: 'node', host: 'a', state: 'ready' });
    expect(seen).toHaveLength(5);
    expect(timings.get('a')).toEqual({
      launchedAt: '2026-01-01T00:00:01.000Z',
      readyAt: '2026-01-01T00:00:03.000Z',
    });
    // ready without a launch event: launched no later than ready
    expect(timings.get('b')).toEqual({
      launchedAt: '2026-01-01T00:00:02.000Z',
      readyAt: '2026-01-01T00:00:02.000Z',
    });
  });
});

describe('writeRecord, listRecords, readRecord', () => {
  it('writes 0600 copies in records/ and deploy/, lists newest first, reports a corrupt one', async () => {
    const root = await mkdtemp(join(base, 'p-'));
    const project = makeProject(root, config);
    const older = buildRecord(
      input({ id: '20261201T010000Z-00000001', startedAt: new Date('2026-12-01T01:00:00Z') }),
    );
    const newer = buildRecord(
      input({ id: '20261201T020000Z-00000002', startedAt: new Date('2026-12-01T02:00:00Z') }),
    );
    const file = await writeRecord(project, older);
    await writeRecord(project, newer);
    expect(file).toBe(join(recordsDir(project, 'composition', 'docker'), `${older.id}.json`));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(runningRecordPath(project, 'composition', 'docker'))).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(runningRecordPath(project, 'composition', 'docker'), 'utf8')).id).toBe(
      newer.id,
    );
    const corrupt = join(recordsDir(project, 'composition', 'docker'), '20261201T030000Z-deadbeef.json');
    await writeFile(corrupt, '{"recordVersion": 1, "id": ');
    const list = await listRecords(project);
    expect(list.records.map((r) => r.id)).toEqual([newer.id, older.id]);
    expect(list.records[0]).toMatchObject({ composition: 'composition', flavour: 'docker', nodes: 3 });
    expect(list.problems).toHaveLength(1);
    expect(list.problems[0]?.path).toBe(corrupt);
    expect(list.problems[0]?.message).toMatch(/not a deployment record: invalid JSON/);
    expect((await readRecord(project, '00000001')).record).toEqual(older);
    expect((await readRecord(project, newer.id)).path).toContain(newer.id);
    await expect(readRecord(project, 'cafecafe')).rejects.toThrow(/no deployment record "cafecafe"/);
    await expect(readRecord(project, '2026')).rejects.toThrow(/names 3 records/);
    await expect(readRecord(project, 'deadbeef')).rejects.toThrow(/invalid JSON/);
  });

  it('lists nothing in a project without artifact/', async () => {
    const root = await mkdtemp(join(base, 'empty-'));
    expect(await listRecords(makeProject(root, config))).toEqual({ records: [], problems: [] });
  });
});

describe('clean and records', () => {
  async function withRecord(name: string) {
    const root = join(base, name);
    const project = makeProject(root, config);
    await mkdir(join(root, 'deploy'), { recursive: true });
    await writeRecord(project, buildRecord(input()));
    await writeFile(join(artifactDir(project, 'composition', 'docker'), 'server.log'), 'x');
    await mkdir(artifactDir(project, 'other', 'qemu'), { recursive: true });
    await writeFile(join(artifactDir(project, 'other', 'qemu'), 'vm.log'), 'x');
    return { root, project };
  }
  it('keeps the records by default, removing the rest of artifact/', async () => {
    const { root, project } = await withRecord('keep');
    await clean(project);
    expect(await readdir(join(root, 'artifact'))).toEqual(['composition']);
    expect(await readdir(artifactDir(project, 'composition', 'docker'))).toEqual(['records']);
    expect((await listRecords(project)).records).toHaveLength(1);
  });
  it('removes them with records', async () => {
    const { root, project } = await withRecord('drop');
    const { removed } = await clean(project, { records: true });
    expect(removed).toContain(join(root, 'artifact'));
    expect((await listRecords(project)).records).toHaveLength(0);
  });
});

describe('record ids and versions', () => {
  it('makes ids from the start time', () => {
    expect(newRecordId(new Date('2026-12-01T02:38:33.120Z'))).toMatch(/^20261201T023833Z-[0-9a-f]{8}$/);
  });
  it("reads @nxc/core's version from its package.json", async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
    expect(await readCoreVersion()).toBe(pkg.version);
  });
});
