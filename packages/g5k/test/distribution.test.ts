/**
 * How kernel and initrd reach Grid'5000 machines (issue 17), on the stand-in (test/g5k-sim:
 * real QEMU machines in their standard environment, real dropbear, real busybox netcat, a real
 * NFS server playing the user's home): from the shared home (0 bytes from the frontend), along
 * a relay between machines (the frontend sends one copy), a relay broken while both machines
 * answer (relayed again, still one copy), and, when a relaying machine is powered off
 * mid-transfer, a direct push to the machine it was serving while the others go on.
 * The deployed system is the stand-in's minimal boot-contract system (node/deployed-rc).
 */
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type G5kSim, repo, startG5kSim } from '../../../test/g5k-sim/harness.js';
import { deployedRcComposeInfo, newIdentity } from './stand-in-setup.js';

let sim: G5kSim;
let work: string;
let home: string;
let identity: { privateKeyPath: string; publicKey: string };
let knownHosts: string;
let kernel: string;
let initrd: string;
let artifactBytes: number;
const plugin = join(repo, 'plugins/flavour-g5k-ramdisk/dist/index.js');
const nodes = [
  { role: 'server', host: 'server' },
  { role: 'client', host: 'client1' },
  { role: 'client', host: 'client2' },
];
const machineList = ['node-1', 'node-2', 'node-3'];

type Started = {
  nodes: { host: string; state: string; machine?: string; detail?: string }[];
  platform?: {
    artifacts?: {
      frontendBytes: number;
      artifactBytes: number;
      sources: Record<string, number>;
      fallbacks?: Record<string, string>;
    };
  };
};

function request(files: { kernel: string; initrd: string }): Record<string, unknown> {
  return {
    op: 'start',
    repo,
    plugin,
    flavour: 'g5k-ramdisk',
    project: join(work, 'project'),
    composition: 'composition',
    composeInfo: deployedRcComposeInfo(files, 'distribution.test.ts'),
    nodes,
    machineList,
    identity,
    options: { nodeKeys: [sim.env.G5KSIM_ROOT_KEY], knownHosts },
    timeoutMs: 180_000,
  };
}

const previousStateHome = process.env.XDG_STATE_HOME;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'nxc-g5k-dist-'));
  process.env.XDG_STATE_HOME = join(work, 'state');
  await mkdir(join(work, 'project/deploy'), { recursive: true });
  identity = await newIdentity(work);
  // no known_hosts entry: the machines' keys are trusted on first contact (with a warning)
  knownHosts = join(work, 'ssh_known_hosts');
  await writeFile(knownHosts, '');
  sim = await startG5kSim({ nodes: 3 });
  // the artifacts where only the frontend sees them: the deployed system's initrd padded with
  // 24 MB of zeros (the kernel skips NUL padding between initramfs archives) so that a relay
  // lasts long enough to power its sender off in the middle
  const built = (await sim.sim('deployed-initrd', join(work, 'deployed.initrd'))).stdout.trim();
  kernel = join(work, 'kernel');
  initrd = join(work, 'initrd');
  await copyFile(sim.env.G5KSIM_KERNEL!, kernel);
  await writeFile(initrd, Buffer.concat([await readFile(built), Buffer.alloc(24 * 1024 * 1024)]));
  artifactBytes = (await stat(kernel)).size + (await stat(initrd)).size;
  // the user's home, exported by NFS and mounted at the same path on the machines
  home = await mkdtemp(join(tmpdir(), 'nxc-g5k-dist-home-'));
  await chmod(home, 0o755);
}, 900_000);

afterAll(async () => {
  if (previousStateHome === undefined) Reflect.deleteProperty(process.env, 'XDG_STATE_HOME');
  else process.env.XDG_STATE_HOME = previousStateHome;
  await sim?.down();
  if (work) await rm(work, { recursive: true, force: true });
  if (home) await rm(home, { recursive: true, force: true });
}, 300_000);

function byMachine(r: Started): Record<string, Started['nodes'][number]> {
  return Object.fromEntries(r.nodes.map((n) => [n.machine ?? n.host, n]));
}

