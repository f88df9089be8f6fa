#!/usr/bin/env node
// Cold-start time of the `nxc` CLI: `nxc --help` (commander only, target < 150 ms) and
// `nxc flavours` in examples/demo (config discovery + plugin loading), against bare `node -e 0`.
// Each run is a fresh process; prints median and p90 over N runs (NXC_BENCH_RUNS, default 20).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nxc = join(root, 'apps/cli/dist/cli.js');
const demo = join(root, 'examples/demo');
const runs = Number(process.env.NXC_BENCH_RUNS ?? 20);

if (!existsSync(nxc)) {
  console.error(`bench-cli: ${nxc} is missing; build first: pnpm turbo run build --filter @nxc/cli...`);
  process.exit(1);
}

function measure(label, args, cwd) {
  const times = [];
  let failure;
  spawnSync(process.execPath, args, { cwd, stdio: 'ignore' }); // warm the file cache once
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) failure = `exit ${r.status}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`;
    times.push(ms);
  }
  times.sort((a, b) => a - b);
  const pick = (q) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)];
  return { label, median: pick(0.5), p90: pick(0.9), min: times[0], failure };
}

const rows = [
  measure('node -e 0 (baseline)', ['-e', '0'], root),
  measure('nxc --help', [nxc, '--help'], root),
];
if (existsSync(demo)) rows.push(measure('nxc flavours (examples/demo)', [nxc, 'flavours'], demo));
else console.log('(examples/demo missing: nxc flavours not measured)');

console.log(`cold start over ${runs} runs (ms)`);
console.log(`${'command'.padEnd(32)} ${'median'.padStart(8)} ${'p90'.padStart(8)} ${'min'.padStart(8)}`);
for (const r of rows) {
  console.log(
    `${r.label.padEnd(32)} ${r.median.toFixed(1).padStart(8)} ${r.p90.toFixed(1).padStart(8)} ${r.min.toFixed(1).padStart(8)}${r.failure ? `  FAILED (${r.failure})` : ''}`,
  );
}
const help = rows[1];
console.log(
  `nxc --help median ${help.median.toFixed(1)} ms: ${help.median < 150 ? 'within' : 'OVER'} the 150 ms target`,
);
process.exit(rows.some((r) => r.failure) ? 1 : 0);
