// bench/RESULTS.md: each bench keeps its own section there, the last run's figures with the
// machine it ran on. A section sits between `<!-- ID:begin -->` and `<!-- ID:end -->`; a run
// replaces its own section and leaves the others alone. Used by every scripts/bench*.mjs and
// */bench/*.bench.mjs.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
export const resultsFile = join(repo, 'bench/RESULTS.md');

/** `2026-12-01T10:52Z, commit a1eefd6` (the commit is `unknown` outside git). */
export function runStamp() {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: repo,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {}
  return `${new Date().toISOString().slice(0, 16)}Z, commit ${commit}`;
}

/**
 * The machine, one line: processors, memory, kernel, Node.js, and the load average at the end
 * of the run (the machine may be shared: a high load makes wall times longer).
 */
export function machineLine() {
  let cpu = 'unknown CPU';
  try {
    cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m) ?? [])[1] ?? cpu;
  } catch {}
  let kernel = 'unknown';
  try {
    kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  } catch {}
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM (${(freemem() / 2 ** 30).toFixed(0)} free at the end), Linux ${kernel}, Node.js ${process.versions.node}; load average at the end ${load}.`;
}

/**
 * Replaces (or appends) section `id` of bench/RESULTS.md: `## title`, a line with when, which
 * commit and which command, the machine, then `lines` (markdown).
 */
export function writeResults(id, title, command, lines) {
  const section = [
    `<!-- ${id}:begin -->`,
    `## ${title}`,
    '',
    `Last run ${runStamp()}, \`${command}\`;`,
    machineLine(),
    '',
    ...lines,
    `<!-- ${id}:end -->`,
  ].join('\n');
  let results;
  try {
    results = readFileSync(resultsFile, 'utf8');
  } catch {
    results = '# Benchmark results\n\nEach bench updates its own section (`pnpm bench`).\n';
  }
  const re = new RegExp(`<!-- ${id}:begin -->[\\s\\S]*<!-- ${id}:end -->`);
  results = re.test(results) ? results.replace(re, () => section) : `${results.trimEnd()}\n\n${section}\n`;
  mkdirSync(dirname(resultsFile), { recursive: true });
  writeFileSync(resultsFile, results);
  console.log(`(bench/RESULTS.md: section ${id} updated)`);
}

/** A markdown table from a header row and rows of cells. */
export function mdTable(header, rows, align = header.map(() => '---')) {
  return [
    `| ${header.join(' | ')} |`,
    `| ${align.join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/**
 * The Node.js binary named by NXC_BENCH_NODE, with its version (`v24.22.3`); undefined when
 * unset. A binary that does not run ends the bench at once, with one line naming it.
 */
export function benchNode(bench) {
  const bin = process.env.NXC_BENCH_NODE;
  if (!bin) return undefined;
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout?.trim();
  if (!version) {
    console.error(`${bench}: NXC_BENCH_NODE=${bin} does not run (\`${bin} --version\` failed)`);
    process.exit(1);
  }
  return { bin, version };
}
