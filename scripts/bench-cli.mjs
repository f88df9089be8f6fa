#!/usr/bin/env node
// Cold-start time of the `nxc` CLI: `nxc --help` (commander only, target < 150 ms), and
// `nxc status` and `nxc flavours` in examples/demo (config discovery, the deployments list,
// plugin loading), against bare `node -e 0`: target within 60 ms of it (issue #17).
// Each run is a fresh process; prints median and p90 over N runs (NXC_BENCH_RUNS, default 20)
// of wall time, and of CPU time (user+sys, via /usr/bin/time when present), which stays
// meaningful when the machine is busy.
// With a Docker engine and Nix, it also times `nxc status` and `nxc exec` on a running docker
// deployment (a copy of examples/demo built against the offline test OS, 2 nodes), where the
// docker plugin and its Engine API client are loaded: no goal of their own, they show what an
// everyday command costs beyond the bare CLI (NXC_BENCH_DOCKER=0 skips them).
// NXC_BENCH_NODE=/path/to/node measures under another Node.js binary (e.g. Node 22, where the CLI
// turns on Node's on-disk compile cache); its figures go to their own section of bench/RESULTS.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OFFLINE_NIX_FLAGS, demoProject } from '../test/fixtures/demo-project.mjs';
import { benchNode, mdTable, writeResults } from './bench-results.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nxc = join(root, 'apps/cli/dist/cli.js');
const demo = join(root, 'examples/demo');
const runs = Number(process.env.NXC_BENCH_RUNS ?? 20);
const other = benchNode('bench-cli');
const nodeBin = other?.bin ?? process.execPath;
const nodeVersion = other?.version ?? process.version;
const major = Number(/^v(\d+)/.exec(nodeVersion)?.[1]);

if (!existsSync(nxc)) {
  console.error(`bench-cli: ${nxc} is missing; build first: pnpm turbo run build --filter @nxc/cli...`);
  process.exit(1);
}

const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const CPU_MARK = 'NXC_BENCH_CPU';

