/**
 * `nxc start --compose-info FILE` with a compose info of the original nxc's docker dialect
 * (roles as a list, `docker-compose-file`, `image`): its extra volumes and published ports
 * come from that docker-compose file, and its containers run in systemd mode as they did.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ComposeInfo, readComposeInfo } from '@nxc/core';
import type { FlavourDeployer } from '@nxc/core/flavour';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import plugin from '../src/index.js';
import { containerName, projectHash } from '../src/labels.js';
import { fakeBuild } from './fake-build.mjs';
import { engineObjects, harness, plan, removeProject, tempProject } from './harness.js';

let deployer: FlavourDeployer;
let info: ComposeInfo;
let dir: string;
let systemEnv: string;
const project = tempProject();
const h = harness(project);

beforeAll(async () => {
  deployer = await plugin.flavours[0]!.deployer();
  dir = mkdtempSync(join(tmpdir(), 'nxc-original-'));
  const fake = fakeBuild(join(dir, 'build'));
  // what the original puts at /run/system: a store path
  writeFileSync(join(dir, 'nxc-container-system-env'), 'env\n');
  systemEnv = execFileSync('nix-store', ['--add', join(dir, 'nxc-container-system-env')], {
    encoding: 'utf8',
  }).trim();
  const service = (role: string) => ({
    cap_add: ['SYS_ADMIN'],
    command: [fake.roles[role]!.init],
    hostname: role,
    volumes: [
      '/sys/fs/cgroup:/sys/fs/cgroup:rw',
      '/nix/store:/nix/store:ro',
      `${systemEnv}:/run/system:ro`,
      '/tmp/shared:/tmp/shared:rw',
      'nxc-shared:/var/nxc/shared',
    ],
    ports: role === 'server' ? ['80'] : [],
  });
  writeFileSync(
    join(dir, 'docker-compose'),
    JSON.stringify({
      version: '3.4',
      services: { server: service('server'), client: service('client') },
      volumes: { 'nxc-shared': null },
    }),
  );
  const composeFile = execFileSync('nix-store', ['--add', join(dir, 'docker-compose')], {
    encoding: 'utf8',
  }).trim();
  const file = join(dir, 'compose-info.json');
  writeFileSync(
    file,
    JSON.stringify({
      image: fake.all.docker_image,
      roles: ['client', 'server'],
      'docker-compose-file': composeFile,
      flavour: 'docker',
    }),
  );
  info = await readComposeInfo(file);
});

afterAll(async () => {
  await deployer?.stop(await h.runningContext()).catch(() => {});
  removeProject(project);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** This host's first non-loopback IPv4 address (what another machine would connect to). */
function lanAddress(): string {
  const lan = Object.values(networkInterfaces())
    .flat()
    .find((a) => a?.family === 'IPv4' && !a.internal)?.address;
  if (!lan) throw new Error('this test needs a non-loopback IPv4 address on the host');
  return lan;
}

/** Body of http://ADDRESS:PORT/, or `error: <code>` when the connection fails. */
async function fetchFrom(address: string, port: string | undefined): Promise<string> {
  try {
    const res = await fetch(`http://${address}:${port}/`, { signal: AbortSignal.timeout(5000) });
    return await res.text();
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause;
    return `error: ${cause?.code ?? (e as Error).name}`;
  }
}

describe("compose info of the original nxc's docker dialect", () => {
  it('runs with its extra volumes and published ports, in systemd mode', async () => {
    expect(info.format).toBe('nxc-python-docker');
    await deployer.start(h.startContext(info, plan({ server: 1, client: 1 })));
    const transport = await deployer.transport(await h.runningContext());
    expect((await transport.exec('client', 'wget -qO- http://server/')).stdout).toBe('hello from server\n');
    expect((await transport.exec('client', 'cat /run/system')).stdout).toBe('env\n');
    const scope = { projectRoot: project.root, composition: info.composition, flavour: 'docker' };
    const server = await new Docker().getContainer(containerName(scope, 'server')).inspect();
    expect(server.HostConfig.Init).toBe(false);
    const published = server.NetworkSettings.Ports['80/tcp'];
    expect(Number(published?.[0]?.HostPort)).toBeGreaterThan(0);
    // the published port reaches the server's httpd from the host
    const page = execFileSync('busybox', ['wget', '-qO-', `http://127.0.0.1:${published![0]!.HostPort}/`], {
      encoding: 'utf8',
    });
    expect(page).toBe('hello from server\n');
    // published on the loopback only: another machine cannot reach it through this host's address
    expect(published![0]!.HostIp).toBe('127.0.0.1');
    expect(await fetchFrom(lanAddress(), published![0]!.HostPort)).toBe('error: ECONNREFUSED');
    await deployer.stop(await h.runningContext());
    expect(await engineObjects(projectHash(project.root))).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
  });

  it('publishes on every interface when the publishAddress option says 0.0.0.0', async () => {
    await deployer.start(
      h.startContext(info, plan({ server: 1 }), { options: { publishAddress: '0.0.0.0' } }),
    );
    const scope = { projectRoot: project.root, composition: info.composition, flavour: 'docker' };
    const server = await new Docker().getContainer(containerName(scope, 'server')).inspect();
    const published = server.NetworkSettings.Ports['80/tcp'];
    expect(published?.[0]?.HostIp).toBe('0.0.0.0');
    expect(await fetchFrom(lanAddress(), published?.[0]?.HostPort)).toBe('hello from server\n');
    await deployer.stop(await h.runningContext());
  });
});
