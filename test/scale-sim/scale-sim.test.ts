/**
 * The kexec deployment at (small CI) scale: the real `nxc start -m MACHINEFILE -f g5k-ramdisk`
 * on the demo built by real Nix, from a simulated frontend, onto 20 simulated machines
 * (test/scale-sim: network namespaces on one bridge, dropbear, a kexec stand-in, the product's
 * node boot script) of which 4 fail on purpose: one unreachable, one whose push is cut (its sshd
 * dies), one whose link goes dead mid-push (no FIN/RST: SSH keepalive must notice), one that
 * never comes back after kexec. They must be reported by machine name with the step that
 * failed, and the 16 others must be usable (`nxc exec`). The 100-machine run is the bench
 * (packages/g5k/bench/kexec-scale.bench.mjs).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type UserProject, messages, prerequisites, runNxc, userProject } from '../support/user-project.js';
import { type ScaleSim, leftovers, startScaleSim } from './harness.js';

const MACHINES = 20;
const FAULTS = {
  'm-004': 'unreachable',
  'm-007': 'push-stall',
  'm-011': 'push-cut',
  'm-017': 'no-boot',
} as const;
const FAILING = Object.keys(FAULTS).length;
/** The netcat of machine m-K with SCALESIM_NETCAT=mixed. */
const NETCATS = ['busybox', 'openbsd', 'traditional'] as const;
const netcatOf = (machine: string) => NETCATS[(Number(machine.slice(2)) - 1) % NETCATS.length];
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

let project: UserProject;
let sim: ScaleSim | undefined;
let kernel: string;
let initrd: string;
let start: Awaited<ReturnType<ScaleSim['nxc']>>;
let txStart = 0;
let txAfter = 0;

beforeAll(async () => {
  prerequisites();
  project = userProject({ git: true, prefix: 'nxc-scale-sim-e2e-' });
  const built = await runNxc(project.dir, ['build', '-f', 'g5k-ramdisk']);
  if (built.code !== 0)
    throw new Error(`nxc build -f g5k-ramdisk failed:\n${messages(built.stderr).join('\n')}`);
  const info = JSON.parse(readFileSync(join(project.dir, 'build', 'composition::g5k-ramdisk'), 'utf8'));
  kernel = info.all.kernel;
  initrd = info.all.initrd;
  // the machines' netcat in turn: busybox's applet, OpenBSD's, Debian's netcat-traditional
  sim = await startScaleSim({ machines: MACHINES, faults: FAULTS, env: { SCALESIM_NETCAT: 'mixed' } });
  txStart = await sim.txBytes();
  start = await sim.nxc(
    [
      'start',
      '-f',
      'g5k-ramdisk',
      '-m',
      sim.machineFile,
      '-r',
      'server=1',
      '-r',
      `client=${MACHINES - 1}`,
      ...sim.flavourOptions,
      '-O',
      'reachTimeoutMs=5000',
      '--timeout',
      '40',
    ],
    project.dir,
    { env: { NO_COLOR: '1' } },
  );
  txAfter = await sim.txBytes();
}, 900_000);

afterAll(async () => {
  await sim?.down();
  project?.cleanup();
});

