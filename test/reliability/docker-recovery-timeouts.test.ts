/**
 * The docker flavour when things are missing or do not answer, with the real `nxc` binary on
 * the demo project and the real dockerd:
 * - `nxc stop` with the deployment's document and state corrupt, with deploy/ deleted, after
 *   `nxc clean --force`: it finds the containers, network and volumes by their labels, removes
 *   them and lists them;
 * - a Docker daemon that accepts connections and never answers (a unix socket server passed
 *   as DOCKER_HOST): start and stop fail within their bounds with one line naming the daemon
 *   and the call; a daemon that hangs in the middle of a start: the start fails within its
 *   bound and says its own cleanup failed too, and a later `nxc stop` removes what it left.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type Socket, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  demoProject,
  deployFiles,
  dockerLeftovers,
  nxc,
  processLeftovers,
  removeProject,
} from './helpers.js';

// long enough for a container start on a loaded machine, short enough for the hung cases
const API_TIMEOUT_MS = 20_000;
let dir: string;
let sockets: string;
const START = ['start', '-f', 'docker', '-r', 'client=2'];

beforeAll(async () => {
  // a shorter bound on Engine API calls than the default, so that the hung-daemon cases end sooner
  dir = await demoProject({ docker: { apiTimeoutMs: API_TIMEOUT_MS } });
  sockets = await mkdtemp(path.join(tmpdir(), 'nxc-hung-docker-'));
  const build = await nxc(dir, ['build', '-f', 'docker']);
  if (build.code !== 0) throw new Error(`nxc build failed:\n${build.stderr}`);
}, 900_000);

afterAll(async () => {
  if (dir) {
    await nxc(dir, ['stop', '-f', 'docker']);
    await removeProject(dir);
  }
  if (sockets) await rm(sockets, { recursive: true, force: true });
}, 300_000);

async function started(): Promise<string[]> {
  const r = await nxc(dir, START);
  expect(r.code, r.stderr).toBe(0);
  const objects = dockerLeftovers(dir);
  expect(objects.filter((o) => o.startsWith('container '))).toHaveLength(3);
  return objects;
}

/** The objects listed in stop's "removed leftovers of composition::docker: ..." line. */
function listedLeftovers(stderr: string): string[] {
  const m = /^warning: removed leftovers of composition::docker: (.*)$/m.exec(stderr);
  return m ? m[1]!.split(', ').sort() : [];
}

