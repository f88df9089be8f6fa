/**
 * The example experiment (examples/experiment) on the Grid'5000 stand-in (test/g5k-sim): real
 * OAR 2.5 and two QEMU machines in a "standard environment". The experiment finds no job of
 * its name, reserves one through OAR, deploys the REAL demo built by real Nix for g5k-ramdisk
 * onto the job's machines (its machine file), runs its steps, copies the results, forgets the
 * deployment and releases the job. Run from inside the stand-in's network namespace, as a
 * script runs on a frontend.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { build, loadProject } from '@nxc/core';
import { shellQuote } from '@nxc/core/flavour';
import { Oar } from '@nxc/g5k';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFLINE_NIX_FLAGS, demoProject } from '../../../test/fixtures/demo-project.mjs';
import {
  type G5kSim,
  consoleTail,
  repo,
  startG5kSim,
  writeFrontendKnownHosts,
} from '../../../test/g5k-sim/harness.js';
import type { ExperimentManifest } from '../src/index.js';

let sim: G5kSim;
let demo: ReturnType<typeof demoProject>;
let scratch: string;
let oar: Oar;
const savedFlags = process.env.NXC_NIX_FLAGS;

beforeAll(async () => {
  process.env.NXC_NIX_FLAGS = OFFLINE_NIX_FLAGS;
  demo = demoProject('nxc-experiment-g5k-');
  scratch = await mkdtemp(join(tmpdir(), 'nxc-experiment-g5k-results-'));
  // built beforehand, as `nxc build` on the frontend (the experiment runs with build: false)
  await build(await loadProject(demo.dir), { flavour: 'g5k-ramdisk' });
  sim = await startG5kSim({ nodes: 2, oar: true });
  // the machines' standard environment authorizes the stand-in's root key, and the frontend's
  // known_hosts lists their host keys: the user's flavour options, in the project's config
  const knownHosts = await writeFrontendKnownHosts(sim, 2, join(scratch, 'ssh_known_hosts'));
  const pkgFile = join(demo.dir, 'package.json');
  const pkg = JSON.parse(await readFile(pkgFile, 'utf8'));
  pkg.nxc.flavourOptions = { 'g5k-ramdisk': { nodeKeys: [sim.env.G5KSIM_ROOT_KEY], knownHosts } };
  await writeFile(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
  oar = new Oar({
    runner: async (argv) => {
      const r = await sim.asUser(argv.map(shellQuote).join(' '));
      return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr };
    },
  });
  // OAR's server may refuse the first submission just after it started ("Cannot connect to
  // executor localhost:6666. Job is killed."): a probe job until one is accepted, of type deploy
  // as every job here (the machines run no OAR node daemon for a default job's cpuset)
  for (let i = 0; ; i++) {
    const probe = await oar
      .submit({ nodes: 1, walltime: '0:05', name: 'probe', types: ['deploy'], command: 'true' })
      .catch((e) => e);
    if (typeof probe === 'number') {
      await oar.del(probe, { wait: true, timeoutMs: 60_000 });
      break;
    }
    if (i >= 20) throw probe;
    await sleep(2000);
  }
}, 1_200_000);

afterAll(async () => {
  await sim?.down();
  demo?.cleanup();
  if (scratch) await rm(scratch, { recursive: true, force: true });
  if (savedFlags === undefined) Reflect.deleteProperty(process.env, 'NXC_NIX_FLAGS');
  else process.env.NXC_NIX_FLAGS = savedFlags;
}, 300_000);

describe("experiment on the Grid'5000 stand-in (g5k-ramdisk)", () => {
  it('reserves an OAR job by name, deploys onto its machines, collects the results and the record, releases the job', async () => {
    const results = join(scratch, 'run');
    const requestFile = join(scratch, 'request.json');
    await writeFile(
      requestFile,
      JSON.stringify({
        repo,
        project: demo.dir,
        results,
        jobName: 'nxc-experiment-e2e',
        jobUser: sim.env.G5KSIM_JOB_USER ?? 'g5kuser',
      }),
    );
    const t0 = Date.now();
    const child = await sim.inNs(
      [process.execPath, join(repo, 'packages/experiment/test/g5k-child.mjs'), requestFile],
      1_500_000,
    );
    console.log(`experiment on g5k-ramdisk (2 machines, TCG): ${Date.now() - t0} ms`);
    const answer = JSON.parse(child.stdout.trim().split('\n').pop() || '{}') as {
      ok: boolean;
      error?: { message: string };
    };
    if (!answer.ok) {
      throw new Error(
        `experiment failed (child exit ${child.code}): ${answer.error?.message ?? child.stderr.slice(-3000)}\nnode-1 console:\n${await consoleTail(sim.env, 1)}`,
      );
    }
    const manifest = JSON.parse(
      await readFile(join(results, 'experiment.json'), 'utf8'),
    ) as ExperimentManifest;
    expect(manifest.outcome).toBe('succeeded');
    expect(manifest.flavour).toBe('g5k-ramdisk');
    // no job of that name was running: the experiment reserved it, and released it at the end
    expect(manifest.oarJob).toMatchObject({ name: 'nxc-experiment-e2e', reused: false, released: true });
    expect([...(manifest.oarJob?.hosts ?? [])].sort()).toEqual(['node-1', 'node-2']);
    expect(
      (await readFile(join(results, 'machines.txt'), 'utf8')).split('\n').filter(Boolean).sort(),
    ).toEqual(['node-1', 'node-2']);
    expect(manifest.nodes?.map((n) => `${n.host}:${n.state}`).sort()).toEqual([
      'client:running',
      'server:running',
    ]);
    expect(manifest.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      'server-up:ok',
      'fetch:ok',
      'counts:ok',
      'identity:ok',
    ]);
    expect(await readFile(join(results, 'counts/client/fetch.txt'), 'utf8')).toBe(
      'host=client\nrequests=3\nok=3\n',
    );
    // the record: the job's machines, each node on one of them
    const record = JSON.parse(await readFile(join(results, 'record.json'), 'utf8')) as {
      id: string;
      flavour: string;
      platform?: unknown;
      machines: string[];
      nodes: Array<{ host: string; machine: string }>;
    };
    expect([record.id, record.flavour]).toEqual([manifest.record?.id, 'g5k-ramdisk']);
    // the OAR job, as the flavour reports it inside a job
    expect(record.platform).toMatchObject({ oarJobId: String(manifest.oarJob?.id) });
    expect([...record.machines].sort()).toEqual(['node-1', 'node-2']);
    expect(record.nodes.map((n) => n.machine).sort()).toEqual(['node-1', 'node-2']);
    expect(manifest.stopped).toBe(true);
    // OAR ends a deleted job asynchronously
    const id = manifest.oarJob?.id as number;
    let state = '';
    for (let i = 0; i < 60; i++) {
      state = (await oar.job(id)).state;
      if (state === 'Terminated' || state === 'Error') break;
      await sleep(1000);
    }
    expect(['Terminated', 'Error']).toContain(state);
  }, 1_500_000);
});
