import { describe, expect, it } from 'vitest';
import type { ComposeInfo } from './compose-info.js';
import { isNxcError } from './errors.js';
import type { DeploymentRecord } from './records.js';
import {
  canonicalJson,
  diffComposeInfo,
  diffLockedInputs,
  diffOverrides,
  lockPins,
  lockedRef,
  planReplay,
} from './replay.js';

const S = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz';
const U1 = '0b7e7a52-5f0e-4d5e-9a59-2f3c9f1c6a01';
const U2 = '1c8f8b63-6f1f-4e6f-8b6a-3f4d0f2d7b12';
const U3 = '2d909c74-7020-4f70-9c7b-4f5e1f3e8c23';

function record(over: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return {
    recordVersion: 2,
    id: '20261201T023833Z-1a2b3c4d',
    composition: 'composition',
    flavour: 'docker',
    retry: false,
    startedAt: '2026-12-01T02:38:33.120Z',
    endedAt: '2026-12-01T02:38:40.000Z',
    versions: { core: '0.1.0', plugin: { name: '@nxc/flavour-docker', spec: '@nxc/flavour-docker' } },
    project: { root: '/p' },
    flake: { lockFile: null, inputs: {}, lock: null },
    composeInfo: {
      file: '/p/build/composition::docker',
      storePath: `${S}-compose-info.json`,
      format: 'nxc',
      roles: {
        client: { init: `${S}-client/init` },
        server: { init: `${S}-server/init`, toplevel: `${S}-server` },
      },
      all: { cmdline: 'quiet' },
      storePaths: [],
    },
    distribution: { client: ['client1', 'client2'], server: ['server'] },
    // recorded out of order: the plan follows globalIndex
    nodes: [
      { host: 'server', role: 'server', address: 'a3', index: 1, globalIndex: 2, uuid: U3, state: 'running' },
      {
        host: 'client1',
        role: 'client',
        address: 'a1',
        index: 1,
        globalIndex: 0,
        uuid: U1,
        state: 'running',
      },
      {
        host: 'client2',
        role: 'client',
        address: 'a2',
        index: 2,
        globalIndex: 1,
        uuid: U2,
        state: 'running',
      },
    ],
    parameters: { rate: 5, 'client2.rate': 20 },
    flavourOptions: {},
    wait: true,
    identity: { kind: 'project' },
    ...over,
  };
}

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isNxcError(e)) {
      expect(e.exitCode).toBe(2);
      return e.message;
    }
    throw e;
  }
  throw new Error('not refused');
}

