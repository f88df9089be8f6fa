#!/usr/bin/env node
// Benchmark of the qemu flavours (issue 5): `start` of the real demo build (examples/demo on
// the test OS, built by real Nix) until every node answers SSH and is ready, for 1 and 3 VMs,
// and nxc's own overhead = time not spent waiting for guests:
//   prep    start() called -> QEMU launched (accel probe, ports, deployment document)
//   launch  `qemu -daemonize` of every VM (QEMU's own start-up, before the guest runs)
//   post    last node ready -> start() returns (host keys saved, state written)
//   stop    stop() until no QEMU process is left
// Targets: overhead (prep + post) under 300 ms per node; stop of 3 VMs under 1 s (issue #17).
// Needs the package built (`pnpm turbo run build --filter @nxc/flavour-qemu...`), qemu, nix.
// NXC_BENCH_SIZES=1,3 NXC_BENCH_RUNS=2 NXC_BENCH_FLAVOUR=vm-ramdisk|vm
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeProject, readComposeInfo } from '@nxc/core';
import { buildDeploymentDocument, writeDeploymentDocument } from '@nxc/core/flavour';
import { mdTable, writeResults } from '../../../scripts/bench-results.mjs';
import { buildDemo } from '../test/demo-build.mjs';

const SIZES = (process.env.NXC_BENCH_SIZES ?? '1,3').split(',').map(Number);
const RUNS = Number(process.env.NXC_BENCH_RUNS ?? 2);
const FLAVOUR = process.env.NXC_BENCH_FLAVOUR ?? 'vm-ramdisk';
const now = () => performance.now();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${Math.round(x)} ms`;

const t0 = now();
const { default: plugin, qemuOptionsSchema } = await import('../dist/index.js');
const tIndex = now() - t0;
const t1 = now();
const deployer = await plugin.flavours.find((f) => f.name === FLAVOUR).deployer();
const tDeployer = now() - t1;
const info = await readComposeInfo(buildDemo(FLAVOUR));

const root = mkdtempSync(join(tmpdir(), 'nxc-bench-qemu-'));
const project = makeProject(root, {
  plugins: [],
  composition: 'composition.nix',
  nix: { flags: [], overrideInputs: {} },
  flavourOptions: {},
});
for (const d of [project.buildDir, project.deployDir, project.artifactDir]) mkdirSync(d, { recursive: true });
const key = join(root, 'id_ed25519');
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
const identity = { privateKeyPath: key, publicKey: readFileSync(`${key}.pub`, 'utf8').trim() };
const stateFile = join(project.deployDir, `composition::${FLAVOUR}.state.json`);

async function once(n) {
  const marks = {};
  const nodes = [
    { role: 'server', host: 'server' },
    ...Array.from({ length: n - 1 }, (_, i) => ({
      role: 'client',
      host: n - 1 === 1 ? 'client' : `client${i + 1}`,
    })),
  ];
  let booted = 0;
  let ready = 0;
  const reporter = {
    emit(e) {
      if (e.type === 'step' && e.message.startsWith('booting')) marks.launch = now();
      if (e.type === 'node' && e.state === 'booting' && ++booted === n) marks.launched = now();
      if (e.type === 'node' && e.state === 'ready' && ++ready === n) marks.ready = now();
    },
  };
  const ctx = {
    project,
    composition: 'composition',
    flavour: FLAVOUR,
    reporter,
    signal: new AbortController().signal,
    composeInfo: info,
    nodes,
    identity,
    wait: true,
    timeoutMs: 300_000,
    // parsed by the flavour's schema, as core does
    options: qemuOptionsSchema.parse({
      accel: process.env.NXC_BENCH_ACCEL ?? 'auto',
      memory: 256,
    }),
    async writeDeployment(deployed) {
      const doc = buildDeploymentDocument({
        composeInfo: info,
        nodes: deployed,
        sshPublicKey: identity.publicKey,
        user: 'root',
      });
      await writeDeploymentDocument(project, 'composition', FLAVOUR, doc);
      return doc;
    },
    async saveState(state) {
      writeFileSync(stateFile, JSON.stringify(state));
    },
  };
  const start = now();
  await deployer.start(ctx);
  const end = now();
  const running = { ...ctx, deployment: {}, state: JSON.parse(readFileSync(stateFile, 'utf8')) };
  const s0 = now();
  await deployer.stop(running);
  const stop = now() - s0;
  return {
    total: end - start,
    prep: marks.launch - start,
    launch: marks.launched - marks.launch,
    guest: marks.ready - marks.launched,
    post: end - marks.ready,
    stop,
  };
}

console.log(
  `qemu flavour ${FLAVOUR}: import index ${ms(tIndex)}, deployer ${ms(tDeployer)}; ${RUNS} runs per size, medians`,
);
const table = [];
try {
  const warm = await once(1); // warm-up: page cache, accelerator choice
  console.log(
    `first start of the process: prep ${ms(warm.prep)} (includes the accelerator choice: a KVM probe of up to 2 s unless cached in ~/.cache/nxc/accel.json)`,
  );
  for (const n of SIZES) {
    const runs = [];
    for (let r = 0; r < RUNS; r++) runs.push(await once(n));
    const m = (k) => median(runs.map((x) => x[k]));
    const overhead = m('prep') + m('post');
    console.log(
      `${n} VM${n > 1 ? 's' : ' '}: start-to-SSH-ready ${ms(m('total'))} (guest boot ${ms(m('guest'))}) | nxc overhead ${ms(overhead)} = ${ms(overhead / n)}/node (prep ${ms(m('prep'))}, post ${ms(m('post'))}) | qemu launch ${ms(m('launch'))} | stop ${ms(m('stop'))}`,
    );
    const overheadVerdict = overhead / n <= 300 ? 'MET' : 'NOT MET';
    const stopVerdict = m('stop') < 1000 ? 'MET' : 'NOT MET';
    console.log(`  nxc overhead ${ms(overhead / n)}/node (goal: <= 300 ms/node): ${overheadVerdict}`);
    console.log(`  stop ${ms(m('stop'))} (goal: < 1 s): ${stopVerdict}`);
    table.push([
      n,
      ms(m('total')),
      ms(m('guest')),
      `${ms(overhead / n)}: ${overheadVerdict}`,
      ms(m('launch')),
      `${ms(m('stop'))}: ${stopVerdict}`,
    ]);
  }
  writeResults(
    `qemu-${FLAVOUR}`,
    `QEMU flavour ${FLAVOUR}: start and stop of the real demo`,
    'node plugins/flavour-qemu/bench/start.bench.mjs',
    [
      `The flavour's deployer on the demo built by real Nix; medians of ${RUNS} runs per size. nxc overhead =`,
      'prep (start() called -> QEMU launched) + post (last node ready -> start() returns); stop = stop()',
      'until no QEMU process is left.',
      '',
      ...mdTable(
        [
          'VMs',
          'start to SSH-ready',
          'guest boot',
          'nxc overhead per VM (goal ≤ 300 ms)',
          'qemu launch',
          'stop (goal < 1 s)',
        ],
        table,
        ['---:', '---:', '---:', '---', '---:', '---'],
      ),
    ],
  );
} catch (e) {
  console.log(`FAILED: ${e.message}${e.details ? `\n${e.details}` : ''}`);
  process.exitCode = 1;
} finally {
  rmSync(root, { recursive: true, force: true });
}
