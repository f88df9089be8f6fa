/**
 * The end-to-end test, through the library API (what `nxc build/start/exec/status/
 * stop` call) on the real engine, with the REAL demo built by real Nix (examples/demo on the
 * test OS): 1 server + 3 clients (`-r client=3`); each client fetches http://server/ by
 * hostname; status lists 4 running nodes; stop leaves no container, network or volume with
 * nxc's labels. Then a container dying during start, and Ctrl-C during start.
 */
import {
  type ProgressEvent,
  type Project,
  build,
  exec,
  isNxcError,
  loadProject,
  start,
  status,
  stop,
} from '@nxc/core';
import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OFFLINE_NIX_FLAGS, demoProject } from '../../../test/fixtures/demo-project.mjs';
import { projectHash } from '../src/labels.js';
import { engineObjects } from './harness.js';

const savedFlags = process.env.NXC_NIX_FLAGS;
let demo: ReturnType<typeof demoProject>;
let project: Project;
let hash: string;
const nothing = { containers: [], networks: [], volumes: [] };

async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isNxcError(error)) return error;
    throw error;
  }
  throw new Error('start succeeded but should have failed');
}

beforeAll(async () => {
  process.env.NXC_NIX_FLAGS = OFFLINE_NIX_FLAGS;
  demo = demoProject();
  project = await loadProject(demo.dir);
  hash = projectHash(project.root);
  const built = await build(project, { flavour: 'docker' });
  expect(built.targets.map((t) => `${t.composition}::${t.flavour}`)).toEqual(['composition::docker']);
});

afterEach(async () => {
  expect(await engineObjects(hash)).toEqual(nothing);
});

afterAll(async () => {
  if (project) await stop(project).catch(() => {});
  demo?.cleanup();
  if (savedFlags === undefined) Reflect.deleteProperty(process.env, 'NXC_NIX_FLAGS');
  else process.env.NXC_NIX_FLAGS = savedFlags;
});

describe('docker flavour with the real demo build', () => {
  it('runs 1 server + 3 clients; every client reaches the server by hostname; stop leaves nothing', async () => {
    const started = await start(project, { flavour: 'docker', roleFlags: ['client=3'] });
    expect(started.nodes.map((n) => `${n.host}:${n.state}`).sort()).toEqual([
      'client1:running',
      'client2:running',
      'client3:running',
      'server:running',
    ]);

    const results = await exec(
      project,
      ['client1', 'client2', 'client3'],
      ['wget', '-qO-', 'http://server/'],
    );
    expect(results.map((r) => [r.host, r.exitCode, r.stdout, r.stderr])).toEqual(
      ['client1', 'client2', 'client3'].map((h) => [h, 0, 'hello from the nxc demo server\n', '']),
    );
    // the boot script found the node's own entry (by address) and recorded it
    const [nodeJson] = await exec(project, ['client2'], ['cat', '/etc/nxc/node.json']);
    const address = started.nodes.find((n) => n.host === 'client2')!.address;
    expect(JSON.parse(nodeJson!.stdout)).toMatchObject({ role: 'client', host: 'client2', address });

    const [deployment] = await status(project);
    expect(deployment!.nodes.filter((n) => n.state === 'running')).toHaveLength(4);
    expect(deployment!.nodes.map((n) => `${n.host}:${n.role}`).sort()).toEqual([
      'client1:client',
      'client2:client',
      'client3:client',
      'server:server',
    ]);

    await stop(project);
    expect(await engineObjects(hash)).toEqual(nothing);
  });

  it('names the node whose container dies during start and leaves nothing behind', async () => {
    const docker = new Docker();
    const reporter = {
      emit(e: ProgressEvent) {
        // the container dies right after the engine started it, before its init is up
        if (e.type === 'node' && e.host === 'client2' && e.state === 'started' && e.detail) {
          docker
            .getContainer(e.detail)
            .kill()
            .catch(() => {});
        }
      },
    };
    const error = await failure(start(project, { flavour: 'docker', roleFlags: ['client=3'], reporter }));
    expect(error.code).toBe('NXC_NODE_FAILED');
    expect(error.message).toMatch(/^node client2: container exited \(code \d+\) before the node was ready$/);
  });

  it('cleans up when interrupted (Ctrl-C) during start', async () => {
    const ac = new AbortController();
    let started = 0;
    const reporter = {
      emit(e: ProgressEvent) {
        if (e.type === 'node' && e.state === 'started' && ++started === 2) ac.abort();
      },
    };
    const error = await failure(
      start(project, { flavour: 'docker', roleFlags: ['client=3'], reporter, signal: ac.signal }),
    );
    expect(error.code).toBe('NXC_INTERRUPTED');
    expect(error.exitCode).toBe(130);
  });
});
