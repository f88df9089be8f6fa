/**
 * Start failures on the real engine: a node that dies during boot, a node that never comes
 * up, Ctrl-C, bad input. Each must name the node / field and leave nothing behind.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ComposeInfo, isNxcError } from '@nxc/core';
import type { FlavourDeployer } from '@nxc/core/flavour';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import plugin from '../src/index.js';
import { projectHash } from '../src/labels.js';
import { fakeBuild } from './fake-build.mjs';
import { engineObjects, harness, plan, removeProject, tempProject } from './harness.js';

let deployer: FlavourDeployer;
let info: ComposeInfo;
let buildDir: string;
const project = tempProject();
const h = harness(project);
const hash = projectHash(project.root);
const nothing = { containers: [], networks: [], volumes: [] };

async function startError(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isNxcError(error)) return error;
    throw error;
  }
  throw new Error('start succeeded but should have failed');
}

beforeAll(async () => {
  deployer = await plugin.flavours[0]!.deployer();
  buildDir = mkdtempSync(join(tmpdir(), 'nxc-fake-build-'));
  info = fakeBuild(buildDir);
});

afterEach(async () => {
  // whatever a test did, the next one starts from a clean engine
  expect(await engineObjects(hash)).toEqual(nothing);
});

afterAll(async () => {
  await deployer?.stop(await h.runningContext()).catch(() => {});
  removeProject(project);
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
});

describe('docker flavour start failures', () => {
  it('names the node whose container dies during start, shows its log tail, removes everything', async () => {
    const error = await startError(
      deployer.start(h.startContext(info, plan({ server: 1, client: 2, crasher: 1 }))),
    );
    expect(error.code).toBe('NXC_NODE_FAILED');
    expect(error.message).toBe('node crasher: container exited (code 42) before the node was ready');
    expect(error.details).toContain('crasher| crasher: fatal: cannot open /etc/crasher.conf');
    const logFile = join(project.artifactDir, 'composition/docker/logs/crasher.log');
    expect(error.hint).toContain(logFile);
    expect(readFileSync(logFile, 'utf8')).toContain('crasher: loading configuration');
    expect(existsSync(join(project.artifactDir, 'composition/docker/docker-compose.json'))).toBe(false);
  });

  it('reports a boot error line from the node', async () => {
    const bad = { ...info, roles: { ...info.roles, client: { init: info.roles.crasher!.init } } };
    // the deployment document says "client", the node finds itself by hostname: make it not find itself
    const ctx = h.startContext(bad, [{ role: 'client', host: 'client' }], {
      writeDeployment: async (nodes) => {
        const { writeFileSync } = await import('node:fs');
        const doc = {
          deployment: {},
          'ssh_key.pub': '',
          composition: 'composition',
          flavour: 'docker',
          user: 'root',
        };
        writeFileSync(h.deploymentFile(), JSON.stringify(doc));
        void nodes;
        return doc;
      },
    });
    const error = await startError(deployer.start(ctx));
    expect(error.code).toBe('NXC_NODE_FAILED');
    expect(error.message).toBe('node client: boot failed: no entry for client in /etc/nxc/deployment.json');
  });

  it('times out a node that never becomes ready, naming it', async () => {
    const error = await startError(
      deployer.start(h.startContext(info, plan({ client: 1, sleeper: 1 }), { timeoutMs: 1500 })),
    );
    expect(error.code).toBe('NXC_TIMEOUT');
    expect(error.message).toBe('node sleeper: not ready after 2 s');
    expect(error.details).toContain('sleeper| sleeper: waiting forever');
  });

  it('cleans up when interrupted (Ctrl-C) during start', async () => {
    const ac = new AbortController();
    const ctx = h.startContext(info, plan({ client: 2, sleeper: 2 }), { signal: ac.signal });
    const emit = ctx.reporter.emit;
    let started = 0;
    ctx.reporter = {
      emit(e) {
        emit(e);
        if (e.type === 'node' && e.state === 'started' && ++started === 3) ac.abort();
      },
    };
    const error = await startError(deployer.start(ctx));
    expect(started).toBeGreaterThanOrEqual(3);
    expect(error.code).toBe('NXC_INTERRUPTED');
  });

  it('cleans up when the engine refuses a container (bad extraVolumes), naming the node', async () => {
    const bad = { ...info, extra: { docker: { extraVolumes: ['/nonexistent/nxc-test:/data'] } } };
    const error = await startError(deployer.start(h.startContext(bad, plan({ server: 1 }))));
    expect(error.code).toBe('NXC_NODE_FAILED');
    expect(error.message).toMatch(
      /^node server: the engine refused its container: .*\/nonexistent\/nxc-test/,
    );
  });

  it('rejects bad input before creating anything', async () => {
    const noImage = { ...info, all: {} };
    let error = await startError(deployer.start(h.startContext(noImage, plan({ server: 1 }))));
    expect(error.code).toBe('NXC_COMPOSE_INFO');
    expect(error.message).toContain('no all.docker_image');

    const gone = { ...info, all: { docker_image: '/nix/store/00000000000000000000000000000000-gone.tar' } };
    error = await startError(deployer.start(h.startContext(gone, plan({ server: 1 }))));
    expect(error.message).toContain('does not exist');

    const ports = { ...info, extra: { docker: { dockerPorts: { client: ['8080:80'] } } } };
    error = await startError(deployer.start(h.startContext(ports, plan({ client: 2 }))));
    expect(error.code).toBe('NXC_DISTRIBUTION');

    const notTar = join(buildDir, 'not-a-tarball');
    writeFileSync(notTar, 'this is not a tar archive\n'.repeat(64));
    error = await startError(
      deployer.start(h.startContext({ ...info, all: { docker_image: notTar } }, plan({ server: 1 }))),
    );
    expect(error.code).toBe('NXC_COMPOSE_INFO');
    expect(error.message).toContain(`cannot load all.docker_image ${notTar} into the engine`);

    error = await startError(deployer.start(h.startContext(info, [{ role: 'ghost', host: 'ghost' }])));
    expect(error.message).toContain('role "ghost" of node ghost has no init');
  });

  it('replaces leftovers of a crashed start', async () => {
    const first = await deployer.start(h.startContext(info, plan({ client: 1 })));
    expect(first.nodes).toHaveLength(1);
    // no stop: a second start finds the leftovers by label and removes them first
    const second = await deployer.start(h.startContext(info, plan({ client: 2 })));
    expect(second.nodes.map((n) => n.host)).toEqual(['client1', 'client2']);
    expect(h.events).toContainEqual({
      type: 'warn',
      message: 'removed 1 container(s) left by a previous start of composition',
    });
    expect((await engineObjects(hash)).containers).toHaveLength(2);
    await deployer.stop(await h.runningContext());
  });
});
