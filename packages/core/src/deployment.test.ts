import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComposeInfo } from './compose-info.js';
import {
  DEFAULT_KERNEL_DEPLOY_BUDGET,
  type DeployedNode,
  buildDeploymentDocument,
  decodeDeploymentParam,
  encodeDeploymentForKernel,
  readDeploymentDocument,
  writeDeploymentDocument,
} from './deployment.js';
import { NxcError } from './errors.js';
import { makeProject } from './project.js';

const S = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz';
const composeInfo: ComposeInfo = {
  source: '/p/build/composition::g5k-ramdisk',
  format: 'nxc',
  composition: 'composition',
  flavour: { name: 'g5k-ramdisk', image: 'ramdisk' },
  roles: { server: { init: `${S}-server/init` }, agent: { init: `${S}-agent/init` } },
  all: { kernel: `${S}-image/kernel`, initrd: `${S}-initrd/initrd` },
  extra: {},
};

/** A real ed25519 public key line, as ssh-ed25519 AAAA... */
function ed25519Line(): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const type = Buffer.from('ssh-ed25519');
  const blob = Buffer.concat([Buffer.from([0, 0, 0, type.length]), type, Buffer.from([0, 0, 0, 32]), raw]);
  return `ssh-ed25519 ${blob.toString('base64')} nxc@composition`;
}

/** `count` nodes on a G5K-like network: server + agent1..agentN-1. */
function cluster(count: number): DeployedNode[] {
  return Array.from({ length: count }, (_, i) => ({
    address: `172.16.${20 + Math.floor(i / 250)}.${(i % 250) + 1}`,
    role: i === 0 ? 'server' : 'agent',
    host: i === 0 ? 'server' : `agent${i}`,
  }));
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nxc-dep-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function catchSync(fn: () => unknown): NxcError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(NxcError);
    return error as NxcError;
  }
  throw new Error('expected an NxcError');
}

describe('buildDeploymentDocument', () => {
  it('keys nodes by address with role, host and init', () => {
    const doc = buildDeploymentDocument({
      composeInfo,
      nodes: [
        { address: '10.0.0.2', role: 'server', host: 'server' },
        { address: '10.0.0.3', role: 'agent', host: 'agent', init: '/nix/store/custom/init' },
      ],
      sshPublicKey: 'ssh-ed25519 AAAA nxc\n',
      user: 'alice',
      parameters: { n: 3 },
    });
    expect(doc).toEqual({
      deployment: {
        '10.0.0.2': { role: 'server', host: 'server', init: `${S}-server/init` },
        '10.0.0.3': { role: 'agent', host: 'agent', init: '/nix/store/custom/init' },
      },
      'ssh_key.pub': 'ssh-ed25519 AAAA nxc',
      composition: 'composition',
      flavour: 'g5k-ramdisk',
      all: composeInfo.all,
      user: 'alice',
      parameters: { n: 3 },
    });
  });

  it('defaults the user to the current one', () => {
    const doc = buildDeploymentDocument({ composeInfo, nodes: [], sshPublicKey: 'k' });
    expect(doc.user).toMatch(/\S/);
    expect(doc.parameters).toBeUndefined();
  });

  it.each([
    [
      'same address twice',
      [
        { address: '10.0.0.2', role: 'server', host: 'server' },
        { address: '10.0.0.2', role: 'agent', host: 'agent' },
      ],
      /nodes "server" and "agent" have the same address 10.0.0.2/,
    ],
    [
      'unknown role',
      [{ address: '10.0.0.2', role: 'db', host: 'db' }],
      /node "db": role "db" is not in .* \(roles: server, agent\)/,
    ],
  ])('%s', (_name, nodes, expected) => {
    const error = catchSync(() => buildDeploymentDocument({ composeInfo, nodes, sshPublicKey: 'k' }));
    expect(error.code).toBe('NXC_DEPLOYMENT');
    expect(error.message).toMatch(expected);
  });
});

