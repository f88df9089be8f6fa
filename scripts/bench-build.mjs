#!/usr/bin/env node
// Benchmark of `build()` (issue 3 targets) on copies of examples/demo built by real Nix
// against the offline test OS, once as a git work tree and once as a plain folder holding a
// real 60 MB node_modules/ (built from a mirror without it, issue 12):
//  - a second build with nothing changed, against the plain `nix build` of the same output
//    (target: at most 1 s more);
//  - a one-role change (the server's config), per flavour kind: time and derivations built
//    (target: only that role's derivations and what depends on them).
// Needs @nxc/core and the flavour plugins built (`pnpm turbo run build`) and Nix.
// NXC_BENCH_RUNS (default 5) runs per no-op figure; NXC_BENCH_CLI_RUNS (default 15) runs of the
// whole-process comparison; NXC_BENCH_FLAVOURS (default docker,vm-ramdisk); NXC_BENCH_PROJECTS
// (default git,folder); NXC_BENCH_NODE=/path/to/node also runs that comparison under that Node.js.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchNode, writeResults } from './bench-results.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const { build, loadProject } = await import(join(repo, 'packages/core/dist/index.js'));
const RUNS = Number(process.env.NXC_BENCH_RUNS ?? 5);
const FLAVOURS = (process.env.NXC_BENCH_FLAVOURS ?? 'docker,vm-ramdisk').split(',');
const KINDS = (process.env.NXC_BENCH_PROJECTS ?? 'git,folder').split(',');
/** Runs of the three-way CLI comparison (nxc build, plain nix build, the floor program). */
const CLI_RUNS = Number(process.env.NXC_BENCH_CLI_RUNS ?? 15);
/** The Node.js binaries the CLI runs under, with their versions: this one, and NXC_BENCH_NODE's. */
const other = benchNode('bench-build');
const NODES = [{ bin: process.execPath, version: process.version }, ...(other ? [other] : [])];
/**
 * The floor: what any Node.js program pays to run a Nix command and wait for it (Node's own
 * start and exit, one spawn), for the argv given as its argument.
 */
const FLOOR = [
  "const { spawn } = require('node:child_process');",
  'const argv = JSON.parse(process.argv[1]);',
  "const c = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });",
  'c.stdout.resume();',
  'c.stderr.resume();',
  "c.on('close', (code) => process.exit(code ?? 1));",
].join(' ');
const now = () => performance.now();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
/** The figure lines, for bench/RESULTS.md. */
const summary = [];

process.env.NXC_NIX_FLAGS ??= "--option substituters '' --option sandbox false";
execFileSync(join(repo, 'test/fixtures/testos/setup.sh'), { stdio: ['ignore', 'ignore', 'inherit'] });