describe('nxc stop recovers a docker deployment without usable deploy/ files', () => {
  it('document and state corrupt: stops, warns, removes everything', async () => {
    await started();
    await writeFile(path.join(dir, 'deploy/composition::docker.json'), '{"deployment": {');
    await writeFile(path.join(dir, 'deploy/composition::docker.state.json'), '\0\0\0');
    const r = await nxc(dir, ['stop']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /^warning: deploy\/composition::docker\.json: not valid JSON .*; stopping composition::docker without it$/m,
    );
    expect(dockerLeftovers(dir)).toEqual([]);
    expect(deployFiles(dir)).toEqual([]);
  }, 300_000);

  it('deploy/ deleted: finds every object by its labels, removes and lists them', async () => {
    const objects = await started();
    await rm(path.join(dir, 'deploy'), { recursive: true });
    const r = await nxc(dir, ['stop']);
    expect(r.code, r.stderr).toBe(0);
    expect(listedLeftovers(r.stderr)).toEqual(objects.sort());
    expect(dockerLeftovers(dir)).toEqual([]);
  }, 300_000);

  it('after `nxc clean --force`: the same, and --json lists them', async () => {
    const objects = await started();
    expect((await nxc(dir, ['clean', '--force'])).code).toBe(0);
    const r = await nxc(dir, ['stop', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.hosts).toEqual([]);
    expect(summary.recovered).toHaveLength(1);
    expect(summary.recovered[0]).toMatchObject({ composition: 'composition', flavour: 'docker' });
    expect(summary.recovered[0].removed.sort()).toEqual(objects.sort());
    expect(dockerLeftovers(dir)).toEqual([]);
    // the build is gone with clean: build again for the next tests
    expect((await nxc(dir, ['build', '-f', 'docker'])).code).toBe(0);
  }, 300_000);
});

/** A listening unix socket server that can be closed with its connections. */
interface TestServer {
  socket: string;
  close(): Promise<void>;
}

function serve(socket: string, onConnection: (c: Socket, open: Socket[]) => void): Promise<TestServer> {
  const open: Socket[] = [];
  const server = createServer((c) => {
    open.push(c);
    c.on('error', () => {});
    onConnection(c, open);
  });
  const close = () =>
    new Promise<void>((r) => {
      for (const c of open) c.destroy();
      server.close(() => r());
    });
  return new Promise((resolve) => server.listen(socket, () => resolve({ socket, close })));
}

/** A unix socket server that accepts connections, reads them and never answers: a hung daemon. */
function hungDaemon(name: string): Promise<TestServer> {
  return serve(path.join(sockets, name), (c) => c.resume());
}

/**
 * A proxy to the real daemon that stops answering (forwards nothing more, in either direction,
 * on any connection) from the first request matching `trigger` on: a daemon hanging mid-start.
 */
async function hangingProxy(name: string, trigger: RegExp): Promise<TestServer & { hung: () => boolean }> {
  let hung = false;
  const server = await serve(path.join(sockets, name), (client, open) => {
    if (hung) {
      client.resume();
      return;
    }
    const daemon = connect('/var/run/docker.sock');
    open.push(daemon);
    daemon.on('error', () => {});
    client.on('data', (d: Buffer) => {
      if (!hung && trigger.test(d.toString('latin1'))) hung = true;
      if (!hung) daemon.write(d);
    });
    daemon.on('data', (d: Buffer) => {
      if (!hung) client.write(d);
    });
    client.on('close', () => daemon.destroy());
    daemon.on('close', () => {
      if (!hung) client.destroy();
    });
  });
  return { ...server, hung: () => hung };
}

describe('a Docker daemon that does not answer', () => {
  it('start: refused within its bound, naming the daemon and the call', async () => {
    const { socket, close } = await hungDaemon('hung.sock');
    try {
      const t0 = Date.now();
      const r = await nxc(dir, START, { DOCKER_HOST: `unix://${socket}` });
      expect(Date.now() - t0).toBeLessThan(30_000);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(
        new RegExp(
          `^error: flavour docker: the Docker daemon at ${socket} did not answer GET /version within 3 s$`,
          'm',
        ),
      );
      expect(deployFiles(dir)).toEqual([]);
    } finally {
      await close();
    }
  }, 120_000);

  it('stop: fails within its bound naming the call, keeps the documents; stop once it answers removes all', async () => {
    await started();
    const { socket, close } = await hungDaemon('hung-stop.sock');
    try {
      const t0 = Date.now();
      const r = await nxc(dir, ['stop'], { DOCKER_HOST: `unix://${socket}` });
      expect(Date.now() - t0).toBeLessThan(API_TIMEOUT_MS + 30_000);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `^error: the Docker daemon at ${socket} did not answer GET /containers/json within ${API_TIMEOUT_MS / 1000} s$`,
          'm',
        ),
      );
      expect(deployFiles(dir)).toEqual([
        'composition::docker.json',
        'composition::docker.record.json',
        'composition::docker.state.json',
      ]);
    } finally {
      await close();
    }
    const r = await nxc(dir, ['stop']);
    expect(r.code, r.stderr).toBe(0);
    expect(dockerLeftovers(dir)).toEqual([]);
  }, 300_000);

  it('hanging mid-start: the start fails within its bound and reports its failed cleanup; stop removes the rest', async () => {
    const proxy = await hangingProxy('proxy.sock', /^POST \S*\/containers\/create/m);
    let r: Awaited<ReturnType<typeof nxc>>;
    try {
      const t0 = Date.now();
      r = await nxc(dir, START, { DOCKER_HOST: `unix://${proxy.socket}` });
      // one bounded call times out, then the cleanup's first call: about twice the bound
      expect(Date.now() - t0).toBeLessThan(3 * API_TIMEOUT_MS + 30_000);
      expect(proxy.hung()).toBe(true);
    } finally {
      await proxy.close();
    }
    expect(r.code, r.stderr).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
    expect(errors).toEqual([
      `error: the Docker daemon at ${proxy.socket} did not answer POST /containers/create within ${API_TIMEOUT_MS / 1000} s; removing its containers failed: the Docker daemon at ${proxy.socket} did not answer GET /containers/json within ${API_TIMEOUT_MS / 1000} s`,
    ]);
    expect(r.stderr).toMatch(
      /^hint: once the Docker daemon answers, `nxc stop -C composition::docker` removes what is left$/m,
    );
    expect(existsSync(path.join(dir, 'deploy/composition::docker.json'))).toBe(false);
    // what the start created before the hang (its network and volume) is still there...
    const left = dockerLeftovers(dir);
    expect(left.some((o) => o.startsWith('network '))).toBe(true);
    // ...and stop, with the daemon answering, finds it without any document
    const stop = await nxc(dir, ['stop']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(listedLeftovers(stop.stderr)).toEqual(left.sort());
    expect(dockerLeftovers(dir)).toEqual([]);
    expect(processLeftovers(dir)).toEqual([]);
  }, 300_000);
});
