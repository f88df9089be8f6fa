import { Agent } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFERRED_DOCKERODE_MODULES, engineClient, loadDockerode } from './client.js';

const require = createRequire(import.meta.url);
const dockerodeMain = require.resolve('dockerode');
const modemMain = createRequire(dockerodeMain).resolve('docker-modem');
const sessionFile = join(dirname(dockerodeMain), 'session.js');
const sshFile = join(dirname(modemMain), 'ssh.js');

/** Files of the packages `names` that Node has loaded in this process. */
function loaded(...names: string[]): string[] {
  return Object.keys(require.cache).filter((f) => names.some((n) => f.includes(`/node_modules/${n}/`)));
}

describe('the engine client (dockerode) loads what a docker command needs, not gRPC nor ssh2', () => {
  it('defers the two modules that exist in the installed dockerode and docker-modem', () => {
    // a layout change of either package would silently bring the cost back: say so here
    expect(DEFERRED_DOCKERODE_MODULES.map((m) => m.file)).toEqual(['session.js', 'ssh.js']);
    expect(require.resolve(sessionFile)).toBe(sessionFile);
    expect(require.resolve(sshFile)).toBe(sshFile);
  });

  it('a client made and used for a request loads neither, and a deferred module is the real one once called', async () => {
    // this process has not loaded dockerode yet (vitest runs each test file in its own process)
    expect(loaded('dockerode', 'docker-modem')).toEqual([]);
    const docker = engineClient(2_000);
    expect(loadDockerode()).toBe(loadDockerode());
    // a real request through docker-modem (no daemon needed: it fails to connect)
    await new Promise<void>((resolve) => {
      (docker.modem as unknown as { socketPath: string }).socketPath = '/nonexistent/nxc-test.sock';
      docker.listContainers(() => resolve());
    });
    expect(loaded('dockerode').length).toBeGreaterThan(0);
    expect(loaded('@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs', 'ssh2')).toEqual([]);

    // docker-modem's ssh agent (an `ssh://` DOCKER_HOST) through the stand-in: the real one
    const makeAgent = require(sshFile) as (opt: object) => unknown;
    const agent = makeAgent({ host: '127.0.0.1', port: 1, username: 'nobody' });
    expect(agent).toBeInstanceOf(Agent);
    expect(loaded('ssh2').length).toBeGreaterThan(0);
    expect(require.cache[sshFile]?.exports).not.toBe(makeAgent);
    // later calls reach the same real module (loaded once)
    expect(makeAgent({ host: '127.0.0.1', port: 1 })).toBeInstanceOf(Agent);
    expect(require(sshFile)).toBe(require.cache[sshFile]?.exports);
  });
});