async function bench(kind) {
  const dir = mkdtempSync(join(tmpdir(), `nxc-bench-build-${kind}-`));
  const inGit = kind === 'git';
  const git = (...args) => {
    if (inGit)
      execFileSync('git', ['-c', 'user.email=b@nxc', '-c', 'user.name=bench', ...args], {
        cwd: dir,
        stdio: 'ignore',
      });
  };
  try {
    const demo = join(repo, 'examples/demo');
    for (const f of ['flake.nix', 'composition.nix', 'nxc.json', 'package.json'])
      cpSync(join(demo, f), join(dir, f));
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    pkg.nxc.nix.overrideInputs = { nixpkgs: join(repo, 'test/fixtures/testos') };
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
    if (inGit) symlinkSync(join(demo, 'node_modules'), join(dir, 'node_modules'));
    else {
      // what a user's npm install leaves: a real folder, here 60 files of 1 MB
      mkdirSync(join(dir, 'node_modules/big'), { recursive: true });
      for (const [name, target] of Object.entries({ '@nxc': join(demo, 'node_modules/@nxc') }))
        symlinkSync(target, join(dir, 'node_modules', name));
      for (let i = 0; i < 60; i++)
        writeFileSync(join(dir, `node_modules/big/f${i}.js`), Buffer.alloc(1 << 20, i));
    }
    writeFileSync(join(dir, '.gitignore'), 'node_modules\nbuild\n.nxc\n');
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'demo');
    const project = await loadProject(dir);

    for (const flavour of FLAVOURS) {
      console.log(
        `-- ${flavour}, project ${inGit ? 'in a git work tree' : 'in a plain folder (+60 MB node_modules)'}`,
      );
      let t = now();
      const first = await build(project, { flavour });
      console.log(
        `first build (store may be warm): ${fmt(now() - t)}, ${first.targets[0].stats.built} derivations built`,
      );

      const ours = [];
      for (let i = 0; i < RUNS; i++) {
        t = now();
        const r = await build(project, { flavour });
        ours.push(now() - t);
        if (r.targets[0].stats.built !== 0)
          console.log(`!! no-op build built ${r.targets[0].stats.built} derivations`);
      }
      const [{ argv }] = (await build(project, { flavour, dryRun: true })).targets;
      const plain = argv.filter(
        (a, i) => !(a === '--log-format' || argv[i - 1] === '--log-format' || a === '-v'),
      );
      const nixOnly = [];
      for (let i = 0; i < RUNS; i++) {
        t = now();
        const r = spawnSync(plain[0], plain.slice(1), { cwd: dir, stdio: 'ignore' });
        nixOnly.push(now() - t);
        if (r.status !== 0) throw new Error(`plain nix build failed: ${plain.join(' ')}`);
      }
      const delta = median(ours) - median(nixOnly);
      const where = `${flavour}, ${inGit ? 'git work tree' : 'plain folder + 60 MB node_modules'}`;
      const noop = `no-op rebuild: build() ${fmt(median(ours))} vs plain nix build ${fmt(median(nixOnly))} (median of ${RUNS}): +${fmt(delta)} (goal: <= 1 s): ${delta <= 1000 ? 'MET' : 'NOT MET'}`;
      console.log(noop);
      summary.push(`- ${where}: ${noop}`);
      // the whole `nxc build` process against the plain `nix build` process and against the
      // floor of any Node.js program doing this job (one that only runs nxc's exact Nix command,
      // drains its output and exits with its status), the three run in turn (A B C A B C ...)
      // so that a drift of the shared machine's speed hits them alike (issue 17)
      for (const { bin: nodeBin, version: node } of NODES) {
        const cli = [];
        const paired = [];
        const floor = [];
        for (let i = 0; i < CLI_RUNS; i++) {
          t = now();
          const r = spawnSync(nodeBin, [join(repo, 'apps/cli/dist/cli.js'), 'build', '-f', flavour], {
            cwd: dir,
            stdio: 'ignore',
          });
          cli.push(now() - t);
          if (r.status !== 0) throw new Error(`nxc build -f ${flavour} failed`);
          t = now();
          spawnSync(plain[0], plain.slice(1), { cwd: dir, stdio: 'ignore' });
          paired.push(now() - t);
          t = now();
          const f = spawnSync(nodeBin, ['-e', FLOOR, JSON.stringify(argv)], { cwd: dir, stdio: 'ignore' });
          floor.push(now() - t);
          if (f.status !== 0) throw new Error(`the floor program failed: ${argv.join(' ')}`);
        }
        const cliDelta = median(cli.map((c, i) => c - paired[i]));
        const floorDelta = median(floor.map((c, i) => c - paired[i]));
        const ownDelta = median(cli.map((c, i) => c - floor[i]));
        const cliLine = `Node.js ${node}: no-op \`nxc build -f ${flavour}\` ${fmt(median(cli))} vs plain nix build ${fmt(median(paired))} (paired, median of ${CLI_RUNS}): +${Math.round(cliDelta)} ms (goal: <= 100 ms): ${cliDelta <= 100 ? 'MET' : 'NOT MET'}; a Node.js program that only runs the same Nix command: +${Math.round(floorDelta)} ms, so nxc's own work +${Math.round(ownDelta)} ms`;
        console.log(cliLine);
        summary.push(`- ${where}: ${cliLine}`);
      }

      const file = join(dir, 'composition.nix');
      const before = readFileSync(file, 'utf8');
      const marker = `bench-${Date.now()}-${Math.random().toString(36).slice(2)}`;
      writeFileSync(
        file,
        before.replace(
          'networking.firewall.allowedTCPPorts = [ 80 ];',
          `networking.firewall.allowedTCPPorts = [ 80 ];\n      environment.etc."bench-marker".text = "${marker}";`,
        ),
      );
      git('commit', '-qam', 'change server');
      t = now();
      const changed = await build(project, { flavour });
      const names = changed.targets[0].stats.builtNames;
      const onlyServer = names.includes('testos-system-server') && !names.includes('testos-system-client');
      const change = `one-role change (server): ${fmt(now() - t)}, ${names.length} derivations built: ${names.join(', ')} (goal: the client untouched): ${onlyServer ? 'MET' : 'NOT MET'}`;
      console.log(change);
      summary.push(`- ${where}: ${change}`);
      writeFileSync(file, before);
      git('commit', '-qam', 'revert');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const kind of KINDS) await bench(kind);
const envNote = [
  'NXC_BENCH_RUNS',
  'NXC_BENCH_CLI_RUNS',
  'NXC_BENCH_FLAVOURS',
  'NXC_BENCH_PROJECTS',
  'NXC_BENCH_NODE',
]
  .filter((k) => process.env[k])
  .map((k) => `${k}=${k === 'NXC_BENCH_NODE' ? `(Node.js ${other?.version})` : process.env[k]} `)
  .join('');
writeResults(
  'build',
  '`nxc build`: no-op rebuilds and one-role changes (examples/demo, test OS)',
  `${envNote}node scripts/bench-build.mjs`,
  [
    'Copies of examples/demo built by real Nix against the offline test OS; "plain nix build" is the',
    "same `nix build` command nxc runs (same overrides), without nxc's progress flags. The floor is a",
    "Node.js program that only runs nxc's exact Nix command (progress flags included), drains its output",
    "and exits: what any Node.js CLI pays for this job (Node's start and exit, one spawn), not nxc's work.",
    '',
    ...summary,
  ],
);
