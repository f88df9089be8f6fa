import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeDocument, writeComposeFile } from './compose-file.js';
import { cgroupParentFor, nodeRuntime } from './containers.js';

const scope = { projectRoot: '/p', composition: 'composition', flavour: 'docker' };
const nodes = ['server', 'client1'].map((host, i) =>
  nodeRuntime({
    scope,
    deploymentId: 'd1',
    node: {
      host,
      role: host.replace(/\d+$/, ''),
      address: `172.18.2.${i + 2}`,
      init: `/nix/store/x-${host}/init`,
    },
    image: 'nxc-base:abc',
    network: 'nxc-composition-1234',
    deploymentFile: '/p/deploy/composition::docker.json',
    sharedVolume: 'nxc-composition-1234-shared',
    extras: {
      extraVolumes: [],
      dockerPorts: { server: [{ containerPort: 80, protocol: 'tcp', hostPort: 8080 }] },
      systemd: false,
    },
  }),
);
const input = {
  name: 'nxc-composition-1234',
  network: {
    name: 'nxc-composition-1234',
    subnet: '172.18.2.0/24',
    gateway: '172.18.2.1',
    labels: { 'nxc.flavour': 'docker' },
  },
  volumes: [{ name: 'nxc-composition-1234-shared', labels: { 'nxc.flavour': 'docker' } }],
  nodes,
};

describe('docker-compose file', () => {
  it('has one service per node with the same runtime as the containers nxc creates', () => {
    const doc = composeDocument(input) as {
      services: Record<string, Record<string, unknown>>;
      networks: Record<string, { name: string; ipam: unknown }>;
      volumes: Record<string, unknown>;
    };
    expect(Object.keys(doc.services)).toEqual(['server', 'client1']);
    const server = doc.services.server!;
    expect(server).toMatchObject({
      image: 'nxc-base:abc',
      hostname: 'server',
      command: ['/nix/store/x-server/init'],
      init: true,
      ports: [{ target: 80, protocol: 'tcp', published: 8080, host_ip: '127.0.0.1' }],
      networks: { nxc: { aliases: ['server'], ipv4_address: '172.18.2.2' } },
    });
    expect(server.volumes).toContainEqual({
      type: 'bind',
      source: '/p/deploy/composition::docker.json',
      target: '/etc/nxc/deployment.json',
      read_only: true,
    });
    expect(server.tmpfs).toContain('/run:rw,exec,mode=755');
    expect(doc.services.client1!.ports).toEqual([]);
    expect(doc.networks.nxc).toMatchObject({
      name: 'nxc-composition-1234',
      ipam: { config: [{ subnet: '172.18.2.0/24', gateway: '172.18.2.1' }] },
    });
    expect(Object.keys(doc.volumes)).toEqual(['nxc-composition-1234-shared']);
  });

  it('gives a systemd node the same confined cgroup setup as the containers nxc creates', () => {
    const rt = nodeRuntime({
      scope,
      deploymentId: 'd1',
      node: { host: 'server', role: 'server', address: '172.18.2.2', init: '/nix/store/x-server/init' },
      image: 'nxc-base:abc',
      network: 'nxc-composition-1234',
      deploymentFile: '/p/deploy/composition::docker.json',
      sharedVolume: 'nxc-composition-1234-shared',
      extras: { extraVolumes: [], dockerPorts: {}, systemd: true },
    });
    const doc = composeDocument({ ...input, nodes: [rt] }) as {
      services: Record<string, Record<string, unknown>>;
    };
    const parent = cgroupParentFor(scope);
    expect(doc.services.server).toMatchObject({
      init: false,
      cgroup: 'host',
      cgroup_parent: parent,
      cap_add: ['NET_ADMIN', 'NET_RAW'],
    });
    expect(doc.services.server!.tmpfs).toContain('/sys/fs/cgroup/systemd:rw,nosuid,nodev,noexec,mode=755');
    expect(doc.services.server!.volumes).toContainEqual({
      type: 'bind',
      source: `/sys/fs/cgroup/systemd${parent}`,
      target: `/sys/fs/cgroup/systemd${parent}`,
      read_only: false,
      bind: { create_host_path: true },
    });
  });

  it('writes docker-compose.json into the artifact folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nxc-compose-'));
    try {
      const file = await writeComposeFile(join(dir, 'artifact/composition/docker'), input);
      expect(file).toBe(join(dir, 'artifact/composition/docker/docker-compose.json'));
      expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(composeDocument(input));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
