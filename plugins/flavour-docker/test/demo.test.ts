/**
 * A container dying during start, through the library API on the real engine with the REAL
 * demo built by real Nix: the node is named and nothing is left. The demo's run, stop and
 * Ctrl-C during start are the conformance kit's (conformance.test.ts).
 */
import { type ProgressEvent, type Project, build, isNxcError, loadProject, start, stop } from '@nxc/core';
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

describe('docker flavour with the real demo build: a node dying during start', () => {
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
});
