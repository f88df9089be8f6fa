/**
 * Docker specifics on the real engine, with a compose info made without Nix: 1 server + 3
 * clients by hostname, the boot contract as a container sees it, copies through the archive
 * API and through the node's tar, the compose file, a stopped container, stop at deployer
 * level. The contract itself (exec, shell, copies, logs, node control, stop, abort) is
 * checked by the conformance kit: conformance.test.ts.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ComposeInfo, LogLine } from '@nxc/core';
import { type FlavourDeployer, statePath } from '@nxc/core/flavour';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import plugin from '../src/index.js';
import { containerName, projectHash } from '../src/labels.js';
import { fakeBuild } from './fake-build.mjs';
import { engineObjects, harness, plan, removeProject, tempProject } from './harness.js';

const flavour = plugin.flavours[0]!;
let deployer: FlavourDeployer;
let info: ComposeInfo;
let buildDir: string;
const project = tempProject();
const h = harness(project);
const hash = projectHash(project.root);

beforeAll(async () => {
  expect(await flavour.usable!({ project })).toBeUndefined();
  deployer = await flavour.deployer();
  buildDir = mkdtempSync(join(tmpdir(), 'nxc-fake-build-'));
  info = fakeBuild(buildDir);
});

afterAll(async () => {
  await deployer?.stop(await h.runningContext()).catch(() => {});
  removeProject(project);
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
});

describe('docker flavour on the real engine', () => {
  it('starts 1 server + 3 clients, each client reaches http://server/ by hostname', async () => {
    const nodes = plan({ server: 1, client: 3 });
    const result = await deployer.start(h.startContext(info, nodes));
    expect(result.nodes.map((n) => [n.host, n.state])).toEqual([
      ['server', 'running'],
      ['client1', 'running'],
      ['client2', 'running'],
      ['client3', 'running'],
    ]);
    // the deployment document is keyed by the nodes' real addresses
    const doc = JSON.parse(readFileSync(h.deploymentFile(), 'utf8'));
    expect(Object.keys(doc.deployment).sort()).toEqual(result.nodes.map((n) => n.address).sort());
    expect(h.events.filter((e) => e.type === 'node' && e.state === 'ready')).toHaveLength(4);

    const transport = await deployer.transport(await h.runningContext());
    try {
      for (const client of ['client1', 'client2', 'client3']) {
        const r = await transport.exec(client, 'wget -qO- http://server/');
        expect(r, client).toEqual({ exitCode: 0, stdout: 'hello from server\n', stderr: '' });
      }
      // the node sees its own address, the deployment and the store as the boot contract says
      const server = result.nodes.find((n) => n.host === 'server')!;
      const ip = await transport.exec('server', [
        'sh',
        '-c',
        'ip -4 -o addr show eth0; test -e /run/nxc/ready && echo READY',
      ]);
      expect(ip.stdout).toContain(`${server.address}/`);
      expect(ip.stdout).toContain('READY');
      const ro = await transport.exec('client1', 'touch /nix/store/x; echo $NXC_FLAVOUR');
      expect(ro.exitCode).toBe(0);
      expect(ro.stderr).toMatch(/Read-only file system/);
      expect(ro.stdout).toBe('docker\n');
      // copies through the archive API
      const local = mkdtempSync(join(tmpdir(), 'nxc-copy-'));
      try {
        writeFileSync(join(local, 'in.txt'), 'copied in\n');
        await transport.copyTo('client3', join(local, 'in.txt'), '/tmp/sub/dir/file.txt');
        expect((await transport.exec('client3', 'cat /tmp/sub/dir/file.txt')).stdout).toBe('copied in\n');
        await transport.copyFrom('server', '/var/www/index.html', join(local, 'out', 'page.html'));
        expect(readFileSync(join(local, 'out', 'page.html'), 'utf8')).toBe('hello from server\n');
        // directories, through the archive API (/root) and through the node's tar (/tmp is a tmpfs)
        mkdirSync(join(local, 'tree/sub'), { recursive: true });
        writeFileSync(join(local, 'tree/sub/a'), 'A');
        await transport.copyTo('client3', join(local, 'tree'), '/root/tree2');
        expect((await transport.exec('client3', 'cat /root/tree2/sub/a')).stdout).toBe('A');
        await transport.copyFrom('client3', '/tmp/sub', join(local, 'back'));
        expect(readFileSync(join(local, 'back/dir/file.txt'), 'utf8')).toBe('copied in\n');
        await transport.copyFrom('client3', '/root/tree2', join(local, 'back2'));
        expect(readFileSync(join(local, 'back2/sub/a'), 'utf8')).toBe('A');
      } finally {
        rmSync(local, { recursive: true, force: true });
      }
    } finally {
      await transport.close();
    }
  });

  it('wrote the equivalent docker-compose file', () => {
    const file = join(project.artifactDir, 'composition', 'docker', 'docker-compose.json');
    const compose = JSON.parse(readFileSync(file, 'utf8'));
    expect(Object.keys(compose.services)).toEqual(['server', 'client1', 'client2', 'client3']);
  });

  it('reports a node whose container stopped as unreachable', async () => {
    const transport = await deployer.transport(await h.runningContext());
    await new Docker()
      .getContainer(
        containerName(
          { projectRoot: project.root, composition: 'composition', flavour: 'docker' },
          'client3',
        ),
      )
      .stop({ t: 0 });
    await expect(transport.exec('client3', 'true')).rejects.toMatchObject({
      code: 'NXC_NODE_UNREACHABLE',
      message: 'node client3 is not running (its container is stopped)',
    });
    const status = await deployer.status(await h.runningContext());
    expect(status.find((s) => s.host === 'client3')?.state).toBe('exited');
  });

  it("the harness checks the state with the deployer's stateSchema, both ways, as core does", async () => {
    const file = statePath(project, 'composition', 'docker');
    const saved = readFileSync(file, 'utf8');
    const ctx = h.startContext(info, plan({ server: 1 }));
    await expect(ctx.saveState({ ...JSON.parse(saved), volumes: 'none' })).rejects.toThrow(
      /^flavour docker saved a state its stateSchema refuses: volumes: /,
    );
    expect(readFileSync(file, 'utf8')).toBe(saved);
    try {
      writeFileSync(file, JSON.stringify({ ...JSON.parse(saved), network: null }));
      await expect(h.runningContext()).rejects.toMatchObject({
        code: 'NXC_DEPLOYMENT',
        message: expect.stringMatching(/: not a state of flavour docker \(network: /),
      });
    } finally {
      writeFileSync(file, saved);
    }
  });

  it('stops at deployer level: nothing with nxc labels, nodes reported stopped, the document kept for core', async () => {
    expect((await engineObjects(hash)).containers).toHaveLength(4);
    await deployer.stop(await h.runningContext());
    expect(await engineObjects(hash)).toEqual({ containers: [], networks: [], volumes: [] });
    const status = await deployer.status(await h.runningContext());
    expect(status.map((s) => s.state)).toEqual(['stopped', 'stopped', 'stopped', 'stopped']);
    expect(existsSync(h.deploymentFile())).toBe(true);
  });
});
