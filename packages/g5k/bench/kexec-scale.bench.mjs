// The kexec deployment (g5k-ramdisk) at scale, on the scale simulation (test/scale-sim): the real
// `nxc start -m MACHINEFILE` of the demo built by real Nix, from a simulated frontend onto 10, 50
// and 100 simulated machines of which 5% fail on purpose (unreachable, push cut, never back after
// kexec). Per size: wall time of `nxc start`, time until the last good machine is up, and the
// bytes the frontend sent on its link (its veth counters: right whatever the distribution), with
// the issue's goals next to them. Updates its section of bench/RESULTS.md. Needs root, nix,
// dropbear (scripts/setup.sh); ~5-10 minutes. SCALE_BENCH_SIZES=10,50 to run other sizes.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mdTable, writeResults } from '../../../scripts/bench-results.mjs';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const script = join(repo, 'test/scale-sim/scale-sim.sh');
const cli = join(repo, 'apps/cli/dist/cli.js');
const sizes = (process.env.SCALE_BENCH_SIZES ?? '10,50,100').split(',').map(Number);
const BOOT_TIMEOUT_S = 60;
const sim = (...args) => spawnSync(script, args, { encoding: 'utf8' });
const machine = (k) => `m-${String(k).padStart(3, '0')}`;

/** 5% of n (at least 1), spread over the three kinds; machines spread over the list. */
function faultsFor(n) {
  const count = Math.max(1, Math.round(n * 0.05));
  const kinds = ['unreachable', 'push-cut', 'no-boot'];
  const faults = {};
  for (let i = 0; i < count; i++) faults[machine(Math.floor(((i + 0.5) * n) / count) + 1)] = kinds[i % 3];
  return faults;
}

