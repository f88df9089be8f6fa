#!/usr/bin/env node
// `nxc check` on a copy of examples/demo (real Nix, offline test OS): the whole command (node
// start, config, plugins, Nix library, `nix eval` of the compose info's derivation, the
// checks), once to warm Nix's evaluation, then NXC_BENCH_RUNS times (default 5) for a clean
// check and for one with an unknown role. Goal: < 2 s on the demo once Nix's cache is warm.
// Needs the CLI built (`pnpm turbo run build`) and Nix.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OFFLINE_NIX_FLAGS, demoProject } from '../test/fixtures/demo-project.mjs';
import { writeResults } from './bench-results.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const nxc = join(repo, 'apps/cli/dist/cli.js');
const RUNS = Number(process.env.NXC_BENCH_RUNS ?? 5);
const GOAL_MS = 2000;
if (!existsSync(nxc)) {
  console.error(`bench-check: ${nxc} is missing; build first: pnpm turbo run build --filter @nxc/cli...`);
  process.exit(1);
}

const demo = demoProject('nxc-bench-check-');
const env = { ...process.env, NXC_NIX_FLAGS: process.env.NXC_NIX_FLAGS ?? OFFLINE_NIX_FLAGS, NO_COLOR: '1' };
// CPU time (user+sys of nxc and Nix, via /usr/bin/time) stays meaningful when the machine is busy.
const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const CPU_MARK = 'NXC_BENCH_CPU';
const run = (args) => {
  const [cmd, argv] = timeBin
    ? [timeBin, ['-f', `${CPU_MARK} %U %S`, process.execPath, nxc, ...args]]
    : [process.execPath, [nxc, ...args]];
  const t = performance.now();
  const r = spawnSync(cmd, argv, { cwd: demo.dir, env, encoding: 'utf8' });
  const ms = performance.now() - t;
  const m = new RegExp(`${CPU_MARK} ([\\d.]+) ([\\d.]+)`).exec(r.stderr ?? '');
  const cpu = m ? (Number(m[1]) + Number(m[2])) * 1000 : undefined;
  const out = `${r.stdout}${(r.stderr ?? '').replace(new RegExp(`${CPU_MARK}.*\\n?`), '')}`.trim();
  return { ms, cpu, code: r.status, out };
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let failed = false;
const summary = [];
try {
  const warm = run(['check', '-f', 'docker']);
  console.log(
    `first check (Nix evaluation cold for this copy): ${(warm.ms / 1000).toFixed(2)} s, exit ${warm.code}`,
  );
  for (const [label, args, expected] of [
    ['nxc check -f docker', ['check', '-f', 'docker'], 0],
    ['nxc check -f docker -r sever=2', ['check', '-f', 'docker', '-r', 'sever=2'], 2],
  ]) {
    const times = [];
    const cpus = [];
    for (let i = 0; i < RUNS; i++) {
      const r = run(args);
      times.push(r.ms);
      if (r.cpu !== undefined) cpus.push(r.cpu);
      if (r.code !== expected) {
        failed = true;
        console.log(`!! ${label} exited ${r.code}, expected ${expected}: ${r.out.split('\n')[0]}`);
      }
    }
    const m = median(times);
    const cpu = cpus.length > 0 ? `, CPU ${(median(cpus) / 1000).toFixed(2)} s` : '';
    const busy = m >= GOAL_MS && loadavg()[0] > 2 ? ' (machine busy: compare the CPU time)' : '';
    const line = `${label} median ${(m / 1000).toFixed(2)} s wall${cpu} over ${RUNS} (load ${loadavg()[0].toFixed(1)}) (goal: < 2 s on the demo): ${m < GOAL_MS ? 'MET' : 'NOT MET'}${busy}`;
    console.log(line);
    summary.push(`- \`${label}\`: ${line.slice(label.length + 1)}`);
  }
  writeResults(
    'check',
    '`nxc check` on the demo (real Nix, offline test OS)',
    'node scripts/bench-check.mjs',
    ['The whole command, Nix evaluation cache warm (one check first); medians.', '', ...summary],
  );
} finally {
  demo.cleanup();
}
process.exit(failed ? 1 : 0);
