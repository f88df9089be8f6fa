#!/usr/bin/env node
// Benchmark of the docker flavour on the real engine (issue 4 targets):
//  - `start` until every node is ready, and until it returns, for 2, 10 and 30 nodes;
//  - the engine's floor: the same containers created and started in parallel directly
//    through the API, with nothing else (network created first, like nxc does);
//  - `stop` for 30 nodes.
// Targets: ready(30) <= 1.2 x floor(30); returns <= 200 ms after the last ready; stop(30) < 3 s;
// real demo nodes (issue #17): ready(30) and ready(100) <= 1.3 x the floor of the same size.
// "engine rm" is the floor's own teardown: the same running containers force-removed in parallel.
// Needs the package built (`pnpm turbo run build --filter @nxc/flavour-docker...`) and dockerd.
// Two series: trivial nodes (the tests' busybox stand-in, whose init prints NXC_READY at
// once, as the issue's reference figures use trivial containers) against which the targets
// are checked; then the real demo build (examples/demo built by real Nix on the test OS: nxc's
// boot script + the role's init), whose ready time adds the nodes' own boot work.
// NXC_BENCH_BUILD=fake|demo runs one series only.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, loadProject } from '@nxc/core';
import Docker from 'dockerode';
import { mdTable, writeResults } from '../../../scripts/bench-results.mjs';
import { OFFLINE_NIX_FLAGS, demoProject } from '../../../test/fixtures/demo-project.mjs';
import { fakeBuild } from '../test/fake-build.mjs';

const SIZES = (process.env.NXC_BENCH_SIZES ?? '2,10,30').split(',').map(Number);
// the real demo also at 100 nodes (issue #17)
const DEMO_SIZES = (process.env.NXC_BENCH_DEMO_SIZES ?? '2,10,30,100').split(',').map(Number);
const RUNS = Number(process.env.NXC_BENCH_RUNS ?? 3);
// bound on one start until every node is ready: 100 real nodes on a loaded 2-core machine
// (load average 100) took longer than 120 s
const TIMEOUT_MS = Number(process.env.NXC_BENCH_TIMEOUT_S ?? 600) * 1000;
const now = () => performance.now();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;

const t0 = now();
const { default: plugin, dockerOptionsSchema } = await import('../dist/index.js');
const tIndex = now() - t0;
const t1 = now();
const deployer = await plugin.flavours[0].deployer();
const tDeployer = now() - t1;

const docker = new Docker();

/**
 * Removes what an earlier run that was killed left behind: containers, networks and volumes
 * labelled `nxc.bench=PID` where PID no longer runs (a run cleans up its own at the end).
 */
async function sweepDeadRuns() {
  const dead = (labels) => {
    const pid = Number(labels?.['nxc.bench']);
    if (!Number.isInteger(pid) || pid <= 0) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (error) {
      return error?.code === 'ESRCH';
    }
  };
  const filters = JSON.stringify({ label: ['nxc.bench'] });
  const swept = [];
  for (const c of await docker.listContainers({ all: true, filters }))
    if (dead(c.Labels)) {
      await docker.getContainer(c.Id).remove({ force: true });
      swept.push(`container ${c.Names?.[0] ?? c.Id}`);
    }
  for (const n of await docker.listNetworks({ filters }))
    if (dead(n.Labels)) {
      await docker.getNetwork(n.Id).remove();
      swept.push(`network ${n.Name}`);
    }
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? [])
    if (dead(v.Labels)) {
      await docker.getVolume(v.Name).remove();
      swept.push(`volume ${v.Name}`);
    }
  if (swept.length) console.log(`removed what killed runs left: ${swept.join(', ')}`);
}
await sweepDeadRuns();
const work = mkdtempSync(join(tmpdir(), 'nxc-bench-docker-'));
const SERIES = process.env.NXC_BENCH_BUILD ? [process.env.NXC_BENCH_BUILD] : ['fake', 'demo'];
let info;
const root = join(work, 'project');
const project = {
  root,
  buildDir: join(root, 'build'),
  deployDir: join(root, 'deploy'),
  artifactDir: join(root, 'artifact'),
  config: {
    plugins: [],
    composition: 'composition.nix',
    nix: { flags: [], overrideInputs: {} },
    flavourOptions: {},
  },
};
for (const d of [project.buildDir, project.deployDir, project.artifactDir]) mkdirSync(d, { recursive: true });
const docFile = join(project.deployDir, 'composition::docker.json');
const base = {
  project,
  composition: 'composition',
  flavour: 'docker',
  identity: { privateKeyPath: '/dev/null', publicKey: 'ssh-ed25519 AAAA bench' },
};
const reporterOf = (events) => ({ emit: (e) => events.push({ at: now(), ...e }) });
const running = () => ({
  ...base,
  reporter: reporterOf([]),
  signal: new AbortController().signal,
  deployment: { deployment: {} },
  options: dockerOptionsSchema.parse({}),
  state: undefined,
});

