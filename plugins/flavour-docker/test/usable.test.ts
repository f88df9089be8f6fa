/**
 * usable(): the one-line pre-check `nxc start` runs, against the real engine and against
 * broken setups (missing socket, refused TCP port, no permission, an engine too old).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { withRepoReachable } from '../../../test/support/repo-reachable.js';
import plugin, { checkEngine, engineEndpoint } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'nxc-usable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeEngine(socketPath: string, apiVersion: string): Promise<Server> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ApiVersion: apiVersion, Version: '1.13.0' }));
  });
  return new Promise((resolve) => server.listen(socketPath, () => resolve(server)));
}

describe('docker flavour usable()', () => {
  it('declares the docker flavour, its image kind and loads without dockerode', () => {
    expect(plugin.name).toBe('@nxc/flavour-docker');
    expect(plugin.flavours.map((f) => [f.name, f.build.image])).toEqual([['docker', 'docker']]);
  });

  it('is usable with the running engine', async () => {
    expect(await checkEngine()).toBeUndefined();
    expect(await plugin.flavours[0]!.usable!({ project: {} as never })).toBeUndefined();
  });

  it('follows DOCKER_HOST', () => {
    expect(engineEndpoint({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' })).toMatchObject({
      kind: 'unix',
      socketPath: '/run/user/1000/docker.sock',
    });
    expect(engineEndpoint({ DOCKER_HOST: 'tcp://10.0.0.1:2375' })).toMatchObject({
      kind: 'tcp',
      host: '10.0.0.1',
      port: 2375,
      tls: false,
    });
    expect(engineEndpoint({ DOCKER_HOST: 'tcp://h:2376' })).toMatchObject({ tls: true });
    expect(engineEndpoint({ DOCKER_HOST: 'ssh://me@h' })).toMatchObject({ kind: 'other' });
    expect(engineEndpoint({})).toMatchObject({ kind: 'unix' });
  });

  it('says what to do when there is no daemon socket', async () => {
    const problem = await checkEngine({ DOCKER_HOST: `unix://${dir}/none.sock` });
    expect(problem?.reason).toBe(`no Docker daemon socket at ${dir}/none.sock`);
    expect(problem?.hint).toMatch(/start the daemon/);
  });

  it('says what to do when nothing listens', async () => {
    const problem = await checkEngine({ DOCKER_HOST: 'tcp://127.0.0.1:1' });
    expect(problem?.reason).toBe('cannot reach the Docker daemon at tcp://127.0.0.1:1 (ECONNREFUSED)');
  });

  it('refuses an engine whose API is too old', async () => {
    const socket = join(dir, 'old.sock');
    const server = await fakeEngine(socket, '1.30');
    try {
      const problem = await checkEngine({ DOCKER_HOST: `unix://${socket}` });
      expect(problem?.reason).toBe(`the Docker engine at ${socket} speaks API 1.30, nxc needs 1.40 or newer`);
      expect(problem?.hint).toMatch(/upgrade Docker/);
    } finally {
      server.close();
    }
  });

  it('says so when the user may not use the socket (run as nobody)', async () => {
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    expect(
      existsSync(dist),
      'build the package first (pnpm turbo run build --filter @nxc/flavour-docker...)',
    ).toBe(true);
    const out = await withRepoReachable(() =>
      execFileSync(
        'setpriv',
        [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          process.execPath,
          '--input-type=module',
          '-e',
          `import { checkEngine } from ${JSON.stringify(dist)}; console.log(JSON.stringify(await checkEngine({})));`,
        ],
        { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent' } },
      ),
    );
    const problem = JSON.parse(out);
    expect(problem.reason).toBe('no permission to use the Docker daemon socket /var/run/docker.sock');
    expect(problem.hint).toMatch(/docker` group/);
  });
});
