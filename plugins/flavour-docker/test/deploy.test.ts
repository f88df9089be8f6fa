/**
 * End to end on the real Docker engine: 1 server + 3 clients, each client fetches the
 * server's page by hostname, status/logs/copies work, stop leaves nothing behind.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ComposeInfo, LogLine } from '@nxc/core';
import type { FlavourDeployer } from '@nxc/core/flavour';
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
      // exit codes, stderr, stdin
      expect(await transport.exec('client2', 'echo oops >&2; exit 7')).toEqual({
        exitCode: 7,
        stdout: '',
        stderr: 'oops\n',
      });
      expect((await transport.exec('client2', 'cat', { stdin: 'from stdin' })).stdout).toBe('from stdin');
      await expect(transport.exec('nope', 'true')).rejects.toMatchObject({ code: 'NXC_NODE_UNKNOWN' });

      // interactive shell: a real TTY whose size follows resize()
      const stdin = new PassThrough();
      const stdout = new PassThrough();
      let screen = '';
      stdout.on('data', (d: Buffer) => {
        screen += d.toString();
      });
      const session = await transport.shell('client1', { stdin, stdout, columns: 100, rows: 30 });
      const until = async (text: string) => {
        for (let i = 0; i < 100 && !screen.includes(text); i++) await new Promise((r) => setTimeout(r, 50));
        expect(screen).toContain(text);
      };
      stdin.write('tty; stty size; echo "$(hostname)-ok"\n');
      await until('30 100');
      await until('client1-ok');
      expect(screen).toMatch(/\/dev\/pts\/\d+/);
      session.resize(120, 40);
      await new Promise((r) => setTimeout(r, 200));
      stdin.write('stty size; exit 3\n');
      expect(await session.exited).toBe(3);
      expect(screen).toContain('40 120');

      // copies through the archive API
      const local = mkdtempSync(join(tmpdir(), 'nxc-copy-'));
      try {
        writeFileSync(join(local, 'in.txt'), 'copied in\n');
        await transport.copyTo('client3', join(local, 'in.txt'), '/tmp/sub/dir/file.txt');
        expect((await transport.exec('client3', 'cat /tmp/sub/dir/file.txt')).stdout).toBe('copied in\n');
        await transport.copyFrom('server', '/var/www/index.html', join(local, 'out', 'page.html'));
        expect(readFileSync(join(local, 'out', 'page.html'), 'utf8')).toBe('hello from server\n');
        await expect(transport.copyFrom('server', '/nonexistent', join(local, 'x'))).rejects.toMatchObject({
          code: 'NXC_IO',
        });
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

  it('reports 4 running nodes with role, address and uptime', async () => {
    const status = await deployer.status(await h.runningContext());
    expect(status).toHaveLength(4);
    for (const s of status) {
      expect(s.state).toBe('running');
      expect(s.address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(s.uptimeSeconds).toBeGreaterThanOrEqual(0);
    }
    expect(status.map((s) => s.role).sort()).toEqual(['client', 'client', 'client', 'server']);
  });

  it('shows per-node logs', async () => {
    const lines: LogLine[] = [];
    for await (const line of deployer.logs!(await h.runningContext(), { follow: false })) lines.push(line);
    for (const host of ['server', 'client1', 'client2', 'client3']) {
      expect(lines).toContainEqual({ host, stream: 'stdout', line: `NXC_READY ${host}` });
    }
    // follow: stops when the signal aborts
    const ac = new AbortController();
    const followed: LogLine[] = [];
    for await (const line of deployer.logs!(await h.runningContext(), {
      follow: true,
      hosts: ['server'],
      signal: ac.signal,
    })) {
      followed.push(line);
      if (line.line.startsWith('NXC_READY')) ac.abort();
    }
    expect(followed.at(-1)).toEqual({ host: 'server', stream: 'stdout', line: 'NXC_READY server' });
  });

  it('wrote the equivalent docker-compose file', () => {
    const file = join(project.artifactDir, 'composition', 'docker', 'docker-compose.json');
    const compose = JSON.parse(readFileSync(file, 'utf8'));
    expect(Object.keys(compose.services)).toEqual(['server', 'client1', 'client2', 'client3']);
  });

  it('controls single nodes for test scripts: crash, start again (ready, reachable), shutdown', async () => {
    const control = await deployer.nodeControl!(await h.runningContext());
    const stateOf = async (host: string) =>
      (await deployer.status(await h.runningContext())).find((s) => s.host === host)?.state;
    await control.crash!('client2');
    expect(await stateOf('client2')).toBe('exited');
    await control.start!('client2');
    expect(await stateOf('client2')).toBe('running');
    const transport = await deployer.transport(await h.runningContext());
    expect((await transport.exec('client2', 'wget -qO- http://server/')).stdout).toBe('hello from server\n');
    await control.shutdown!('client2');
    expect(await stateOf('client2')).toBe('exited');
    await control.start!('client2');
    expect(await stateOf('client2')).toBe('running');
    await expect(control.crash!('nope')).rejects.toMatchObject({ code: 'NXC_NODE_UNKNOWN' });
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

  it('stops, leaving no container, network or volume with nxc labels; stop is idempotent', async () => {
    expect((await engineObjects(hash)).containers).toHaveLength(4);
    await deployer.stop(await h.runningContext());
    expect(await engineObjects(hash)).toEqual({ containers: [], networks: [], volumes: [] });
    await deployer.stop(await h.runningContext());
    const status = await deployer.status(await h.runningContext());
    expect(status.map((s) => s.state)).toEqual(['stopped', 'stopped', 'stopped', 'stopped']);
    expect(existsSync(h.deploymentFile())).toBe(true);
  });
});