describe('planReplay', () => {
  it('repeats the recorded nodes in document order with their uuids, parameters and identity', () => {
    const plan = planReplay(record(), {});
    expect(plan.nodes).toEqual([
      { role: 'client', host: 'client1' },
      { role: 'client', host: 'client2' },
      { role: 'server', host: 'server' },
    ]);
    expect(plan.uuids).toEqual({ client1: U1, client2: U2, server: U3 });
    expect(plan.parameters).toEqual({ rate: 5, 'client2.rate': 20 });
    expect([plan.replication, plan.changedParameters, plan.changes]).toEqual([false, [], []]);
    expect(plan.identity).toEqual({ kind: 'project' });
    expect([plan.composition, plan.flavour]).toEqual(['composition', 'docker']);
  });

  it('same -p values as recorded: still a repetition', () => {
    const plan = planReplay(record(), {
      parameters: { rate: 5 },
      flavour: 'docker',
      composition: 'composition::docker',
    });
    expect(plan.replication).toBe(false);
  });

  it('-p that changes or adds a value makes a replication naming the keys', () => {
    const plan = planReplay(record(), { parameters: { rate: 7, 'client1.seed': 1 } });
    expect(plan.replication).toBe(true);
    expect(plan.changedParameters).toEqual(['client1.seed', 'rate']);
    expect(plan.parameters).toEqual({ rate: 7, 'client2.rate': 20, 'client1.seed': 1 });
  });

  it('refuses flags that would deploy something else, in one line each', () => {
    expect(refusal(() => planReplay(record(), { flavour: 'vm' }))).toBe(
      '--replay: -f vm conflicts with the record (record 20261201T023833Z-1a2b3c4d deployed composition::docker)',
    );
    expect(refusal(() => planReplay(record(), { composition: 'other' }))).toMatch(
      /^--replay: -C other conflicts/,
    );
    expect(refusal(() => planReplay(record(), { composition: '::vm' }))).toMatch(
      /^--replay: -C ::vm conflicts/,
    );
    expect(refusal(() => planReplay(record(), { roleFlags: ['client=3'] }))).toBe(
      '--replay: -r client=3 conflicts with the record (a replay deploys the recorded nodes: server, client1, client2)',
    );
    expect(refusal(() => planReplay(record(), { roleDistributionFile: 'roles.yaml' }))).toMatch(
      /roles\.yaml conflicts/,
    );
    expect(refusal(() => planReplay(record(), { composeInfoFile: 'x.json' }))).toMatch(
      /--compose-info conflicts/,
    );
    expect(refusal(() => planReplay(record(), { retryFailed: true }))).toMatch(/cannot be combined/);
    expect(refusal(() => planReplay(record(), { kernelParams: 'debug' }))).toBe(
      '--replay: -k "debug" conflicts with the record (no -k)',
    );
    expect(planReplay(record({ kernelParams: 'quiet' }), { kernelParams: 'quiet' }).kernelParams).toBe(
      'quiet',
    );
  });

  it('same machines: the recorded order, whatever the file order, and no change', () => {
    const r = record({ machines: ['m1', 'm2', 'm3'] });
    r.nodes = r.nodes.map((n, i) => ({ ...n, machine: `m${i + 1}` }));
    const plan = planReplay(r, { machines: ['m3', 'm1', 'm2'] });
    expect(plan.machines).toEqual(['m1', 'm2', 'm3']);
    expect(plan.changes).toEqual([]);
  });

  it('a missing machine is named with the node it ran; new ones follow the kept ones', () => {
    const r = record({ machines: ['m1', 'm2', 'm3'] });
    r.nodes = r.nodes.map((n, i) => ({ ...n, machine: `m${i + 1}` }));
    const plan = planReplay(r, { machines: ['m4', 'm3', 'm1'] });
    expect(plan.machines).toEqual(['m1', 'm3', 'm4']);
    expect(plan.changes).toEqual([
      'machine m2 is not in the machine file (it ran client1)',
      'machine m4 is new (not in the record)',
    ]);
  });

  it('too few machines for the recorded nodes: refused, naming the missing one', () => {
    const r = record({ machines: ['m1', 'm2', 'm3'] });
    r.nodes = r.nodes.map((n, i) => ({ ...n, machine: `m${i + 1}` }));
    expect(refusal(() => planReplay(r, { machines: ['m1', 'm3'] }))).toBe(
      '--replay: the machine file lists 2 machine(s) for the 3 recorded nodes (machine m2 is not in the machine file (it ran client1))',
    );
  });

  it('a record deployed onto machines needs -m', () => {
    expect(refusal(() => planReplay(record({ machines: ['m1'] }), {}))).toMatch(
      /deployed onto 1 machine\(s\) \(m1\) and no -m file is given/,
    );
  });

  it('keeps the recorded identity file, and says when -i replaces it', () => {
    const r = record({ identity: { kind: 'file', file: '/k/id' } });
    expect(planReplay(r, {}).identity).toEqual({ kind: 'file', file: '/k/id' });
    expect(planReplay(r, { identityFile: '/k/id' }).changes).toEqual([]);
    const other = planReplay(r, { identityFile: '/k/other' });
    expect(other.identity).toEqual({ kind: 'file', file: '/k/other' });
    expect(other.changes).toEqual(['identity: /k/other instead of /k/id']);
    // a version-1 record has no identity: the project's
    const { identity: _, ...v1 } = record();
    expect(planReplay({ ...v1, recordVersion: 1 }, {}).identity).toEqual({ kind: 'project' });
  });
});