/** The real demo's compose info, built by core's build() (real Nix, test OS). */
async function buildDemo() {
  process.env.NXC_NIX_FLAGS ??= OFFLINE_NIX_FLAGS;
  const demo = demoProject('nxc-bench-demo-');
  try {
    return (await build(await loadProject(demo.dir), { flavour: 'docker' })).composeInfo;
  } finally {
    demo.cleanup();
  }
}

async function nxcStart(n) {
  const events = [];
  const nodes = Array.from({ length: n }, (_, i) => ({ role: 'client', host: `client${i + 1}` }));
  const ctx = {
    ...base,
    reporter: reporterOf(events),
    signal: new AbortController().signal,
    composeInfo: info,
    nodes,
    wait: true,
    timeoutMs: TIMEOUT_MS,
    options: dockerOptionsSchema.parse({}),
    async writeDeployment(deployed) {
      const doc = {
        deployment: Object.fromEntries(
          deployed.map((d) => [d.address, { role: d.role, host: d.host, init: d.init }]),
        ),
        'ssh_key.pub': base.identity.publicKey,
        composition: 'composition',
        flavour: 'docker',
        user: 'root',
      };
      writeFileSync(docFile, JSON.stringify(doc));
      return doc;
    },
    async saveState() {},
  };
  const start = now();
  await deployer.start(ctx);
  const returned = now() - start;
  const readyAt = events.filter((e) => e.type === 'node' && e.state === 'ready').map((e) => e.at);
  if (readyAt.length !== n) throw new Error(`expected ${n} ready events, got ${readyAt.length}`);
  const ready = Math.max(...readyAt) - start;
  const s = now();
  await deployer.stop(running());
  return { ready, returned, stop: now() - s };
}

/** The engine's floor: same image, mounts, network and static addresses, created+started in parallel. */
/**
 * Removes the floor's network. Right after 100 containers were force-removed at once, the engine
 * may still count an endpoint for a while ("has active endpoints"): retry for up to a minute,
 * then leave it (Docker 20.10 under heavy load was seen keeping such a count for good; each
 * floor has its own network name and subnet, so the next one is not affected) and say so.
 */
