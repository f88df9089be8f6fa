import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeProject } from '../project.js';
import type { Project } from '../project.js';
import { deploymentPath } from '../state.js';
import { netApply, netHeal, netPath, parseDelay, readNetConditions } from './net.js';
import { listDeployments } from './select.js';

let project: Project;
beforeEach(async () => {
  const root = await mkdtemp(join(tmpdir(), 'nxc-net-'));
  project = makeProject(root, {
    plugins: [],
    composition: 'composition.nix',
    nix: { flags: [], overrideInputs: {} },
    flavourOptions: {},
  });
});
afterEach(async () => {
  await rm(project.root, { recursive: true, force: true });
});

describe('nxc net: input checks', () => {
  it('parses delays as users type them', () => {
    expect(parseDelay('50ms')).toBe(50);
    expect(parseDelay('1.5s')).toBe(1500);
    expect(parseDelay('20')).toBe(20);
    expect(() => parseDelay('fast')).toThrow(/^"fast" is not a delay$/);
  });

  it('refuses an empty side or an out-of-range value before opening anything', async () => {
    await expect(netApply(project, ['client1'], [], { kind: 'partition' })).rejects.toMatchObject({
      code: 'NXC_USAGE',
      exitCode: 2,
      message: 'nxc net partition: two sets of nodes are needed',
    });
    await expect(netApply(project, ['a'], ['b'], { kind: 'loss', percent: 140 })).rejects.toMatchObject({
      code: 'NXC_USAGE',
      message: 'nxc net loss: loss 140% is out of range',
    });
    await expect(netApply(project, ['a'], ['b'], { kind: 'delay', delayMs: 0 })).rejects.toMatchObject({
      code: 'NXC_USAGE',
    });
  });
});

describe('nxc net: the conditions file', () => {
  it('absent: no condition; corrupt: one line naming the file', async () => {
    expect(await readNetConditions(project, 'composition', 'docker')).toEqual([]);
    await mkdir(project.deployDir, { recursive: true });
    await writeFile(netPath(project, 'composition', 'docker'), '{"conditions": [{"kind": "jam"}]}');
    await expect(readNetConditions(project, 'composition', 'docker')).rejects.toMatchObject({
      code: 'NXC_DEPLOYMENT',
      message: expect.stringMatching(
        /composition::docker\.net\.json is not a network conditions file nxc wrote$/,
      ),
    });
  });

  it('is not mistaken for a deployment document', async () => {
    await mkdir(project.deployDir, { recursive: true });
    await writeFile(deploymentPath(project, 'composition', 'docker'), '{}');
    await writeFile(netPath(project, 'composition', 'docker'), '{"conditions": []}');
    expect((await listDeployments(project)).map((e) => `${e.composition}::${e.flavour}`)).toEqual([
      'composition::docker',
    ]);
  });
});

describe('nxc net on a deployment (a local plugin standing in for a flavour)', () => {
  /** Flavours `nonet` (no network capability) and `netted` (records calls, fails on "fail"). */
  async function deployed(flavour: 'nonet' | 'netted'): Promise<Project> {
    const root = project.root;
    await writeFile(
      join(root, 'fake.mjs'),
      `const calls = (globalThis.__nxcNetCalls ??= []);
const base = { stateSchema: { safeParse: (v) => ({ success: true, data: v }) }, stop: async () => {}, status: async () => [], transport: async () => ({}) };
const netted = { ...base, network: () => ({
  async apply(cs) { if (cs.some((c) => c.a.host === 'fail' || c.b.host === 'fail')) throw new Error('refused'); calls.push(['apply', cs]); },
  async clear(cs) { calls.push(['clear', cs]); },
}) };
export default { apiVersion: 2, name: 'fake', flavours: [
  { name: 'nonet', description: 'x', build: { image: 'docker' }, deployer: async () => base },
  { name: 'netted', description: 'x', build: { image: 'docker' }, deployer: async () => netted },
] };
`,
    );
    const p = makeProject(root, {
      plugins: ['./fake.mjs'],
      composition: 'composition.nix',
      nix: { flags: [], overrideInputs: {} },
      flavourOptions: {},
    });
    await mkdir(p.deployDir, { recursive: true });
    const node = (role: string, host: string) => ({ role, host });
    await writeFile(
      deploymentPath(p, 'composition', flavour),
      JSON.stringify({
        deployment: {
          '10.0.0.2': node('client', 'client1'),
          '10.0.0.3': node('client', 'client2'),
          '10.0.0.4': node('server', 'server'),
          '10.0.0.5': node('other', 'fail'),
        },
        'ssh_key.pub': '',
        composition: 'composition',
        flavour,
        user: 'root',
      }),
    );
    return p;
  }
  const calls = (): unknown[][] => {
    const g = globalThis as Record<string, unknown>;
    if (!g.__nxcNetCalls) g.__nxcNetCalls = [];
    return g.__nxcNetCalls as unknown[][];
  };

  it('a flavour without the capability: one line, exit 3, nothing recorded', async () => {
    const p = await deployed('nonet');
    await expect(netApply(p, ['@client'], ['server'], { kind: 'partition' })).rejects.toMatchObject({
      exitCode: 3,
      message: 'network conditions are not supported by the nonet flavour yet',
    });
    expect(existsSync(netPath(p, 'composition', 'nonet'))).toBe(false);
  });

  it('resolves targets into pairs, records them 0600 once, heals only what touches the targets', async () => {
    const p = await deployed('netted');
    calls().length = 0;
    const s = await netApply(p, ['@client'], ['server'], { kind: 'partition' });
    expect(s.conditions.map((c) => `${c.a.host}-${c.b.host}@${c.b.address}`)).toEqual([
      'client1-server@10.0.0.4',
      'client2-server@10.0.0.4',
    ]);
    const file = netPath(p, 'composition', 'netted');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // the same pair again (other way round) is not applied twice
    expect((await netApply(p, ['server'], ['client1'], { kind: 'partition' })).conditions).toHaveLength(2);
    expect(calls().filter((c) => c[0] === 'apply')).toHaveLength(1);
    await expect(netApply(p, ['client1'], ['@client'], { kind: 'partition' })).rejects.toMatchObject({
      message: 'node client1 is on both sides of the partition',
    });
    // a failing apply records nothing more
    await expect(netApply(p, ['fail'], ['server'], { kind: 'partition' })).rejects.toThrow('refused');
    expect((await readNetConditions(p, 'composition', 'netted')).length).toBe(2);
    const healed = await netHeal(p, ['client2']);
    expect(healed.conditions.map((c) => c.a.host)).toEqual(['client1']);
    expect((calls().at(-1)![1] as { a: { host: string } }[]).map((c) => c.a.host)).toEqual(['client2']);
    await netHeal(p);
    expect(existsSync(file)).toBe(false);
  });
});