if (process.getuid?.() !== 0) {
  console.log('kexec scale simulation: needs root (network namespaces): not run');
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'nxc-scale-bench-'));
const rows = [];
try {
  // the demo, built for g5k-ramdisk by real Nix on the offline test OS
  const project = join(work, 'demo');
  cpSync(join(repo, 'examples/demo'), project, {
    recursive: true,
    filter: (s) =>
      !/\/(node_modules|deploy|artifact|build|\.nxc)(\/|$)/.test(s.slice(join(repo, 'examples/demo').length)),
  });
  symlinkSync(join(repo, 'examples/demo/node_modules'), join(project, 'node_modules'));
  const pkgFile = join(project, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  pkg.nxc.nix.overrideInputs = { nixpkgs: join(repo, 'test/fixtures/testos') };
  writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
  writeFileSync(join(project, '.gitignore'), 'node_modules\nbuild\ndeploy\nartifact\n.nxc\n');
  execFileSync(
    'sh',
    ['-c', 'git init -q && git add -A && git -c user.email=b@e -c user.name=b commit -qm demo'],
    {
      cwd: project,
    },
  );
  const env = { ...process.env, XDG_STATE_HOME: join(work, 'state'), NO_COLOR: '1' };
  const build = spawnSync(process.execPath, [cli, 'build', '-f', 'g5k-ramdisk'], {
    cwd: project,
    env,
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`nxc build -f g5k-ramdisk failed:\n${build.stderr.slice(-3000)}`);
  const info = JSON.parse(readFileSync(join(project, 'build/composition::g5k-ramdisk'), 'utf8'));
  const artifacts = statSync(info.all.kernel).size + statSync(info.all.initrd).size;
  console.log(`artifacts: kernel + initrd = ${(artifacts / 1e6).toFixed(1)} MB`);

  for (const n of sizes) {
    const faults = faultsFor(n);
    sim('down');
    const up = sim('up', String(n), ...Object.entries(faults).flatMap(([m, f]) => ['--fault', `${m}=${f}`]));
    if (up.status !== 0) throw new Error(`scale-sim up ${n} failed:\n${up.stderr.slice(-3000)}`);
    const simEnv = Object.fromEntries(
      sim('env')
        .stdout.trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const tx0 = Number(sim('tx').stdout);
    const cpuFile = join(work, `cpu-${n}`);
    const busy0 = hostBusy();
    const t0 = Date.now();
    const start = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        simEnv.SCALESIM_FE_NS,
        // the frontend's own CPU time (user + sys of nxc), apart from the simulated machines'
        '/usr/bin/time',
        '-o',
        cpuFile,
        '-f',
        '%U %S',
        process.execPath,
        cli,
        'start',
        '-f',
        'g5k-ramdisk',
        '-m',
        simEnv.SCALESIM_MACHINE_FILE,
        '-r',
        'server=1',
        '-r',
        `client=${n - 1}`,
        '-O',
        `nodeKeys=${simEnv.SCALESIM_ROOT_KEY}`,
        '-O',
        `knownHosts=${simEnv.SCALESIM_KNOWN_HOSTS}`,
        '-O',
        'reachTimeoutMs=5000',
        '--timeout',
        String(BOOT_TIMEOUT_S),
        '--json',
      ],
      // as inside an OAR job on the frontend ($OAR_NODEFILE: the job's machines)
      {
        cwd: project,
        env: { ...env, OAR_NODEFILE: simEnv.SCALESIM_MACHINE_FILE },
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const wall = (Date.now() - t0) / 1000;
    const hostCpu = hostBusy() - busy0;
    const [user = Number.NaN, sys = Number.NaN] = readFileSync(cpuFile, 'utf8')
      .trim()
      .split('\n')
      .pop()
      .split(' ')
      .map(Number);
    const frontendCpu = user + sys;
    const sent = Number(sim('tx').stdout) - tx0;
    // the run's progress lines (every node event, fallbacks with their reasons) for a diagnosis
    const startLog = join(tmpdir(), `nxc-scale-bench-start-${n}.log`);
    writeFileSync(startLog, start.stderr);
    // when the last good machine was up (its init's `UP <host> <ms>` line)
    let lastUp = 0;
    let upCount = 0;
    for (let k = 1; k <= n; k++) {
      let text = ''; // a powered-off machine has no console
      try {
        text = readFileSync(join(simEnv.SCALESIM_STATE, 'machines', machine(k), 'console'), 'utf8');
      } catch {}
      const m = /^UP \S+ (\d+)$/m.exec(text);
      if (m) {
        upCount++;
        lastUp = Math.max(lastUp, Number(m[1]));
      }
    }
    const ready = lastUp ? (lastUp - t0) / 1000 : Number.NaN;
    // --json: one event per line on stderr, with its time
    const events = start.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    const warnings = events.filter((e) => e.type === 'warn').map((e) => `warning: ${e.message}`);
    const phases = phaseTimes(events, t0);
    const dist = distributionShape(events, artifacts);
    const named = Object.keys(faults).filter((m) => warnings.some((w) => w.includes(`(${m}, `)));
    // machines that failed without a fault injected: the deployment broke them (load, a bug)
    const collateral = warnings.filter((w) => {
      const m = /\((m-\d+), /.exec(w)?.[1];
      return m !== undefined && !(m in faults);
    });
    const failedOk =
      start.status === 1 && named.length === Object.keys(faults).length && collateral.length === 0;
    rows.push({
      n,
      faults: Object.keys(faults).length,
      upCount,
      wall,
      ready,
      sent,
      ratio: sent / artifacts,
      failedOk,
      collateral: collateral.length,
      frontendCpu,
      hostCpu,
      busy: hostCpu / (wall * cpus().length),
      ...dist,
    });
    console.log(
      `${n} machines (${Object.keys(faults).length} failing: ${Object.entries(faults)
        .map(([m, f]) => `${m}=${f}`)
        .join(
          ' ',
        )}): ${upCount} up, failures named ${failedOk ? 'yes' : 'NO'} | nxc start ${wall.toFixed(1)} s, last good machine up at ${ready.toFixed(1)} s | frontend sent ${(sent / 1e6).toFixed(0)} MB = ${(sent / artifacts).toFixed(1)} x the artifacts`,
    );
    if (collateral.length)
      console.log(`${collateral.length} machine(s) failed with no fault injected:\n${collateral.join('\n')}`);
    const fallbacks = events.filter((e) => e.type === 'node' && e.state === 'fallback');
    if (fallbacks.length)
      console.log(
        `${fallbacks.length} relay(s) fell back to a frontend push:\n${fallbacks.map((e) => `${e.host}: ${e.detail}`).join('\n')}`,
      );
    console.log(`phases (s after nxc start began): ${phases}`);
    console.log(
      `distribution: ${dist.copies} copies (${dist.relayed} machine to machine), longest chain ${dist.depth} copies from the frontend; ${dist.seconds.toFixed(1)} s from the first copy's start to the last one's end = ${dist.mbps.toFixed(0)} MB/s across the host`,
    );
    console.log(
      `CPU: nxc (the frontend) ${frontendCpu.toFixed(1)} s; the whole host ${hostCpu.toFixed(0)} s = ${((100 * hostCpu) / (wall * cpus().length)).toFixed(0)} % of its ${cpus().length} cores during nxc start`,
    );
    console.log(`progress lines of nxc start: ${startLog}`);
    if (!failedOk) console.log(start.stderr.split('\n').slice(-15).join('\n'));
    rows.at(-1).phases = phases;
    // forget it (the next size starts afresh)
    const stop = spawnSync(process.execPath, [cli, 'stop'], { cwd: project, env, encoding: 'utf8' });
    if (stop.status !== 0) throw new Error(`nxc stop failed:\n${stop.stderr}`);
  }
} finally {
  sim('down');
  rmSync(work, { recursive: true, force: true });
}

/** CPU seconds the whole host has been busy since boot (/proc/stat: all but idle and iowait). */
function hostBusy() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  return (user + nice + system + irq + softirq + steal) / 100;
}

/**
 * The shape of the distribution, from the node events: copies made (frontend pushes and relays),
 * the longest chain of copies from the frontend to a machine (the tree's depth: the number of
 * transfers one after the other), and the host's aggregate copy rate while copies ran (every
 * simulated machine shares this host's CPU and disk: on real machines each brings its own).
 */
function distributionShape(events, artifactBytes) {
  const nodeEvents = events.filter((e) => e.type === 'node');
  const depth = new Map();
  const source = new Map();
  for (const e of nodeEvents.filter((e) => e.state === 'pushed')) {
    const machine = /^(m-\d+):/.exec(e.detail)?.[1];
    const from = / from (m-\d+)/.exec(e.detail)?.[1];
    if (machine) source.set(machine, /: (frontend|relay)/.test(e.detail) ? (from ?? 'frontend') : undefined);
  }
  const depthOf = (m, seen = new Set()) => {
    if (depth.has(m)) return depth.get(m);
    const s = source.get(m);
    const d = s === undefined ? 0 : s === 'frontend' || seen.has(s) ? 1 : depthOf(s, seen.add(m)) + 1;
    depth.set(m, d);
    return d;
  };
  for (const m of source.keys()) depthOf(m);
  const copies = [...source.values()].filter((s) => s !== undefined).length;
  const relayed = [...source.values()].filter((s) => s !== undefined && s !== 'frontend').length;
  const times = (states) => nodeEvents.filter((e) => states.includes(e.state)).map((e) => Date.parse(e.time));
  const started = times(['pushing', 'receiving']);
  const ended = times(['pushed']);
  const seconds = started.length && ended.length ? (Math.max(...ended) - Math.min(...started)) / 1000 : 0;
  return {
    copies,
    relayed,
    depth: Math.max(0, ...depth.values()),
    seconds,
    mbps: seconds > 0 ? (copies * artifactBytes) / 1e6 / seconds : 0,
  };
}

/** When each phase of a run began and ended (s after `nxc start` began), from its node events. */
function phaseTimes(events, t0) {
  const span = (state) => {
    const times = events.filter((e) => e.type === 'node' && e.state === state).map((e) => Date.parse(e.time));
    if (!times.length) return `${state} -`;
    const s = (t) => ((t - t0) / 1000).toFixed(1);
    return `${state} ${s(Math.min(...times))}-${s(Math.max(...times))}`;
  };
  return ['connecting', 'pushing', 'receiving', 'pushed', 'rebooting', 'up'].map(span).join(', ');
}

const row = (n) => rows.find((r) => r.n === n);
const valid = (r) => (r?.failedOk && r.upCount > 0 ? r : undefined);
const r10 = valid(row(10));
const r100 = valid(row(100));
const goals = [];
if (r100) {
  goals.push(
    `frontend bytes at 100 machines: ${r100.ratio.toFixed(1)} x the artifacts (goal <= 3 x): ${r100.ratio <= 3 ? 'MET' : 'NOT MET'}`,
  );
}
if (r10 && r100) {
  const wr = r100.wall / r10.wall;
  const rr = r100.ready / r10.ready;
  goals.push(
    `wall(100) / wall(10) = ${wr.toFixed(2)} (goal <= 2): ${wr <= 2 ? 'MET' : 'NOT MET'}; last-good-up(100) / last-good-up(10) = ${rr.toFixed(2)}: ${rr <= 2 ? 'MET' : 'NOT MET'}`,
  );
  // the simulated machines share this host's cores: when they keep them busy, the wall time
  // measures the host, not the deployment (real machines each bring their own CPU)
  const cr = r100.frontendCpu / r10.frontendCpu;
  goals.push(
    `nxc's own CPU: ${r10.frontendCpu.toFixed(1)} s for 10, ${r100.frontendCpu.toFixed(1)} s for 100 (${cr.toFixed(1)} x for 10 x the machines); the host was ${(100 * r100.busy).toFixed(0)} % busy during the 100-machine run${r100.busy >= 0.9 ? ': the wall time is bound by the simulated machines sharing its cores' : ''}`,
  );
}
// a size whose run broke machines with no fault injected meets no goal: say so, with the count
for (const r of [row(10), row(100)]) {
  if (r && !valid(r))
    goals.push(
      `${r.n} machines: NOT MET (${r.collateral} machine(s) failed with no fault injected${r.upCount ? '' : ', none up'}; frontend sent ${r.ratio.toFixed(1)} x the artifacts, nxc start ${r.wall.toFixed(1)} s)`,
    );
}
for (const g of goals) console.log(g);

// bench/RESULTS.md: this bench's section, the last run with the machine it ran on
writeResults(
  'kexec-scale',
  'kexec deployment at scale (g5k-ramdisk on test/scale-sim)',
  'node packages/g5k/bench/kexec-scale.bench.mjs',
  [
    'Real `nxc start -m` of the demo (real Nix build, kernel + initrd pushed as the product does);',
    'simulated machines (netns + dropbear + kexec stand-in, 2 s simulated boot), 5% failing on purpose;',
    `the machines' netcat, which relays the artifacts between them: ${process.env.SCALESIM_NETCAT || 'busybox'} (SCALESIM_NETCAT: busybox, openbsd, traditional or mixed);`,
    `bytes = the frontend veth's tx counter during \`nxc start\`; boot timeout ${BOOT_TIMEOUT_S} s (the "never back" machines cost that much wall time).`,
    '',
    ...mdTable(
      [
        'machines',
        'failing (named)',
        'failed without a fault',
        'up',
        'nxc start wall',
        'last good machine up',
        'frontend sent',
        '× artifacts',
        'nxc CPU',
        'host busy',
        'longest chain',
        'host copy rate',
        'goal',
      ],
      rows.map((r) => [
        r.n,
        `${r.faults} (${r.failedOk ? 'yes' : 'NO'})`,
        r.collateral,
        r.upCount,
        `${r.wall.toFixed(1)} s`,
        `${r.ready.toFixed(1)} s`,
        `${(r.sent / 1e6).toFixed(0)} MB`,
        r.ratio.toFixed(1),
        `${r.frontendCpu.toFixed(1)} s`,
        `${(100 * r.busy).toFixed(0)} %`,
        `${r.depth} copies`,
        `${r.mbps.toFixed(0)} MB/s`,
        r.n === 100 ? '≤ 3 ×; wall ≤ 2 × wall(10)' : '',
      ]),
      ['---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---'],
    ),
    '',
    ...goals.map((g) => `- ${g}`),
  ],
);
process.exit(rows.length === sizes.length && rows.every((r) => r.failedOk) ? 0 : 1);