describe('write/readDeploymentDocument', () => {
  it('round-trips through deploy/<comp>::<flavour>.json, atomically', async () => {
    const project = makeProject(join(dir, 'p1'), {
      plugins: [],
      composition: 'composition.nix',
      nix: { flags: [], overrideInputs: {} },
      flavourOptions: {},
    });
    const doc = buildDeploymentDocument({
      composeInfo,
      nodes: cluster(3),
      sshPublicKey: ed25519Line(),
      user: 'bob',
    });
    const path = await writeDeploymentDocument(project, 'composition', 'g5k-ramdisk', doc);
    expect(path).toBe(join(dir, 'p1/deploy/composition::g5k-ramdisk.json'));
    expect(await readdir(join(dir, 'p1/deploy'))).toEqual(['composition::g5k-ramdisk.json']);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(doc);
    expect(await readDeploymentDocument(project, 'composition', 'g5k-ramdisk')).toEqual(doc);
    // Overwriting replaces the whole document.
    await writeDeploymentDocument(project, 'composition', 'g5k-ramdisk', { ...doc, user: 'carol' });
    expect((await readDeploymentDocument(project, 'composition', 'g5k-ramdisk')).user).toBe('carol');
    expect(await readdir(join(dir, 'p1/deploy'))).toHaveLength(1);
  });

  it('is readable by its owner only: it carries the -p parameters', async () => {
    const project = makeProject(join(dir, 'p-mode'), {
      plugins: [],
      composition: 'composition.nix',
      nix: { flags: [], overrideInputs: {} },
      flavourOptions: {},
    });
    const doc = buildDeploymentDocument({
      composeInfo,
      nodes: cluster(1),
      sshPublicKey: ed25519Line(),
      user: 'bob',
      parameters: { secret: 's3cr3t' },
    });
    const path = await writeDeploymentDocument(project, 'composition', 'docker', doc);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('a failed write leaves no temporary file behind', async () => {
    const project = makeProject(join(dir, 'p-fail'), {
      plugins: [],
      composition: 'composition.nix',
      nix: { flags: [], overrideInputs: {} },
      flavourOptions: {},
    });
    // The target is a non-empty directory: the rename fails.
    await mkdir(join(project.deployDir, 'composition::docker.json/x'), { recursive: true });
    const doc = buildDeploymentDocument({ composeInfo, nodes: cluster(1), sshPublicKey: 'k' });
    const error = await writeDeploymentDocument(project, 'composition', 'docker', doc).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NxcError);
    expect((error as NxcError).code).toBe('NXC_IO');
    expect((error as NxcError).message).toMatch(
      /cannot write .*composition::docker.json \((EISDIR|ENOTEMPTY|EEXIST)\)/,
    );
    expect(await readdir(project.deployDir)).toEqual(['composition::docker.json']);
  });

  it('reads what the original nxc wrote (no flavour, extra keys kept)', async () => {
    const project = makeProject(join(dir, 'p2'), {
      plugins: [],
      composition: 'composition.nix',
      nix: { flags: [], overrideInputs: {} },
      flavourOptions: {},
    });
    await mkdir(project.deployDir, { recursive: true });
    const original = {
      'ssh_key.pub': 'ssh-rsa AAAA user@host',
      deployment: { '10.0.2.15': { role: 'server', host: 'server', vm_id: 0, init: `${S}-server/init` } },
      all: { kernel: `${S}-k` },
      composition: 'composition',
      user: 'alice',
      compositions_info_path: `${S}-ci.json`,
    };
    await writeFile(join(project.deployDir, 'composition::vm.json'), JSON.stringify(original));
    const doc = await readDeploymentDocument(project, 'composition', 'vm');
    expect(doc.flavour).toBe('');
    expect(doc.deployment['10.0.2.15']).toMatchObject({ role: 'server', vm_id: 0 });
    expect((doc as unknown as Record<string, unknown>).compositions_info_path).toBe(`${S}-ci.json`);
  });

  it.each([
    [
      'missing',
      undefined,
      /no deployment of composition::docker \(.*composition::docker.json does not exist\)/,
      /nxc start/,
    ],
    ['not JSON', '{', /composition::docker.json: not valid JSON/, /nxc stop/],
    [
      'bad field',
      '{"deployment": {"1.2.3.4": {"role": "a"}}, "ssh_key.pub": "k"}',
      /composition::docker.json: deployment\["1.2.3.4"\].host: missing/,
      /nxc stop/,
    ],
  ])('%s -> NXC_DEPLOYMENT', async (_name, content, expected, hint) => {
    const project = makeProject(join(dir, `p-${_name.replace(/ /g, '')}`), {
      plugins: [],
      composition: 'composition.nix',
      nix: { flags: [], overrideInputs: {} },
      flavourOptions: {},
    });
    if (content !== undefined) {
      await mkdir(project.deployDir, { recursive: true });
      await writeFile(join(project.deployDir, 'composition::docker.json'), content);
    }
    const error = await readDeploymentDocument(project, 'composition', 'docker').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NxcError);
    expect((error as NxcError).code).toBe('NXC_DEPLOYMENT');
    expect((error as NxcError).message).toMatch(expected);
    expect((error as NxcError).hint).toMatch(hint);
  });
});

