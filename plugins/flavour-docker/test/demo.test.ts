import {
  type ComposeInfo,
  type FlavourDeployer,
  type ProgressEvent,
  type StartContext,
  isNxcError,
  parseRoleFlags,
  readComposeInfo,
  resolveNodes,
} from '@nxc/core';
/**
 * The end-to-end test, on the real engine with the REAL demo built by real Nix
 * (examples/demo, test OS): 1 server + 3 clients (`-r client=3`); each client fetches
 * http://server/ by hostname; status lists 4 running nodes; stop leaves no container,
 * network or volume with nxc's labels.
 */
import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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

const nothing = { containers: [], networks: [], volumes: [] };

/** Calls `onEvent` on every progress event of a start (to act in the middle of it). */
function withHook(ctx: StartContext, onEvent: (e: ProgressEvent) => void): StartContext {
  const emit = ctx.reporter.emit;
  ctx.reporter = {
    emit(e) {
      emit(e);
      onEvent(e);
    },
  };
  return ctx;
}

async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isNxcError(error)) return error;
    throw error;
  }
  throw new Error('start succeeded but should have failed');
}

afterEach(async () => {
  expect(await engineObjects(hash)).toEqual(nothing);
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
      expect(r, `${client}: ${r.stderr}`).toMatchObject({
        exitCode: 0,
        stdout: 'hello from the nxc demo server\n',
      });
    }
    // the boot script found the node's own entry (by address) and recorded it
    const node = JSON.parse((await transport.exec('client2', ['cat', '/etc/nxc/node.json'])).stdout);
    expect(node).toMatchObject({
      role: 'client',
      host: 'client2',
      address: result.nodes.find((n) => n.host === 'client2')!.address,
    });
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
    expect(await engineObjects(hash)).toEqual(nothing);
  });

  it('names the node whose container dies during start, shows its log tail, leaves nothing', async () => {
    const docker = new Docker();
    const nodes = resolveNodes({ roles: Object.keys(info.roles), spec: parseRoleFlags(['client=3']) });
    const ctx = withHook(h.startContext(info, nodes), (e) => {
      // the container dies right after the engine started it, before its init is up
      if (e.type === 'node' && e.host === 'client2' && e.state === 'started' && e.detail) {
        docker
          .getContainer(e.detail)
          .kill()
          .catch(() => {});
      }
    });
    const error = await failure(deployer.start(ctx));
    expect(error.code).toBe('NXC_NODE_FAILED');
    expect(error.message).toMatch(/^node client2: container exited \(code \d+\) before the node was ready$/);
    expect(error.details).toBeDefined();
  });

  it('cleans up when interrupted (Ctrl-C) during start', async () => {
    const ac = new AbortController();
    const nodes = resolveNodes({ roles: Object.keys(info.roles), spec: parseRoleFlags(['client=3']) });
    let started = 0;
    const ctx = withHook(h.startContext(info, nodes, { signal: ac.signal }), (e) => {
      if (e.type === 'node' && e.state === 'started' && ++started === 2) ac.abort();
    });
    const error = await failure(deployer.start(ctx));
    expect(error.code).toBe('NXC_INTERRUPTED');
    expect(error.exitCode).toBe(130);
  });
});
