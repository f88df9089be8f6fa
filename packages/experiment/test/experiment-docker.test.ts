/**
 * The experiment API on the real Docker engine, with the REAL demo built by real Nix: the
 * example script (examples/experiment) end to end, a failing step, and an interruption. Each
 * time the results folder holds the deployment record and the manifest, and nothing of the
 * project is left on the engine.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isNxcError, loadProject, readRecord, stop } from '@nxc/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFLINE_NIX_FLAGS, REPO, demoProject } from '../../../test/fixtures/demo-project.mjs';
import { type ExperimentManifest, experiment } from '../src/index.js';

const run = promisify(execFile);
const EXAMPLE = join(REPO, 'examples/experiment/experiment.mjs');

let demo: ReturnType<typeof demoProject>;
let scratch: string;
const savedFlags = process.env.NXC_NIX_FLAGS;

beforeAll(async () => {
  process.env.NXC_NIX_FLAGS = OFFLINE_NIX_FLAGS;
  demo = demoProject('nxc-experiment-docker-');
  scratch = await mkdtemp(join(tmpdir(), 'nxc-experiment-results-'));
});

afterAll(async () => {
  // whatever a failed test left (containers, network): nxc stop finds it from the engine's labels
  if (demo) await stop(await loadProject(demo.dir)).catch(() => undefined);
  demo?.cleanup();
  if (scratch) await rm(scratch, { recursive: true, force: true });
  if (savedFlags === undefined) Reflect.deleteProperty(process.env, 'NXC_NIX_FLAGS');
  else process.env.NXC_NIX_FLAGS = savedFlags;
});

/** Containers of the demo project on the engine, running or not. */
async function containers(): Promise<string[]> {
  if (!demo) return [];
  const { stdout } = await run('docker', [
    'ps',
    '-a',
    '--filter',
    `label=nxc.project.root=${demo.dir}`,
    '--format',
    '{{.Names}}',
  ]);
  return stdout.split('\n').filter(Boolean);
}

const readJson = async <T>(file: string): Promise<T> => JSON.parse(await readFile(file, 'utf8')) as T;