const staleNetworks = [];
async function removeNetwork(name) {
  for (let i = 0; ; i++) {
    try {
      await docker.getNetwork(name).remove();
      return;
    } catch (error) {
      if (!/active endpoints/.test(String(error?.message))) throw error;
      if (i >= 60) {
        console.warn(`warning: the engine keeps an endpoint on ${name}: left (docker network rm ${name})`);
        staleNetworks.push(name);
        return;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

let floors = 0;
async function floor(n) {
  const k = 1 + (floors++ % 200);
  const name = `nxc-bench-floor-${process.pid}-${k}`;
  const labels = { 'nxc.bench': String(process.pid) };
  const subnet = `10.213.${k}.0/24`;
  // a document naming every node, so the floor's containers run (and are removed running) like nxc's
  const deployment = Object.fromEntries(
    Array.from({ length: n }, (_, i) => [
      `10.213.${k}.${i + 2}`,
      { role: 'client', host: `client${i + 1}`, init: info.roles.client.init },
    ]),
  );
  writeFileSync(
    docFile,
    JSON.stringify({
      deployment,
      'ssh_key.pub': '',
      composition: 'composition',
      flavour: 'docker',
      user: 'root',
    }),
  );
  const start = now();
  await docker.createNetwork({
    Name: name,
    Driver: 'bridge',
    Labels: labels,
    IPAM: { Config: [{ Subnet: subnet, Gateway: `10.213.${k}.1` }] },
  });
  await docker.createVolume({ Name: name, Labels: labels });
  const containers = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const host = `client${i + 1}`;
      const c = await docker.createContainer({
        name: `${name}-${host}`,
        Hostname: host,
        Image: `nxc-base:${info.all.docker_image.split('/').pop().slice(0, 32)}`,
        Cmd: [info.roles.client.init],
        Labels: labels,
        HostConfig: {
          Init: true,
          CapAdd: ['NET_ADMIN', 'NET_RAW'],
          Mounts: [
            { Type: 'bind', Source: '/nix/store', Target: '/nix/store', ReadOnly: true },
            { Type: 'bind', Source: docFile, Target: '/etc/nxc/deployment.json', ReadOnly: true },
            { Type: 'volume', Source: name, Target: '/var/nxc/shared' },
          ],
          Tmpfs: {
            '/run': 'rw,exec,mode=755',
            '/run/wrappers': 'rw,exec,suid,mode=755',
            '/tmp': 'rw,exec,mode=1777',
          },
          NetworkMode: name,
        },
        NetworkingConfig: {
          EndpointsConfig: {
            [name]: { Aliases: [host], IPAMConfig: { IPv4Address: `10.213.${k}.${i + 2}` } },
          },
        },
      });
      await c.start();
      return c;
    }),
  );
  const started = now() - start;
  const s = now();
  await Promise.all(containers.map((c) => c.remove({ force: true })));
  const removed = now() - s;
  await removeNetwork(name);
  await docker.getVolume(name).remove();
  return { started, removed };
}

const tables = [];
const goals = [];
try {
  console.log(
    `load: index ${tIndex.toFixed(0)} ms, deployer (dockerode) ${tDeployer.toFixed(0)} ms (paid once per nxc start)`,
  );
  for (const series of SERIES) {
    info = series === 'fake' ? fakeBuild(join(work, 'fake')) : await buildDemo();
    // warm-up: imports the base image once, so no run pays for it
    await nxcStart(1);
    const runs = series === 'fake' ? RUNS : Math.min(RUNS, 1);
    console.log(
      `\n${series === 'fake' ? 'trivial nodes (targets checked)' : 'real demo nodes (boot script + role init)'}; runs per size: ${runs} (median shown)`,
    );
    console.log(
      'nodes | engine floor | nxc ready | ratio | nxc returned | return-ready | nxc stop | engine rm',
    );
    const verdicts = [];
    const rows = [];
    for (const n of series === 'fake' ? SIZES : DEMO_SIZES) {
      const f = [];
      const x = [];
      for (let r = 0; r < runs; r++) {
        f.push(await floor(n));
        x.push(await nxcStart(n));
      }
      const fl = median(f.map((v) => v.started));
      const ready = median(x.map((v) => v.ready));
      const returned = median(x.map((v) => v.returned));
      const lag = median(x.map((v) => v.returned - v.ready));
      const stop = median(x.map((v) => v.stop));
      const rm = median(f.map((v) => v.removed));
      console.log(
        `${String(n).padStart(5)} | ${fmt(fl).padStart(12)} | ${fmt(ready).padStart(9)} | ${(ready / fl).toFixed(2).padStart(5)} | ${fmt(returned).padStart(12)} | ${`${lag.toFixed(0)} ms`.padStart(12)} | ${fmt(stop).padStart(8)} | ${fmt(rm).padStart(9)}`,
      );
      let goal = '';
      if (n === 30 && series === 'fake') {
        const r = ready / fl <= 1.2 ? 'MET' : 'NOT MET';
        goal = `≤ 1.2 ×: ${r}`;
        verdicts.push(`30 nodes: ready/floor ${(ready / fl).toFixed(2)} (goal: <= 1.2): ${r}`);
        verdicts.push(
          `30 nodes: return-ready ${lag.toFixed(0)} ms (goal: <= 200 ms): ${lag <= 200 ? 'MET' : 'NOT MET'}`,
        );
        verdicts.push(`30 nodes: stop ${fmt(stop)} (goal: < 3 s): ${stop < 3000 ? 'MET' : 'NOT MET'}`);
      }
      if ((n === 30 || n === 100) && series === 'demo') {
        const r = ready / fl <= 1.3 ? 'MET' : 'NOT MET';
        goal = `≤ 1.3 ×: ${r}`;
        verdicts.push(`${n} real demo nodes: ready/floor ${(ready / fl).toFixed(2)} (goal: <= 1.3): ${r}`);
      }
      rows.push([
        n,
        fmt(fl),
        fmt(ready),
        `${(ready / fl).toFixed(2)}`,
        fmt(returned),
        `${lag.toFixed(0)} ms`,
        fmt(stop),
        fmt(rm),
        goal,
      ]);
    }
    tables.push(
      '',
      series === 'fake'
        ? `Trivial nodes (busybox stand-in whose init is ready at once), median of ${runs} runs:`
        : `Real demo nodes (the demo built by real Nix: boot script + role init), ${runs} run:`,
      '',
      ...mdTable(
        [
          'nodes',
          'engine floor',
          'nxc ready',
          'ready / floor',
          'nxc returned',
          'return - ready',
          'nxc stop',
          'engine rm',
          'goal',
        ],
        rows,
        ['---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---'],
      ),
    );
    goals.push(...verdicts);
    for (const v of verdicts) console.log(v);
  }
  writeResults(
    'docker',
    'docker flavour: nodes ready against the engine floor',
    'node plugins/flavour-docker/bench/start.bench.mjs',
    [
      'Engine floor = the same containers created and started in parallel through the Docker API, nothing',
      'else, measured in the same run; nxc ready = `start()` until every node reported ready.',
      ...tables,
      '',
      ...goals.map((g) => `- ${g}`),
    ],
  );
} finally {
  await deployer.stop(running()).catch(() => {});
  const leftovers = await docker.listContainers({
    all: true,
    filters: JSON.stringify({ label: [`nxc.bench=${process.pid}`] }),
  });
  await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  for (const name of staleNetworks)
    await docker
      .getNetwork(name)
      .remove()
      .catch(() => {});
  rmSync(work, { recursive: true, force: true });
}