describe(`nxc start -m on ${MACHINES} simulated machines, ${Object.keys(FAULTS).length} failing`, () => {
  it('reports each failed machine by name with the step that failed, and exits 1', async () => {
    const out = start.stdout + start.stderr;
    expect(start.code, out).toBe(1);
    const warnings = start.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    const line = (m: string) => warnings.find((l) => l.includes(`(${m}, `)) ?? '';
    expect(line('m-004'), out).toMatch(/UNREACHABLE at connect: no SSH server answers/);
    // m-007's sshd dies and m-011's link stalls while it transfers: which transfer that is (a push
    // from the frontend, a relay from another machine) and so the step and message depend on timing
    for (const m of ['m-007', 'm-011'])
      expect(line(m), out).toMatch(/(FAILED|UNREACHABLE) at (connect|push): \S/);
    expect(line('m-017'), out).toMatch(/FAILED at boot: did not come back within 40 s after kexec/);
    expect(warnings, out).toHaveLength(FAILING);
    // nothing but nxc's own lines: no Node.js warning (listeners on the interrupt signal)
    expect(start.stderr, out).not.toMatch(/^\(node:\d+\) /m);
    // the summary names the three too
    const summary =
      start.stderr.split('\n').find((l) => l.startsWith(`error: ${FAILING} of ${MACHINES} node(s) failed`)) ??
      '';
    for (const m of Object.keys(FAULTS)) expect(summary, out).toContain(`${m}:`);
  });

  it('the 16 others are up and usable: nxc exec runs on each, in the deployed system', async () => {
    if (!sim) throw new Error('no simulation');
    const r = await sim.nxc(
      [
        'exec',
        '--json',
        'all',
        '--',
        'hostname; cat /proc/sys/kernel/random/boot_id; test -e /run/nxc/ready && echo READY',
      ],
      project.dir,
    );
    const { results } = JSON.parse(r.stdout) as {
      results: Array<{ host: string; exitCode: number; stdout: string; stderr: string }>;
    };
    const ok = results.filter((v) => v.exitCode === 0).map((v) => [v.host, v] as const);
    expect(ok.map(([h]) => h).sort(), r.stdout + r.stderr).toHaveLength(MACHINES - FAILING);
    for (const [host, v] of ok) {
      const [name, bootId, ready] = v.stdout.trim().split('\n');
      expect(name).toBe(host); // the hostname the deployment gave it
      expect(bootId).toMatch(/^[0-9a-f-]{36}$/);
      expect(ready).toBe('READY');
    }
    // the hosts that failed are not pretended up
    const failedHosts = results.filter((v) => v.exitCode !== 0);
    expect(failedHosts).toHaveLength(FAILING);
  });

  it("each booted machine's kexec stand-in got the build's kernel, its initrd plus its own host key, and deploy=", async () => {
    if (!sim) throw new Error('no simulation');
    const kernelSum = sha256(kernel);
    const initrdSize = statSync(initrd).size;
    for (const m of sim.machines) {
      const calls = await sim.kexecCalls(m);
      if (m === 'm-004' || m === 'm-007' || m === 'm-011') {
        expect(calls, m).toEqual([]);
        continue;
      }
      const load = calls.find((c) => c.op === 'load');
      expect(load?.kernelSha256, m).toBe(kernelSum);
      expect(load?.initrdSize, m).toBeGreaterThan(initrdSize);
      expect(load?.appendedFiles, m).toContain('nxc/dropbear_ed25519_host_key');
      // the initrd holding the node's private host key was readable by root only
      expect(load?.initrdMode, m).toBe('600');
      expect(load?.append, m).toMatch(/^deploy=(gz:|http:\/\/)/);
      expect(calls.at(-1)?.op, m).toBe('exec');
      const console = await sim.console(m);
      if (m === 'm-017') expect(console).toContain('FAULT no-boot');
      else expect(console, m).toMatch(/\nUP (server|client\d+) \d+\n/);
    }
  });

  it("the frontend's link carried less than 3 copies of kernel + initrd for 20 machines (relay between machines)", () => {
    const artifacts = statSync(kernel).size + statSync(initrd).size;
    const sent = txAfter - txStart;
    console.log(
      `frontend sent ${sent} bytes for ${MACHINES} machines: ${(sent / artifacts).toFixed(2)} x the artifacts (${artifacts} bytes)`,
    );
    expect(sent).toBeGreaterThan(0);
    // one copy to the first machine, the machines relay it to each other; the frontend pushes
    // again only to a machine whose relay failed (here m-007's sshd dies, m-011's link stalls)
    expect(sent).toBeLessThan(3 * artifacts);
  });

  it('machines relay with each netcat (busybox, OpenBSD, traditional), sending and receiving; a fallback push only follows a failing machine', () => {
    // plain progress lines: `<host>: pushed (<machine>: relay from <machine>, pushed 0 bytes)`
    const sources = new Map<string, string>();
    for (const line of start.stderr.split('\n')) {
      const m = /: pushed \((m-\d+): (.*)\)$/.exec(line);
      if (m?.[1] && m[2]) sources.set(m[1], m[2]);
    }
    const out = [...sources].map(([m, how]) => `${m} (${netcatOf(m)}): ${how}`).join('\n');
    const relayed = [...sources].flatMap(([m, how]) => {
      const from = /^relay from (m-\d+)/.exec(how)?.[1];
      return from ? [{ to: m, from }] : [];
    });
    for (const kind of NETCATS) {
      expect(
        relayed.some((r) => netcatOf(r.to) === kind),
        `no ${kind} netcat received a relay:\n${out}`,
      ).toBe(true);
      expect(
        relayed.some((r) => netcatOf(r.from) === kind),
        `no ${kind} netcat sent a relay:\n${out}`,
      ).toBe(true);
    }
    // every other push from the frontend is the first machine's, or a fallback from a relay that
    // a failing machine broke (its sshd killed, its link stalled)
    const pushes = [...sources].filter(([, how]) => how.startsWith('frontend'));
    const fallbacks = pushes.filter(([, how]) => how.includes('fallback'));
    for (const [m, how] of fallbacks)
      expect(
        Object.keys(FAULTS).some((f) => how.includes(`relay from ${f} failed`)),
        `${m} (${netcatOf(m)}): ${how}\n${out}`,
      ).toBe(true);
    expect(pushes.length - fallbacks.length, out).toBe(1);
  });

  it('nxc stop forgets it; taking the simulation down leaves no namespace nor process', async () => {
    if (!sim) throw new Error('no simulation');
    const stop = await sim.nxc(['stop'], project.dir);
    expect(stop.code, stop.stderr).toBe(0);
    const state = sim.env.SCALESIM_STATE ?? '';
    await sim.down();
    expect(await leftovers()).toEqual([]);
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(
      ps.split('\n').filter((l) => l.includes('test/scale-sim/machine.sh') || l.includes(state)),
    ).toEqual([]);
  });
});
