#!/usr/bin/env node
// Cold-start time of the `nxc` CLI: `nxc --help` (commander only, target < 150 ms), and
// `nxc status` and `nxc flavours` in examples/demo (config discovery, the deployments list,
// plugin loading), against bare `node -e 0`: target within 60 ms of it (issue #17).
// Each run is a fresh process; prints median and p90 over N runs (NXC_BENCH_RUNS, default 20)
// of wall time, and of CPU time (user+sys, via /usr/bin/time when present), which stays
// meaningful when the machine is busy.
// NXC_BENCH_NODE=/path/to/node measures under another Node.js binary (e.g. Node 22, where the CLI
// turns on Node's on-disk compile cache); its figures go to their own section of bench/RESULTS.md.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mdTable, writeResults } from './bench-results.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nxc = join(root, 'apps/cli/dist/cli.js');
const demo = join(root, 'examples/demo');
const runs = Number(process.env.NXC_BENCH_RUNS ?? 20);
const nodeBin = process.env.NXC_BENCH_NODE ?? process.execPath;
const nodeVersion =
  nodeBin === process.execPath
    ? process.version
    : spawnSync(nodeBin, ['--version'], { encoding: 'utf8' }).stdout?.trim();
if (!nodeVersion) {
  console.error(`bench-cli: NXC_BENCH_NODE=${nodeBin} does not run (\`${nodeBin} --version\` failed)`);
  process.exit(1);
}
const major = Number(/^v(\d+)/.exec(nodeVersion)?.[1]);

if (!existsSync(nxc)) {
  console.error(`bench-cli: ${nxc} is missing; build first: pnpm turbo run build --filter @nxc/cli...`);
  process.exit(1);
}

const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const CPU_MARK = 'NXC_BENCH_CPU';

function measure(label, args, cwd) {
  const times = [];
  const cpu = [];
  let failure;
  spawnSync(nodeBin, args, { cwd, stdio: 'ignore' }); // warm the file cache (and Node's compile cache) once
  for (let i = 0; i < runs; i++) {
    const [cmd, argv] = timeBin ? [timeBin, ['-f', `${CPU_MARK} %U %S`, nodeBin, ...args]] : [nodeBin, args];
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, argv, { cwd, encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const m = new RegExp(`${CPU_MARK} ([\\d.]+) ([\\d.]+)`).exec(r.stderr ?? '');
    if (m) cpu.push((Number(m[1]) + Number(m[2])) * 1000);
    if (r.status !== 0) failure = `exit ${r.status}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`;
    times.push(ms);
  }
  const stats = (xs) => {
    xs.sort((a, b) => a - b);
    const pick = (q) => xs[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];
    return { median: pick(0.5), p90: pick(0.9), min: xs[0] };
  };
  return { label, ...stats(times), cpu: cpu.length ? stats(cpu) : undefined, failure };
}

const rows = [
  measure('node -e 0 (baseline)', ['-e', '0'], root),
  measure('nxc --help', [nxc, '--help'], root),
];
if (existsSync(demo)) {
  rows.push(measure('nxc status (examples/demo)', [nxc, 'status'], demo));
  rows.push(measure('nxc flavours (examples/demo)', [nxc, 'flavours'], demo));
} else console.log('(examples/demo missing: nxc flavours not measured)');

const f = (x) => (x === undefined ? '-' : x.toFixed(1)).padStart(8);
console.log(
  `cold start under Node.js ${nodeVersion}, over ${runs} runs (ms); load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(
  `${'command'.padEnd(32)} ${'median'.padStart(8)} ${'p90'.padStart(8)} ${'min'.padStart(8)} ${'cpu med'.padStart(8)} ${'cpu p90'.padStart(8)}`,
);
for (const r of rows) {
  console.log(
    `${r.label.padEnd(32)} ${f(r.median)} ${f(r.p90)} ${f(r.min)} ${f(r.cpu?.median)} ${f(r.cpu?.p90)}${r.failure ? `  FAILED (${r.failure})` : ''}`,
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
    `Fresh process per run, ${runs} runs per command, medians; CPU = user + sys (via /usr/bin/time), which`,
    'stays meaningful when the machine is busy (the wall figures grow with the load average).',
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
          i === 0 ? '' : `+${(r.median - base.median).toFixed(0)} ms`,
          i === 0 || !r.cpu || !base.cpu ? '' : `+${(r.cpu.median - base.cpu.median).toFixed(0)} ms`,
          i === 1 ? `< 150 ms: ${help.median < 150 ? 'MET' : 'NOT MET'}` : g ? `≤ +60 ms: ${g.verdict}` : '',
        ];
      }),
      ['---', '---:', '---:', '---:', '---:', '---:', '---'],
    ),
  ],
);
process.exit(rows.some((r) => r.failure) ? 1 : 0);
