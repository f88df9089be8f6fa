/**
 * g5k-image end to end on the Grid'5000 stand-in (test/g5k-sim): the demo built by real Nix
 * for g5k-image (a tar.xz of a bootable system holding every role) is deployed onto two QEMU
 * nodes by this flavour's deploy side through the stand-in `kadeploy3`
 * (test/fixtures/kadeploy3: reads the environment description nxc wrote, writes the image as
 * an ext4 file system onto each VM's disk, boots the VM from it with the described kernel,
 * initrd and kernel_params, prints Kadeploy's result lines). The deploy side runs from inside
 * the stand-in's network namespace as `nxc start` would on a frontend.
 *
 * The stand-in runs in its own namespace / state / subnet (nxcimg, 10.78.0.0/24) so that it
 * does not disturb the shared one; `oarstat` is a fixture answering for $OAR_JOB_ID (OAR itself
 * is exercised by the g5k-ramdisk suite).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  buildFor,
  demoProject,
  frontendNxc,
  newIdentity,
} from '../../../packages/g5k/test/stand-in-setup.js';
import { type G5kSim, consoleTail, repo, startG5kSim } from '../../../test/g5k-sim/harness.js';

const fixtures = join(repo, 'plugins/flavour-g5k-image/test/fixtures/kadeploy3');
const plugin = join(repo, 'plugins/flavour-g5k-image/dist/index.js');
const simEnv = {
  G5KSIM_NS: 'nxcimg',
  G5KSIM_STATE: '/tmp/nxc-g5k-image-sim',
  G5KSIM_NET: '10.78.0',
  G5KSIM_BR: 'br0',
  G5KSIM_MEM: '384',
};
const nodes = [
  { role: 'server', host: 'server' },
  { role: 'client', host: 'client' },
];

let sim: G5kSim;
let work: string;
let project: string;
let composeInfoFile: string;
let identity: { privateKeyPath: string; publicKey: string };
type NodeResult = { host: string; state: string; address: string; detail?: string };
type Answer = Awaited<ReturnType<G5kSim['deploy']>>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'nxc-g5k-image-e2e-'));
  const demo = await demoProject(work);
  project = demo.dir;
  composeInfoFile = await buildFor(demo, 'g5k-image');
  identity = await newIdentity(work);
  // what deploy-child (and through it kadeploy3 / oarstat) inherits
  Object.assign(process.env, simEnv, { PATH: `${fixtures}:${process.env.PATH}`, OAR_JOB_ID: '4242' });
  sim = await startG5kSim({ nodes: 2, env: simEnv });
}, 900_000);

afterAll(async () => {
  await sim?.down();
  if (work) await rm(work, { recursive: true, force: true });
}, 300_000);

function deploy(extra: Record<string, unknown> = {}, options: Record<string, unknown> = {}): Promise<Answer> {
  return sim.deploy({
    op: 'start',
    plugin,
    flavour: 'g5k-image',
    project,
    composition: 'composition',
    composeInfoFile,
    nodes,
    identity,
    machineList: ['node-1', 'node-2'],
    timeoutMs: 120_000,
    options,
    ...extra,
  });
}

async function execOn(
  hosts: string[],
  command: string,
): Promise<Record<string, { exitCode: number; stdout: string; stderr: string }>> {
  const r = await sim.deploy({
    op: 'exec',
    plugin,
    flavour: 'g5k-image',
    project,
    composition: 'composition',
    identity,
    hosts,
    command,
  });
  expect(r.answer.error?.message).toBeUndefined();
  return r.answer.result as Record<string, { exitCode: number; stdout: string; stderr: string }>;
}

async function consoles(): Promise<string> {
  return `node-1:\n${await consoleTail(sim.env, 1, 25)}\nnode-2:\n${await consoleTail(sim.env, 2, 25)}`;
}

const artifact = (): string => join(project, 'artifact/composition/g5k-image');

/** The real `nxc` CLI, run in the demo project on the frontend (inside the namespace). */
function nxc(args: string[]): ReturnType<G5kSim['inNs']> {
  return frontendNxc(sim, project, args);
}

