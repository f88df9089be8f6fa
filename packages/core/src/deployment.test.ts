import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComposeInfo } from './compose-info.js';
import {
  DEFAULT_KERNEL_DEPLOY_BUDGET,
  type DeployedNode,
  buildDeploymentDocument,
  decodeDeploymentParam,
  encodeDeploymentForKernel,
  nodeIdentities,
  readDeploymentDocument,
  writeDeploymentDocument,
} from './deployment.js';
import { NxcError } from './errors.js';
import { makeProject } from './project.js';

const S = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
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
  it('keys nodes by address with role, host, init and identity', () => {
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
        '10.0.0.2': {
          role: 'server',
          host: 'server',
          init: `${S}-server/init`,
          index: 1,
          globalIndex: 0,
          uuid: expect.stringMatching(UUID_V4),
        },
        '10.0.0.3': {
          role: 'agent',
          host: 'agent',
          init: '/nix/store/custom/init',
          index: 1,
          globalIndex: 1,
          uuid: expect.stringMatching(UUID_V4),
        },
      },
      'ssh_key.pub': 'ssh-ed25519 AAAA nxc',
      composition: 'composition',
      flavour: 'g5k-ramdisk',
      all: composeInfo.all,
      user: 'alice',
      parameters: { n: 3 },
    });
  });

  it('indexes nodes within their role from 1 (agent3 is 3) and in the deployment from 0', () => {
    const doc = buildDeploymentDocument({ composeInfo, nodes: cluster(4), sshPublicKey: 'k' });
    expect(Object.values(doc.deployment).map((n) => [n.host, n.index, n.globalIndex])).toEqual([
      ['server', 1, 0],
      ['agent1', 1, 1],
      ['agent2', 2, 2],
      ['agent3', 3, 3],
    ]);
  });

  it('gives every node its own random UUID, new at each build of the document', () => {
    const first = buildDeploymentDocument({ composeInfo, nodes: cluster(5), sshPublicKey: 'k' });
    const second = buildDeploymentDocument({ composeInfo, nodes: cluster(5), sshPublicKey: 'k' });
    const uuids = Object.values(first.deployment).map((n) => n.uuid);
    expect(new Set(uuids).size).toBe(5);
    for (const uuid of uuids) expect(uuid).toMatch(UUID_V4);
    expect(Object.values(second.deployment).map((n) => n.uuid)).not.toContain(uuids[0]);
  });

  it('reuses the UUIDs it is given by host, and generates the others', () => {
    const known = {
      server: '1B4E28BA-2FA1-41D2-883F-0016D3CCA427',
      agent2: '6fa459ea-ee8a-4ca4-894e-db77e160355e',
      gone: '16fd2706-8baf-433b-82eb-8c7fada847da',
    };
    const doc = buildDeploymentDocument({ composeInfo, nodes: cluster(3), sshPublicKey: 'k', uuids: known });
    const byHost = Object.fromEntries(Object.values(doc.deployment).map((n) => [n.host, n.uuid]));
    expect(byHost.server).toBe('1b4e28ba-2fa1-41d2-883f-0016d3cca427');
    expect(byHost.agent2).toBe(known.agent2);
    expect(byHost.agent1).toMatch(UUID_V4);
    expect(Object.values(byHost)).not.toContain(known.gone);
  });

  it('refuses a given UUID that is not one', () => {
    const error = catchSync(() =>
      buildDeploymentDocument({
        composeInfo,
        nodes: cluster(2),
        sshPublicKey: 'k',
        uuids: { agent1: 'abc' },
      }),
    );
    expect(error.code).toBe('NXC_USAGE');
    expect(error.message).toBe('node "agent1": "abc" is not a UUID');
  });

  it('keeps global parameters at the top and puts per-role and per-node values in the entries', () => {
    const doc = buildDeploymentDocument({
      composeInfo,
      nodes: cluster(3),
      sshPublicKey: 'k',
      parameters: { rate: 5, 'agent.rate': 10, 'agent2.rate': 20, 'server.mode': 'lead', 'db.url': 'x' },
    });
    expect(doc.parameters).toEqual({ rate: 5, 'db.url': 'x' });
    const own = Object.fromEntries(Object.values(doc.deployment).map((n) => [n.host, n.parameters]));
    expect(own).toEqual({ server: { mode: 'lead' }, agent1: { rate: 10 }, agent2: { rate: 20 } });
    expect(nodeIdentities(doc).map((n) => [n.host, n.parameters])).toEqual([
      ['server', { rate: 5, 'db.url': 'x', mode: 'lead' }],
      ['agent1', { rate: 10, 'db.url': 'x' }],
      ['agent2', { rate: 20, 'db.url': 'x' }],
    ]);
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

  it('gives the nodes of an original document their indexes by position, and no UUID', async () => {
    const project = makeProject(join(dir, 'p-old'), {
      plugins: [],
      composition: 'composition.nix',
      nix: { flags: [], overrideInputs: {} },
      flavourOptions: {},
    });
    await mkdir(project.deployDir, { recursive: true });
    const original = {
      'ssh_key.pub': 'ssh-rsa AAAA user@host',
      deployment: {
        '10.0.2.15': { role: 'server', host: 'server', vm_id: 0 },
        '10.0.2.16': { role: 'node', host: 'node1', vm_id: 1 },
        '10.0.2.17': { role: 'node', host: 'node2', vm_id: 2 },
      },
      parameters: { 'server.port': 80 },
    };
    await writeFile(join(project.deployDir, 'composition::vm.json'), JSON.stringify(original));
    const doc = await readDeploymentDocument(project, 'composition', 'vm');
    expect(nodeIdentities(doc)).toEqual([
      {
        address: '10.0.2.15',
        role: 'server',
        host: 'server',
        index: 1,
        globalIndex: 0,
        parameters: { 'server.port': 80 },
        disks: [],
      },
      {
        address: '10.0.2.16',
        role: 'node',
        host: 'node1',
        index: 1,
        globalIndex: 1,
        parameters: { 'server.port': 80 },
        disks: [],
      },
      {
        address: '10.0.2.17',
        role: 'node',
        host: 'node2',
        index: 2,
        globalIndex: 2,
        parameters: { 'server.port': 80 },
        disks: [],
      },
    ]);
  });

  it('nodeIdentities reads the identity a built document carries', () => {
    const doc = buildDeploymentDocument({
      composeInfo,
      nodes: cluster(3),
      sshPublicKey: 'k',
      uuids: { agent2: '6fa459ea-ee8a-4ca4-894e-db77e160355e' },
    });
    // Reordered entries (a document edited by hand): the recorded indexes win over positions.
    const reordered = { ...doc, deployment: Object.fromEntries(Object.entries(doc.deployment).reverse()) };
    const agent2 = nodeIdentities(reordered)[0]!;
    expect(agent2).toEqual({
      address: '172.16.20.3',
      role: 'agent',
      host: 'agent2',
      index: 2,
      globalIndex: 2,
      uuid: '6fa459ea-ee8a-4ca4-894e-db77e160355e',
      parameters: {},
      disks: [],
    });
  });

  it("gives each node its role's disks with the device the guest names them by; not on the kernel command line", () => {
    const withDisks: ComposeInfo = {
      ...composeInfo,
      roles: {
        ...composeInfo.roles,
        agent: { init: `${S}-agent/init`, disks: [{ id: 'data', size: '4G', bytes: 4 * 1024 ** 3 }] },
      },
    };
    const doc = buildDeploymentDocument({ composeInfo: withDisks, nodes: cluster(3), sshPublicKey: 'k' });
    const ids = nodeIdentities(doc);
    expect(ids.filter((n) => n.role === 'agent').map((n) => n.disks)).toEqual([
      [{ id: 'data', size: '4G', bytes: 4 * 1024 ** 3, device: '/dev/disk/by-id/virtio-data' }],
      [{ id: 'data', size: '4G', bytes: 4 * 1024 ** 3, device: '/dev/disk/by-id/virtio-data' }],
    ]);
    expect(ids.find((n) => n.role === 'server')?.disks).toEqual([]);
    expect(Object.values(doc.deployment).find((e) => e.role === 'server')).not.toHaveProperty('disks');
    const { value } = encodeDeploymentForKernel(doc);
    expect(gunzipSync(Buffer.from(value.slice(3), 'base64')).toString()).not.toContain('disks');
  });

  it('a node whose disks have their path on the machine (diskPaths, g5k-image) keeps them on the kernel command line; the others do not', () => {
    const withDisks: ComposeInfo = {
      ...composeInfo,
      roles: {
        ...composeInfo.roles,
        agent: { init: `${S}-agent/init`, disks: [{ id: 'data', size: '4G', bytes: 4 * 1024 ** 3 }] },
      },
    };
    const [server, agent1, agent2] = cluster(3) as [DeployedNode, DeployedNode, DeployedNode];
    const doc = buildDeploymentDocument({
      composeInfo: withDisks,
      nodes: [
        server,
        {
          ...agent1,
          diskDevices: { data: '/dev/disk/by-nxc/data' },
          diskPaths: { data: '/dev/disk/by-path/pci-0000:00:1f.0-ata-2' },
        },
        agent2,
      ],
      sshPublicKey: 'k',
    });
    const path = '/dev/disk/by-path/pci-0000:00:1f.0-ata-2';
    const disk = { id: 'data', size: '4G', bytes: 4 * 1024 ** 3, device: '/dev/disk/by-nxc/data', path };
    expect(doc.deployment[agent1.address]?.disks).toEqual([disk]);
    expect(doc.deployment[agent2.address]?.disks?.[0]).not.toHaveProperty('path');
    const decoded = decodeDeploymentParam(encodeDeploymentForKernel(doc).value);
    expect(decoded.deployment[agent1.address]?.disks).toEqual([disk]);
    expect(decoded.deployment[agent2.address]).not.toHaveProperty('disks');
    expect(decoded.deployment[server.address]).not.toHaveProperty('disks');
  });

  it("a flavour may name the disks its own way per node (diskDevices, e.g. /dev/disk/by-nxc/<id> on Grid'5000)", () => {
    const withDisks: ComposeInfo = {
      ...composeInfo,
      roles: {
        ...composeInfo.roles,
        agent: {
          init: `${S}-agent/init`,
          disks: [
            { id: 'data', size: '4G', bytes: 4 * 1024 ** 3 },
            { id: 'logs', size: '1G', bytes: 1024 ** 3 },
          ],
        },
      },
    };
    const nodes = cluster(2).map((n) =>
      n.role === 'agent' ? { ...n, diskDevices: { data: '/dev/disk/by-nxc/data' } } : n,
    );
    const doc = buildDeploymentDocument({ composeInfo: withDisks, nodes, sshPublicKey: 'k' });
    const agent = nodeIdentities(doc).find((n) => n.role === 'agent');
    expect(agent?.disks.map((d) => d.device)).toEqual([
      '/dev/disk/by-nxc/data',
      '/dev/disk/by-id/virtio-logs',
    ]);
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
    [
      'bad uuid',
      '{"deployment": {"1.2.3.4": {"role": "a", "host": "a", "uuid": "x"}}, "ssh_key.pub": "k"}',
      /composition::docker.json: deployment\["1.2.3.4"\].uuid: expected a UUID/,
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
  // Measured: a node's UUID costs ~31 bytes there (random hex does not compress); 28 nodes fit.
  it('24 nodes with realistic addresses, hostnames, UUIDs and an ed25519 key fit in the default budget', () => {
    const doc = buildDeploymentDocument({
      composeInfo,
      nodes: cluster(24),
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

  it('gz: round-trips without all and per-node init, with the identity and per-node parameters', () => {
    const doc = buildDeploymentDocument({
      composeInfo,
      nodes: cluster(4),
      sshPublicKey: ed25519Line(),
      user: 'alice',
      parameters: { mode: 'bench', 'agent3.mode': 'idle' },
    });
    const decoded = decodeDeploymentParam(encodeDeploymentForKernel(doc).value);
    expect(decoded.all).toBeUndefined();
    const server = doc.deployment['172.16.20.1']!;
    expect(decoded.deployment['172.16.20.1']).toEqual({
      role: 'server',
      host: 'server',
      index: 1,
      globalIndex: 0,
      uuid: server.uuid,
    });
    expect(decoded.deployment['172.16.20.4']?.parameters).toEqual({ mode: 'idle' });
    expect(decoded).toEqual({
      ...doc,
      all: undefined,
      deployment: Object.fromEntries(
        Object.entries(doc.deployment).map(([a, { init: _init, ...n }]) => [a, n]),
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
    expect(JSON.parse(json).deployment['172.16.20.32']).toEqual({
      role: 'agent',
      host: 'agent31',
      index: 31,
      globalIndex: 31,
      uuid: doc.deployment['172.16.20.32']!.uuid,
    });
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