describe('kernel command line encoding', () => {
  it('32 nodes with realistic addresses, hostnames and an ed25519 key fit in the default budget', () => {
    const doc = buildDeploymentDocument({
      composeInfo,
      nodes: cluster(32),
      sshPublicKey: ed25519Line(),
      user: 'alice',
    });
    const encoded = encodeDeploymentForKernel(doc);
    expect(DEFAULT_KERNEL_DEPLOY_BUDGET).toBe(1536);
    expect(encoded.fits).toBe(true);
    expect(encoded.length).toBe(`deploy=${encoded.value}`.length);
    expect(encoded.length).toBeLessThanOrEqual(1536);
    expect(encoded.value).toMatch(/^gz:[A-Za-z0-9+/]+=*$/);
  });

  it('300 nodes do not fit (serve it over HTTP)', () => {
    const doc = buildDeploymentDocument({ composeInfo, nodes: cluster(300), sshPublicKey: ed25519Line() });
    const encoded = encodeDeploymentForKernel(doc);
    expect(encoded.fits).toBe(false);
    expect(encoded.length).toBeGreaterThan(1536);
  });

  it('a custom budget decides fits', () => {
    const doc = buildDeploymentDocument({ composeInfo, nodes: cluster(2), sshPublicKey: ed25519Line() });
    const { length } = encodeDeploymentForKernel(doc);
    expect(encodeDeploymentForKernel(doc, { budget: length }).fits).toBe(true);
    expect(encodeDeploymentForKernel(doc, { budget: length - 1 }).fits).toBe(false);
  });

  it('gz: round-trips without all and per-node init', () => {
    const doc = buildDeploymentDocument({
      composeInfo,
      nodes: cluster(4),
      sshPublicKey: ed25519Line(),
      user: 'alice',
      parameters: { mode: 'bench' },
    });
    const decoded = decodeDeploymentParam(encodeDeploymentForKernel(doc).value);
    expect(decoded.all).toBeUndefined();
    expect(decoded.deployment['172.16.20.1']).toEqual({ role: 'server', host: 'server' });
    expect(decoded).toEqual({
      ...doc,
      all: undefined,
      deployment: Object.fromEntries(
        Object.entries(doc.deployment).map(([a, n]) => [a, { role: n.role, host: n.host }]),
      ),
    });
    expect(decodeDeploymentParam(`deploy=${encodeDeploymentForKernel(doc).value}`).user).toBe('alice');
  });

  it('decodes on a node the way the boot script does (busybox base64 -d | gzip -dc)', () => {
    const doc = buildDeploymentDocument({
      composeInfo,
      nodes: cluster(32),
      sshPublicKey: ed25519Line(),
      user: 'alice',
    });
    const { value } = encodeDeploymentForKernel(doc);
    const json = execFileSync(
      'sh',
      ['-c', 'printf %s "${1#gz:}" | busybox base64 -d | busybox gzip -dc', 'sh', value],
      {
        encoding: 'utf8',
      },
    );
    expect(JSON.parse(json)).toEqual(decodeDeploymentParam(value));
    expect(JSON.parse(json).deployment['172.16.20.32']).toEqual({ role: 'agent', host: 'agent31' });
  });

  it('decodes the original plain base64 JSON', () => {
    const original = {
      'ssh_key.pub': 'ssh-rsa AAAA',
      deployment: { '10.0.0.1': { role: 'node', host: 'node1' } },
      user: 'u',
    };
    const decoded = decodeDeploymentParam(Buffer.from(JSON.stringify(original)).toString('base64'));
    expect(decoded.deployment).toEqual(original.deployment);
    expect(decoded.composition).toBe('composition');
  });

  it.each([
    ['http://10.0.0.1:8000/deploy.json', /deploy=http:\/\/10.0.0.1:8000\/deploy.json is an URL/],
    ['https://example.org/d.json', /is an URL/],
    ['gz:AAAA', /deploy= \(gz:\): not a deployment/],
    ['not base64 at all!', /deploy= \(base64\): not a deployment/],
    [
      Buffer.from('{"deployment": 3}').toString('base64'),
      /deploy= \(base64\): deployment: expected object, got number/,
    ],
  ])('%s -> NXC_USAGE', (value, expected) => {
    const error = catchSync(() => decodeDeploymentParam(value));
    expect(error.code).toBe('NXC_USAGE');
    expect(error.message).toMatch(expected);
  });
});