describe("g5k-image through Kadeploy on the Grid'5000 stand-in", () => {
  it('without an OAR job of type deploy: one line saying how to get one, nothing written', async () => {
    Reflect.deleteProperty(process.env, 'OAR_JOB_ID');
    try {
      const r = await deploy();
      expect(r.answer.ok).toBe(false);
      expect(r.answer.error?.code).toBe('NXC_FLAVOUR_UNUSABLE');
      expect(r.answer.error?.message).toBe(
        'g5k-image deploys with Kadeploy, which needs an OAR job of type deploy, and $OAR_JOB_ID is not set',
      );
      expect((r.answer.error as { hint?: string }).hint).toMatch(/oarsub -I -t deploy/);
    } finally {
      process.env.OAR_JOB_ID = '4242';
    }
    process.env.OARSTAT_STANDIN_TYPES = 'allow_classic_ssh';
    try {
      const r = await deploy();
      expect(r.answer.error?.message).toBe(
        'OAR job 4242 is not of type deploy (types: allow_classic_ssh); Kadeploy refuses its nodes',
      );
    } finally {
      Reflect.deleteProperty(process.env, 'OARSTAT_STANDIN_TYPES');
    }
    expect(existsSync(join(project, 'deploy/composition::g5k-image.json'))).toBe(false);
    expect(existsSync(join(artifact(), 'composition.env.yaml'))).toBe(false);
  });

  it('nxc start -f g5k-image -r client=1 -m FILE (real CLI on the frontend): both up with their roles from the ext4 disk; client reaches server; exec, status, stop', async () => {
    const machineFile = join(work, 'machines');
    await writeFile(machineFile, 'node-1\nnode-2\n');
    const t0 = Date.now();
    const started = await nxc(['start', '-f', 'g5k-image', '-r', 'client=1', '-m', machineFile, '--json']);
    console.log(`g5k-image: nxc start of 2 nodes took ${Date.now() - t0} ms`);
    if (started.code !== 0)
      throw new Error(
        `nxc start failed (${started.code}): ${started.stderr.slice(-3000)}\n${await consoles()}`,
      );
    const result = JSON.parse(started.stdout) as { nodes: NodeResult[] };
    expect(result.nodes.map((n) => `${n.host}:${n.state}`).sort()).toEqual([
      'client:running',
      'server:running',
    ]);
    // each node found itself by the address of the machine it was deployed on
    expect(result.nodes.map((n) => n.address).sort()).toEqual(['10.78.0.11', '10.78.0.12']);
    // Kadeploy's progress shown on the way
    expect(started.stderr).toMatch(/kadeploy3: Launching a deployment on node-1,node-2/);
    expect(started.stderr).toMatch(/kadeploy3: The deployment is successful on nodes/);

    // the environment description nxc wrote and Kadeploy read
    const env = parse(await readFile(join(artifact(), 'composition.env.yaml'), 'utf8'));
    expect(env).toMatchObject({
      os: 'linux',
      arch: 'x86_64',
      image: { kind: 'tar', compression: 'xz' },
      filesystem: 'ext4',
      partition_type: 131,
      multipart: false,
    });
    expect(env.image.file).toMatch(/^local:\/\/\/nix\/store\/.+\/nixos-image\.tar\.xz$/);
    expect(env.boot.kernel_params).toMatch(
      /^deploy=gz:\S+ console=tty0 console=ttyS0,115200 init=\/nix\/store\//,
    );
    expect(await readFile(join(artifact(), 'kadeploy.log'), 'utf8')).toMatch(
      /The deployment is successful on nodes\nnode-1\nnode-2\n/,
    );

    const exec = await nxc([
      'exec',
      'all',
      '--json',
      '--',
      'sh',
      '-c',
      'hostname; cat /etc/nxc/node.json; grep " / " /proc/mounts',
    ]);
    expect(exec.code, exec.stderr).toBe(0);
    const out = Object.fromEntries(
      (JSON.parse(exec.stdout) as { results: Array<{ host: string; stdout: string }> }).results.map((r) => [
        r.host,
        r.stdout,
      ]),
    );
    expect(out.server).toMatch(/^server\n/);
    expect(out.server).toContain('"role":"server"');
    expect(out.client).toMatch(/^client\n/);
    expect(out.client).toContain('"role":"client"');
    // root is the ext4 file system Kadeploy wrote on the disk
    for (const h of ['server', 'client']) expect(out[h]).toMatch(/\/dev\/(root|sda) \/ ext4/);
    const page = await nxc(['exec', 'client', '--', 'wget', '-qO-', 'http://server/']);
    expect(page.code, page.stderr).toBe(0);
    expect(page.stdout).toContain('hello from the nxc demo server');

    const status = await nxc(['status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/"state": "running"/);
    expect(status.stdout).not.toMatch(/"state": "(unreachable|exited|stopped)"/);
    const stop = await nxc(['stop']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stderr + stop.stdout).toMatch(/machines stay in your OAR job/);
  });

  it('a node Kadeploy fails is reported by name with its reason, the other is usable; retryFailed redeploys just that node', async () => {
    process.env.KADEPLOY3_STANDIN_FAIL = 'node-2';
    let r: Answer;
    try {
      r = await deploy();
    } finally {
      Reflect.deleteProperty(process.env, 'KADEPLOY3_STANDIN_FAIL');
    }
    if (!r.answer.ok)
      throw new Error(`${r.answer.error?.message}\n${r.stderr.slice(-3000)}\n${await consoles()}`);
    const byHost = Object.fromEntries(
      (r.answer.result as { nodes: NodeResult[] }).nodes.map((n) => [n.host, n]),
    );
    expect(byHost.server?.state).toBe('running');
    expect(byHost.client?.state).toBe('exited');
    expect(byHost.client?.detail).toBe(
      'node-2: kadeploy: SetDeploymentEnvUntrusted-wait_reboot: Unreachable after the reboot (stand-in: injected failure)',
    );
    const warnings = r.events.filter((e) => e.type === 'warn').map((e) => String(e.message));
    expect(warnings).toEqual([
      'client (node-2, 10.78.0.12): kadeploy: SetDeploymentEnvUntrusted-wait_reboot: Unreachable after the reboot (stand-in: injected failure) (redeploy only the failed nodes with --retry-failed)',
    ]);
    expect((await execOn(['server'], 'hostname')).server?.stdout).toBe('server\n');

    // retry: only node-2 goes through Kadeploy; the server keeps running (same boot)
    const bootBefore = (await execOn(['server'], 'cat /proc/sys/kernel/random/boot_id')).server?.stdout;
    // (and the deployment served over HTTP this time, as when it does not fit the command line)
    const retry = await deploy({}, { retryFailed: true, remoteDeploymentInfo: true });
    if (!retry.answer.ok)
      throw new Error(`${retry.answer.error?.message}\n${retry.stderr.slice(-3000)}\n${await consoles()}`);
    expect(await readFile(join(artifact(), 'machines'), 'utf8')).toBe('node-2\n');
    expect(await readFile(join(artifact(), 'kadeploy.log'), 'utf8')).toMatch(
      /Launching a deployment on node-2\n/,
    );
    const nodesAfter = (retry.answer.result as { nodes: NodeResult[] }).nodes;
    expect(nodesAfter.map((n) => `${n.host}:${n.state}`)).toEqual(['server:running', 'client:running']);
    expect(nodesAfter[0]?.detail).toBe('node-1, kept from the last start');
    expect(
      retry.events.some(
        (e) =>
          e.type === 'step' &&
          /^serving the deployment at http:\/\/10\.78\.0\.1:\d+\/deployment\.json$/.test(String(e.message)),
      ),
    ).toBe(true);
    expect(
      parse(await readFile(join(artifact(), 'composition.env.yaml'), 'utf8')).boot.kernel_params,
    ).toMatch(/^deploy=http:\/\/10\.78\.0\.1:\d+\/deployment\.json deploy_sha256=[0-9a-f]{64} /);
    expect((await execOn(['server'], 'cat /proc/sys/kernel/random/boot_id')).server?.stdout).toBe(bootBefore);
    const page = await execOn(['client'], 'hostname; wget -qO- http://server/');
    expect(page.client).toMatchObject({ exitCode: 0, stdout: 'client\nhello from the nxc demo server\n' });
    // the node checked what it downloaded against the digest Kadeploy gave it
    const check = await execOn(['client'], 'cat /proc/cmdline; sha256sum /etc/nxc/deployment.json');
    const digest = /deploy_sha256=([0-9a-f]{64})/.exec(check.client?.stdout ?? '')?.[1];
    expect(digest).toBeDefined();
    expect(check.client?.stdout).toContain(`${digest}  /etc/nxc/deployment.json`);
  });
});