describe("artifact distribution to Grid'5000 machines (stand-in)", () => {
  it('shared home: every machine reads kernel + initrd from the NFS home, checked by SHA-256 on the machine; the frontend sends 0 bytes', async () => {
    const files = { kernel: join(home, 'kernel'), initrd: join(home, 'initrd') };
    await copyFile(kernel, files.kernel);
    await copyFile(initrd, files.initrd);
    const mounted = await sim.sim('home-up', home);
    expect(mounted.code, mounted.stderr.slice(-2000)).toBe(0);
    const r = await sim.deploy(request(files));
    expect(r.answer.error?.message, r.stderr.slice(-3000)).toBeUndefined();
    const started = r.answer.result as Started;
    expect(started.nodes.map((n) => n.state)).toEqual(['running', 'running', 'running']);
    expect(started.platform?.artifacts).toEqual({ frontendBytes: 0, artifactBytes, sources: { shared: 3 } });
    for (const n of started.nodes) expect(n.detail).toContain(`shared from ${files.kernel}, pushed 0 bytes`);
    expect(r.events).toContainEqual(
      expect.objectContaining({
        type: 'step',
        message: `artifacts: the frontend sent 0 bytes (0.00 × kernel + initrd, ${artifactBytes} bytes) for 3 machine(s)`,
      }),
    );
  }, 900_000);

  it('relay: the frontend sends one copy to the first machine, the machines forward it to each other', async () => {
    const r = await sim.deploy(request({ kernel, initrd }));
    expect(r.answer.error?.message, r.stderr.slice(-3000)).toBeUndefined();
    const started = r.answer.result as Started;
    expect(started.nodes.map((n) => n.state)).toEqual(['running', 'running', 'running']);
    // measured as the machines' SFTP servers acknowledged it: exactly one copy
    expect(started.platform?.artifacts).toEqual({
      frontendBytes: artifactBytes,
      artifactBytes,
      sources: { frontend: 1, relay: 2 },
    });
    const details = started.nodes.map((n) => n.detail ?? '');
    expect(details.filter((d) => d.includes(`frontend, pushed ${artifactBytes} bytes`))).toHaveLength(1);
    expect(details.filter((d) => /relay from node-\d, pushed 0 bytes$/.test(d))).toHaveLength(2);
    const receiving = r.events.filter((e) => e.type === 'node' && e.state === 'receiving');
    expect(receiving).toHaveLength(2);
  }, 900_000);

  it('a relay that breaks while both machines answer is relayed again: no push from the frontend', async () => {
    // the receiving netcat is killed on its machine (the machine and its SSH server stay up)
    let receiver: string | undefined;
    let killed: Promise<string> | undefined;
    /** '' once the receiving netcat is killed, else what the last try said. */
    const killReceivingNetcat = async (machine: string): Promise<string> => {
      let last = '';
      for (let i = 0; i < 100; i++) {
        // the deployment's key too: after the previous test the machines run a deployed system;
        // no pkill in the machines' busybox: /proc; 'nc -'l: this shell's own text does not match
        const k = await sim.inNs(
          [
            'ssh',
            '-F',
            join(sim.env.G5KSIM_STATE!, 'ssh_config'),
            '-i',
            identity.privateKeyPath,
            '-o',
            'BatchMode=yes',
            machine,
            "k=; for d in /proc/[0-9]*; do case $(tr '\\0' ' ' < $d/cmdline 2>/dev/null) in *'nc -'l*) kill ${d#/proc/} && k=1 ;; esac; done; [ -n \"$k\" ]",
          ],
          20_000,
        );
        if (k.code === 0) return '';
        last = `exit ${k.code}: ${k.stdout}${k.stderr}`.trim();
        await new Promise((r) => setTimeout(r, 100));
      }
      return last;
    };
    const r = await sim.deploy(request({ kernel, initrd }), 900_000, (e) => {
      const to = /^(node-\d): .* from node-\d$/.exec(String(e.detail ?? ''))?.[1];
      if (receiver || e.type !== 'node' || e.state !== 'receiving' || !to) return;
      receiver = to;
      killed = killReceivingNetcat(to);
    });
    expect(await killed, 'the receiving netcat was never killed').toBe('');
    expect(r.answer.error?.message, r.stderr.slice(-3000)).toBeUndefined();
    const started = r.answer.result as Started;
    expect(started.nodes.map((n) => n.state)).toEqual(['running', 'running', 'running']);
    const retry = r.events.find((e) => e.type === 'node' && e.state === 'relay-retry');
    expect(retry?.detail).toMatch(
      new RegExp(`^${receiver}: the relay from node-\\d failed \\(.*\\); relaying again$`),
    );
    // still one copy from the frontend: the machine got the artifacts from a machine
    expect(started.platform?.artifacts?.frontendBytes).toBe(artifactBytes);
    expect(started.platform?.artifacts?.fallbacks).toBeUndefined();
    expect(byMachine(started)[receiver!]?.detail).toMatch(/relay from node-\d, pushed 0 bytes$/);
  }, 900_000);

  it('a machine powered off while it relays is reported; the machine it served gets a push from the frontend and the others come up', async () => {
    let victim: string | undefined;
    let poweredOff: Promise<unknown> | undefined;
    const r = await sim.deploy(request({ kernel, initrd }), 900_000, (e) => {
      const from = /from (node-\d)$/.exec(String(e.detail ?? ''))?.[1];
      if (victim || e.type !== 'node' || e.state !== 'receiving' || !from) return;
      victim = from;
      poweredOff = sim.sim('poweroff', from.slice('node-'.length));
    });
    await poweredOff;
    expect(victim, r.stderr.slice(-3000)).toBeDefined();
    expect(r.answer.error?.message, r.stderr.slice(-3000)).toBeUndefined();
    const started = r.answer.result as Started;
    const machines = byMachine(started);
    const dead = machines[victim!]!;
    expect(dead.state).toBe('exited');
    expect(dead.detail).toMatch(
      new RegExp(`^${victim}: push: stopped answering while relaying the artifacts to node-\\d`),
    );
    const others = machineList.filter((m) => m !== victim);
    for (const m of others) expect(machines[m]?.state, machines[m]?.detail).toBe('running');
    const fallbacks = started.platform?.artifacts?.fallbacks ?? {};
    expect(Object.keys(fallbacks)).toHaveLength(1);
    const served = Object.keys(fallbacks)[0]!;
    expect(fallbacks[served]).toMatch(
      new RegExp(`^the relay from ${victim} failed .*: ${victim} does not answer any more$`),
    );
    expect(machines[served]?.detail).toContain('frontend (fallback: the relay from');
    // one copy to seed, one for the fallback: never one per machine plus
    expect(started.platform?.artifacts?.frontendBytes).toBeLessThanOrEqual(2 * artifactBytes);
    expect(r.events).toContainEqual(expect.objectContaining({ type: 'node', state: 'fallback' }));
  }, 900_000);
});