describe('lock pinning', () => {
  const rec = {
    nixpkgs: { type: 'github', owner: 'NixOS', repo: 'nixpkgs', rev: 'a'.repeat(40), narHash: 'sha256-A=' },
    lib: { type: 'path', path: '/src/lib', narHash: 'sha256-L=' },
    utils: { follows: ['lib', 'utils'] },
    nxc: { type: 'path', path: '/src/nxc', narHash: 'sha256-N=' },
    odd: { type: 'indirect' },
  };
  it('makes locked references', () => {
    expect(lockedRef(rec.nixpkgs)).toBe(`github:NixOS/nixpkgs/${'a'.repeat(40)}`);
    expect(lockedRef(rec.lib)).toBe('path:/src/lib?narHash=sha256-L%3D');
    expect(lockedRef({ type: 'git', url: 'https://x/r.git', ref: 'main', rev: 'b'.repeat(40) })).toBe(
      `git+https://x/r.git?ref=main&rev=${'b'.repeat(40)}`,
    );
    expect(lockedRef({ type: 'indirect' })).toBeUndefined();
  });
  it('pins only the inputs whose lock changed, not the overridden ones nor follows', () => {
    const now = {
      ...rec,
      nixpkgs: { ...rec.nixpkgs, rev: 'c'.repeat(40) },
      nxc: { ...rec.nxc, narHash: 'sha256-M=' },
      odd: { type: 'indirect', ref: 'x' },
    };
    expect(lockPins(rec, now, ['nxc'])).toEqual({
      pins: { nixpkgs: `github:NixOS/nixpkgs/${'a'.repeat(40)}` },
      unpinnable: ['odd'],
    });
    expect(lockPins(rec, rec, [])).toEqual({ pins: {}, unpinnable: [] });
  });
  it('diffs the root inputs', () => {
    expect(
      diffLockedInputs(rec, {
        ...rec,
        nixpkgs: { ...rec.nixpkgs, rev: 'c'.repeat(40) },
        extra: { type: 'path', path: '/e' },
      }),
    ).toEqual([
      'input extra: absent (recorded) -> type=path path=/e (now)',
      `input nixpkgs: type=github owner=NixOS repo=nixpkgs rev=${'a'.repeat(12)} narHash=sha256-A= (recorded) -> type=github owner=NixOS repo=nixpkgs rev=${'c'.repeat(12)} narHash=sha256-A= (now)`,
    ]);
  });
});

describe('diffOverrides', () => {
  it('names the overrides that differ from the config and the path ones (not locked)', () => {
    expect(
      diffOverrides(
        { nixpkgs: '../testos', lib: 'github:o/lib' },
        { nixpkgs: '../testos', lib: 'github:o/lib' },
      ),
    ).toEqual(['override nixpkgs: ../testos is a path, not locked: the rebuild used what it holds now']);
    expect(diffOverrides({ lib: 'github:o/lib/abc' }, { lib: 'github:o/lib', x: '/x' })).toEqual([
      'override lib: github:o/lib/abc (recorded) -> github:o/lib (config now); the rebuild used the recorded one',
      'override x: (none) (recorded) -> /x (config now); the rebuild used the recorded one',
    ]);
  });
});

describe('diffComposeInfo', () => {
  const rebuilt = (over: Pick<Partial<ComposeInfo>, 'roles' | 'all'> = {}): ComposeInfo => ({
    source: `${S}-other.json`,
    format: 'nxc',
    extra: {},
    composition: 'composition',
    flavour: { name: 'docker', image: 'docker' },
    roles: {
      client: { init: `${S}-client/init` },
      server: { init: `${S}-server/init`, toplevel: `${S}-server` },
    },
    all: { cmdline: 'quiet' },
    ...over,
  });
  it('is empty for the same store paths', () => {
    expect(diffComposeInfo(record().composeInfo, rebuilt(), `${S}-compose-info.json`)).toEqual([]);
  });
  it('names the compose info, each changed role path and artifact', () => {
    const r = rebuilt({
      roles: {
        client: { init: `${S}-client2/init` },
        server: { init: `${S}-server/init`, toplevel: `${S}-server2` },
        extra: { init: 'x' },
      },
      all: { cmdline: 'debug' },
    });
    expect(diffComposeInfo(record().composeInfo, r, `${S}-new.json`)).toEqual([
      `compose info: ${S}-compose-info.json (recorded) -> ${S}-new.json (rebuilt)`,
      `role client init: ${S}-client/init -> ${S}-client2/init`,
      'role extra: new in the rebuild',
      `role server system: ${S}-server -> ${S}-server2`,
      'all.cmdline: quiet -> debug',
    ]);
  });
});

describe('canonicalJson', () => {
  it('ignores key order, not array order', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe(canonicalJson({ a: { c: 3, d: 2 }, b: 1 }));
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
  });
});