/** One run of `node ARGS` in `cwd`: wall ms, CPU ms (when /usr/bin/time is there), failure. */
function runOnce(args, cwd) {
  const [cmd, argv] = timeBin ? [timeBin, ['-f', `${CPU_MARK} %U %S`, nodeBin, ...args]] : [nodeBin, args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { cwd, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const m = new RegExp(`${CPU_MARK} ([\\d.]+) ([\\d.]+)`).exec(r.stderr ?? '');
  return {
    ms,
    cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : undefined,
    failure: r.status !== 0 ? `exit ${r.status}: ${(r.stderr || r.stdout).trim().split('\n')[0]}` : undefined,
  };
}

/**
 * Times every command `runs` times, in turn (baseline, then each command, then again), so that
 * a drift of the shared machine's speed hits all of them alike: the differences to the baseline
 * stay meaningful where separate blocks of runs would not.
 */
function measureInTurn(commands) {
  for (const c of commands) spawnSync(nodeBin, c.args, { cwd: c.cwd, stdio: 'ignore' }); // warm caches once
  const samples = commands.map(() => ({ times: [], cpu: [], failure: undefined }));
  for (let i = 0; i < runs; i++) {
    commands.forEach((c, k) => {
      const r = runOnce(c.args, c.cwd);
      samples[k].times.push(r.ms);
      if (r.cpu !== undefined) samples[k].cpu.push(r.cpu);
      if (r.failure) samples[k].failure = r.failure;
    });
  }
  const stats = (xs) => {
    xs.sort((a, b) => a - b);
    const pick = (q) => xs[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];
    return { median: pick(0.5), p90: pick(0.9), min: xs[0] };
  };
  return commands.map((c, k) => ({
    label: c.label,
    ...stats(samples[k].times),
    cpu: samples[k].cpu.length ? stats(samples[k].cpu) : undefined,
    failure: samples[k].failure,
  }));
}

const commands = [
  { label: 'node -e 0 (baseline)', args: ['-e', '0'], cwd: root },
  { label: 'nxc --help', args: [nxc, '--help'], cwd: root },
];
if (existsSync(demo)) {
  commands.push({ label: 'nxc status (examples/demo)', args: [nxc, 'status'], cwd: demo });
  commands.push({ label: 'nxc flavours (examples/demo)', args: [nxc, 'flavours'], cwd: demo });
} else console.log('(examples/demo missing: nxc flavours not measured)');

/**
 * A copy of examples/demo built for docker against the offline test OS and started (2 nodes),
 * or why not. `stop()` stops it and removes the copy.
 */
function runningDockerDemo() {
  if (process.env.NXC_BENCH_DOCKER === '0') return { reason: 'NXC_BENCH_DOCKER=0' };
  if (spawnSync('docker', ['info'], { stdio: 'ignore' }).status !== 0)
    return { reason: 'no Docker engine answers' };
  if (spawnSync('nix', ['--version'], { stdio: 'ignore' }).status !== 0) return { reason: 'no Nix' };
  process.env.NXC_NIX_FLAGS ??= OFFLINE_NIX_FLAGS;
  const project = demoProject('nxc-bench-cli-');
  const run = (...args) =>
    execFileSync(nodeBin, [nxc, ...args], { cwd: project.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const stop = () => {
    spawnSync(nodeBin, [nxc, 'stop'], { cwd: project.dir, stdio: 'ignore' });
    project.cleanup();
  };
  try {
    run('build', '-f', 'docker');
    run('start', '-f', 'docker');
    // the nodes are ready, but their services may still be starting: let them settle first
    spawnSync('sleep', ['10']);
    return { dir: project.dir, stop };
  } catch (error) {
    stop();
    return {
      reason: `the demo did not build and start: ${String(error.stderr ?? error.message)
        .trim()
        .split('\n')
        .pop()}`,
    };
  }
}

// the goal rows first, on an idle machine; then the rows on a running deployment (its nodes
// idle, but running), in turn with the baseline again
const rows = measureInTurn(commands);
const running = existsSync(demo) ? runningDockerDemo() : { reason: 'examples/demo missing' };
if (running.dir) {
  try {
    const [runningBase, ...measured] = measureInTurn([
      commands[0],
      { label: 'nxc status (2 docker nodes running)', args: [nxc, 'status'], cwd: running.dir },
      {
        label: 'nxc exec all -- true (2 docker nodes)',
        args: [nxc, 'exec', 'all', '--', 'true'],
        cwd: running.dir,
      },
    ]);
    // compared with the baseline measured in turn with them; no goal of their own
    rows.push(...measured.map((r) => ({ ...r, base: runningBase })));
  } finally {
    running.stop();
  }
} else console.log(`(no running docker deployment measured: ${running.reason})`);

const f = (x) => (x === undefined ? '-' : x.toFixed(1)).padStart(8);
console.log(
  `cold start under Node.js ${nodeVersion}, over ${runs} runs (ms); load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(
  `${'command'.padEnd(40)} ${'median'.padStart(8)} ${'p90'.padStart(8)} ${'min'.padStart(8)} ${'cpu med'.padStart(8)} ${'cpu p90'.padStart(8)}`,
);
for (const r of rows) {
  console.log(
    `${r.label.padEnd(40)} ${f(r.median)} ${f(r.p90)} ${f(r.min)} ${f(r.cpu?.median)} ${f(r.cpu?.p90)}${r.failure ? `  FAILED (${r.failure})` : ''}`,
  );
}
const help = rows[1];
const cpuNote = help.cpu ? `, CPU ${help.cpu.median.toFixed(0)} ms` : '';
const busy = help.median >= 150 && loadavg()[0] > 2 ? ' (machine busy: compare the CPU column)' : '';
console.log(
  `nxc --help: median ${help.median.toFixed(1)} ms wall${cpuNote} (goal: under 150 ms): ${help.median < 150 ? 'MET' : 'NOT MET'}${busy}`,
);
const base = rows[0];
const goalRows = [];
for (const r of rows.slice(2)) {
  if (r.base) continue; // a row on the running deployment
  const over = r.median - base.median;
  const cpuOver = r.cpu && base.cpu ? r.cpu.median - base.cpu.median : undefined;
  const cpuText = cpuOver === undefined ? '' : `, CPU +${cpuOver.toFixed(0)} ms`;
  const verdict = over <= 60 ? 'MET' : 'NOT MET';
  goalRows.push({ r, over, cpuOver, verdict });
  console.log(`${r.label}: +${over.toFixed(1)} ms over node -e 0${cpuText} (goal: within 60 ms): ${verdict}`);
}
const ms = (x) => (x === undefined ? '-' : `${x.toFixed(0)} ms`);
const own = nodeBin === process.execPath;
writeResults(
  own ? 'cli' : `cli-node${major}`,
  `CLI cold start${own ? '' : ` under Node.js ${major}`} (\`nxc --help\`, \`nxc status\`, \`nxc flavours\` in examples/demo)`,
  own ? 'node scripts/bench-cli.mjs' : `NXC_BENCH_NODE=(Node.js ${nodeVersion}) node scripts/bench-cli.mjs`,
  [
    `Measured under Node.js ${nodeVersion}${major >= 22 ? " (the CLI turns on Node's on-disk compile cache: module.enableCompileCache, Node >= 22.1; the first, unmeasured run fills it)" : ''}.`,
    `Fresh process per run, ${runs} runs per command taken in turn (baseline, each command, again), medians;`,
    'CPU = user + sys (via /usr/bin/time), which',
    'stays meaningful when the machine is busy (the wall figures grow with the load average).',
    ...(running.dir
      ? [
          'The rows on 2 running docker nodes (a copy of examples/demo built against the offline test OS) load the',
          'docker plugin and its Engine API client and ask the engine: what an everyday command costs, no goal of its own.',
        ]
      : [`No running docker deployment was measured (${running.reason}).`]),
    '',
    ...mdTable(
      [
        'command',
        'wall median',
        'wall p90',
        'CPU median',
        'over node -e 0 (wall)',
        'over node -e 0 (CPU)',
        'goal',
      ],
      rows.map((r, i) => {
        const g = goalRows.find((x) => x.r === r);
        return [
          r.label,
          ms(r.median),
          ms(r.p90),
          ms(r.cpu?.median),
          i === 0 ? '' : `+${(r.median - (r.base ?? base).median).toFixed(0)} ms`,
          i === 0 || !r.cpu || !(r.base ?? base).cpu
            ? ''
            : `+${(r.cpu.median - (r.base ?? base).cpu.median).toFixed(0)} ms`,
          i === 1 ? `< 150 ms: ${help.median < 150 ? 'MET' : 'NOT MET'}` : g ? `≤ +60 ms: ${g.verdict}` : '',
        ];
      }),
      ['---', '---:', '---:', '---:', '---:', '---:', '---'],
    ),
  ],
);
process.exit(rows.some((r) => r.failure) ? 1 : 0);
