/**
 * The end-to-end test, on the real engine with the REAL demo built by real Nix
 * (examples/demo, test OS): 1 server + 3 clients (`-r client=3`); each client fetches
 * http://server/ by hostname; status lists 4 running nodes; stop leaves no container,
 * network or volume with nxc's labels.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readComposeInfo, resolveNodes, parseRoleFlags, type ComposeInfo, type FlavourDeployer } from '@nxc/core';
import plugin from '../src/index.js';
import { projectHash } from '../src/labels.js';
import { buildDemo } from './demo-build.mjs';
import { engineObjects, harness, removeProject, tempProject } from './harness.js';

let deployer: FlavourDeployer;
let info: ComposeInfo;
const project = tempProject('nxc-docker-demo-');
const h = harness(project);
const hash = projectHash(project.root);

beforeAll(async () => {
  info = await readComposeInfo(buildDemo());
  deployer = await plugin.flavours[0]!.deployer();
});

afterAll(async () => {
  await deployer?.stop(await h.runningContext()).catch(() => {});
  removeProject(project);
});

describe('docker flavour with the real demo build', () => {
  it('runs 1 server + 3 clients; every client reaches the server by hostname', async () => {
    expect(info.flavour.name).toBe('docker');
    expect(info.all.docker_image).toMatch(/^\/nix\/store\/.*rootfs\.tar$/);
    const nodes = resolveNodes({ roles: Object.keys(info.roles), spec: parseRoleFlags(['client=3']) });
    expect(nodes.map((n) => n.host).sort()).toEqual(['client1', 'client2', 'client3', 'server']);

    const result = await deployer.start(h.startContext(info, nodes));
    expect(result.nodes.every((n) => n.state === 'running')).toBe(true);

    const transport = await deployer.transport(await h.runningContext());
    for (const client of ['client1', 'client2', 'client3']) {
      const r = await transport.exec(client, ['wget', '-qO-', 'http://server/']);
      expect(r, `${client}: ${r.stderr}`).toMatchObject({ exitCode: 0, stdout: 'hello from the nxc demo server\n' });
    }
    // the boot script found the node's own entry (by address) and recorded it
    const node = JSON.parse((await transport.exec('client2', ['cat', '/etc/nxc/node.json'])).stdout);
    expect(node).toMatchObject({ role: 'client', host: 'client2', address: result.nodes.find((n) => n.host === 'client2')!.address });
    // an interactive-style shell command finds a shell
    expect((await transport.exec('server', 'echo $((6 * 7))')).stdout).toBe('42\n');
    await transport.close();

    const status = await deployer.status(await h.runningContext());
    expect(status.filter((s) => s.state === 'running')).toHaveLength(4);
    expect(status.map((s) => `${s.host}:${s.role}`).sort()).toEqual([
      'client1:client',
      'client2:client',
      'client3:client',
      'server:server',
    ]);

    await deployer.stop(await h.runningContext());
    expect(await engineObjects(hash)).toEqual({ containers: [], networks: [], volumes: [] });
  });
});