describe('experiment on docker', () => {
  it('the example: builds, starts 1 server + 2 clients, fetches, collects counts, identities and the record, stops', async () => {
    const results = join(scratch, 'example');
    const child = await run(
      process.execPath,
      [EXAMPLE, '--project', demo.dir, '--results', results, '--requests', '3'],
      { env: { ...process.env }, maxBuffer: 16 << 20 },
    ).catch((e: { stdout: string; stderr: string; code: number }) => {
      throw new Error(`example failed (exit ${e.code}):\n${e.stderr.slice(-3000)}`);
    });
    const out = JSON.parse(child.stdout.trim().split('\n').pop() as string) as {
      results: string;
      outcome: string;
    };
    expect(out).toMatchObject({ results, outcome: 'succeeded' });
    expect(child.stderr).toMatch(/step fetch\n/);

    const manifest = await readJson<ExperimentManifest>(join(results, 'experiment.json'));
    expect(manifest.outcome).toBe('succeeded');
    expect(manifest.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      'server-up:ok',
      'fetch:ok',
      'counts:ok',
      'identity:ok',
    ]);
    const fetch = manifest.steps[1];
    expect(fetch?.nodes?.map((n) => `${n.host}:${n.exitCode}`)).toEqual(['client1:0', 'client2:0']);
    for (const s of manifest.steps) expect(s.durationMs).toBeGreaterThanOrEqual(0);
    for (const phase of ['build', 'start', 'steps', 'stop'] as const)
      expect(manifest.phases[phase]).toBeGreaterThan(0);
    expect(manifest.stopped).toBe(true);
    expect(manifest.files).toEqual([
      'counts/client1/fetch.txt',
      'counts/client2/fetch.txt',
      'fetch/client1.stdout',
      'fetch/client2.stdout',
      'identity/client1/node.json',
      'identity/client2/node.json',
      'identity/server/node.json',
      'record.json',
    ]);
    // each client's own count, copied from the node
    for (const host of ['client1', 'client2']) {
      const text = await readFile(join(results, 'counts', host, 'fetch.txt'), 'utf8');
      expect(text).toBe(`host=${host}\nrequests=3\nok=3\n`);
    }
    const identity = await readJson<{ role: string; index: number; uuid: string }>(
      join(results, 'identity/client2/node.json'),
    );
    expect(identity).toMatchObject({ role: 'client', index: 2 });

    // the record: the one the start kept in artifact/, with the parameters and the nodes
    const record = await readJson<{
      id: string;
      parameters: unknown;
      nodes: Array<{ host: string; uuid: string }>;
    }>(join(results, 'record.json'));
    expect(manifest.record?.id).toBe(record.id);
    const kept = await readRecord(await loadProject(demo.dir), record.id);
    expect(kept.record).toEqual(record);
    expect(record.parameters).toEqual({ requests: 3 });
    expect(record.nodes.map((n) => n.host).sort()).toEqual(['client1', 'client2', 'server']);
    expect(record.nodes.find((n) => n.host === 'client2')?.uuid).toBe(identity.uuid);

    expect(await containers()).toEqual([]);
  });

  it('the example, Ctrl-C during a step: the deployment is stopped, the manifest written, exit 130', async () => {
    const results = join(scratch, 'ctrl-c');
    const child = spawn(
      process.execPath,
      [
        EXAMPLE,
        '--project',
        demo.dir,
        '--results',
        results,
        '--requests',
        '1000000',
        '--no-build',
        '-c',
        '1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('step fetch\n') && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/SIGINT: stopping the deployment/);
    expect(stderr).toMatch(/^error: experiment demo-fetch-1000000 interrupted$/m);
    const manifest = await readJson<ExperimentManifest>(join(results, 'experiment.json'));
    expect(manifest.outcome).toBe('interrupted');
    expect(manifest.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      'server-up:ok',
      'fetch:failed',
      'counts:skipped',
      'identity:skipped',
    ]);
    expect(manifest.files).toContain('record.json');
    expect(manifest.stopped).toBe(true);
    expect(await containers()).toEqual([]);
  });

  it('a failing step: reported, later steps skipped but `always` ones, record and manifest written, nodes stopped', async () => {
    const results = join(scratch, 'failing');
    const error = await experiment({
      project: demo.dir,
      flavour: 'docker',
      build: false,
      results,
      start: { roleFlags: ['client=1'] },
      steps: [
        { name: 'prepare', on: 'server', run: 'echo hello > /tmp/hello' },
        { name: 'boom', on: '@client', run: 'echo broken >&2; exit 3' },
        { name: 'after', from: 'server', collect: '/tmp/hello' },
        { name: 'logs', from: 'server', collect: '/tmp/hello', always: true },
      ],
    }).catch((e: unknown) => e);
    expect(isNxcError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'NXC_TEST_FAILED',
      exitCode: 1,
      message: 'experiment step "boom" failed on client (exit 3)',
    });
    const manifest = await readJson<ExperimentManifest>(join(results, 'experiment.json'));
    expect(manifest.outcome).toBe('failed');
    expect(manifest.error).toMatchObject({ code: 'NXC_TEST_FAILED' });
    expect(manifest.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      'prepare:ok',
      'boom:failed',
      'after:skipped',
      'logs:ok',
    ]);
    expect(manifest.steps[1]?.nodes).toEqual([{ host: 'client', role: 'client', exitCode: 3 }]);
    expect(await readFile(join(results, 'boom/client.stderr'), 'utf8')).toBe('broken\n');
    expect(await readFile(join(results, 'logs/server/hello'), 'utf8')).toBe('hello\n');
    expect(manifest.files).toContain('record.json');
    const record = await readJson<{ id: string; flavour: string }>(join(results, 'record.json'));
    expect([record.id, record.flavour]).toEqual([manifest.record?.id, 'docker']);
    expect(manifest.stopped).toBe(true);
    expect(await containers()).toEqual([]);
  });

  it('keep: the deployment stays up after the experiment, with its results; nxc stop removes it', async () => {
    const results = join(scratch, 'kept');
    const { manifest } = await experiment({
      project: demo.dir,
      flavour: 'docker',
      build: false,
      results,
      keep: true,
      start: { roleFlags: ['client=1'] },
      steps: [{ name: 'hello', on: 'server', run: 'hostname' }],
    });
    expect([manifest.outcome, manifest.stopped]).toEqual(['succeeded', false]);
    expect(manifest.phases.stop).toBeUndefined();
    expect(await readFile(join(results, 'hello/server.stdout'), 'utf8')).toBe('server\n');
    expect((await containers()).length).toBe(2);
    await stop(await loadProject(demo.dir));
    expect(await containers()).toEqual([]);
  });

  it('interrupted during a step (the signal aborts): the deployment is stopped, the manifest says interrupted', async () => {
    const results = join(scratch, 'interrupted');
    const controller = new AbortController();
    const error = await experiment({
      project: demo.dir,
      flavour: 'docker',
      build: false,
      results,
      start: { roleFlags: ['client=1'] },
      signal: controller.signal,
      steps: [
        {
          name: 'ctrl-c',
          call: () => {
            controller.abort();
          },
        },
        { name: 'never', run: 'true' },
      ],
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NXC_INTERRUPTED' });
    const manifest = await readJson<ExperimentManifest>(join(results, 'experiment.json'));
    expect(manifest.outcome).toBe('interrupted');
    expect(manifest.steps.map((s) => s.status)).toEqual(['ok', 'skipped']);
    expect(manifest.files).toEqual(['record.json']);
    expect(manifest.stopped).toBe(true);
    expect(await containers()).toEqual([]);
  });
});
