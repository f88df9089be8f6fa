/**
 * What the Grid'5000 end-to-end tests set up around the stand-in (./harness.ts), written once:
 * the demo project as a user has it (copied, pointed at the offline test OS, committed, built
 * for a flavour), the deployment's SSH identity, the project's flavour options, the real `nxc`
 * CLI run on the frontend (inside the stand-in's namespace), the frontend's known_hosts, and an
 * OAR job reserving machines with their spare disks (whose environment `nxc start` reads).
 */
import { execFileSync } from 'node:child_process';
import { cp, open, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build, loadProject } from '@nxc/core';
import { shellQuote } from '@nxc/core/flavour';
import { expect } from 'vitest';
import {
  type G5kSim,
  type RunResult,
  repo,
  startG5kSim,
  writeFrontendKnownHosts,
} from '../../../test/g5k-sim/harness.js';

/** The demo project of a test. */
export interface DemoProject {
  /** Its folder. */
  dir: string;
  /** Its package.json (holds the nxc config). */
  pkgFile: string;
}

/**
 * Copies examples/demo into `<work>/demo` (its sources only: not a developer's local deploy/,
 * artifact/, build/, .nxc/ state, which `git add -A` would track and nxc build then refuses),
 * its node_modules linked, its nixpkgs the test OS; `editComposition` may change
 * composition.nix (it must change it); then commits it all (nxc build reads a git tree).
 */
export async function demoProject(
  work: string,
  options: { editComposition?: (text: string) => string } = {},
): Promise<DemoProject> {
  const demo = join(repo, 'examples/demo');
  const dir = join(work, 'demo');
  await cp(demo, dir, {
    recursive: true,
    filter: (src) => !/\/(node_modules|deploy|artifact|build|\.nxc)(\/|$)/.test(src.slice(demo.length)),
  });
  await symlink(join(demo, 'node_modules'), join(dir, 'node_modules'));
  const pkgFile = join(dir, 'package.json');
  await writeFile(
    pkgFile,
    (await readFile(pkgFile, 'utf8')).replace(
      '"../../test/fixtures/testos"',
      JSON.stringify(join(repo, 'test/fixtures/testos')),
    ),
  );
  if (options.editComposition) {
    const file = join(dir, 'composition.nix');
    const before = await readFile(file, 'utf8');
    const after = options.editComposition(before);
    if (after === before) throw new Error('editComposition left composition.nix as it was');
    await writeFile(file, after);
  }
  execFileSync(
    'sh',
    ['-c', 'git init -q && git add -A && git -c user.email=t@e -c user.name=t commit -qm demo'],
    { cwd: dir },
  );
  return { dir, pkgFile };
}

/** The demo's client role declaring `disks` (a Nix list body, e.g. `{ size = "1G"; id = "data"; }`). */
export function withClientDisks(disks: string): (text: string) => string {
  return (text) =>
    text.replace(
      'client = { pkgs, ... }: {\n',
      `client = { pkgs, ... }: {\n      nxc.disks = [ ${disks} ];\n`,
    );
}

/** Builds the project for `flavour` by real Nix; returns its compose info file. */
export async function buildFor(project: DemoProject, flavour: string): Promise<string> {
  return (await build(await loadProject(project.dir), { flavour })).composeInfoPath;
}

/** A fresh ed25519 identity (`<work>/id`) for the deploy side, as core gives a deployment. */
export async function newIdentity(work: string): Promise<{ privateKeyPath: string; publicKey: string }> {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nxc-e2e', '-f', join(work, 'id')]);
  return {
    privateKeyPath: join(work, 'id'),
    publicKey: (await readFile(join(work, 'id.pub'), 'utf8')).trim(),
  };
}

/** Sets the project's `nxc.flavourOptions[flavour]`, as a user writes them in package.json. */
export async function setFlavourOptions(
  project: DemoProject,
  flavour: string,
  options: Record<string, unknown>,
): Promise<void> {
  const json = JSON.parse(await readFile(project.pkgFile, 'utf8'));
  json.nxc.flavourOptions = { ...json.nxc.flavourOptions, [flavour]: options };
  await writeFile(project.pkgFile, `${JSON.stringify(json, null, 2)}\n`);
}

/**
 * The options a user of the stand-in gives a flavour that logs into the machines' standard
 * environment: its root key (the harness's) and the frontend's known_hosts listing the
 * machines (written to `<work>/ssh_known_hosts`).
 */
export async function standardEnvironmentAccess(
  sim: G5kSim,
  nodes: number,
  work: string,
): Promise<{ nodeKeys: string[]; knownHosts: string }> {
  return {
    nodeKeys: [sim.env.G5KSIM_ROOT_KEY ?? ''],
    knownHosts: await writeFrontendKnownHosts(sim, nodes, join(work, 'ssh_known_hosts')),
  };
}

/**
 * The real `nxc` CLI (apps/cli/dist) run in `dir` on the frontend (inside the stand-in's
 * namespace, as root), with `env` set for it.
 */
export function frontendNxc(
  sim: G5kSim,
  dir: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<RunResult> {
  const cli = join(repo, 'apps/cli/dist/cli.js');
  const vars = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)} `);
  return sim.inNs([
    'sh',
    '-c',
    `cd ${shellQuote(dir)} && ${vars.join('')}${shellQuote(process.execPath)} ${shellQuote(cli)} ${args.map(shellQuote).join(' ')}`,
  ]);
}

/** `oarstat`, `oarsub`... as the stand-in's OAR submitter (a CommandRunner of @nxc/g5k). */
export function asOarUser(
  sim: G5kSim,
): (argv: string[]) => Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return async (argv) => {
    const r = await sim.asUser(argv.map(shellQuote).join(' '));
    return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr };
  };
}

/**
 * Submits, as the OAR submitter, a job of type deploy reserving `hosts` machines with all
 * their spare disks (`{type='default' or type='disk'}/host=N`, as on Grid'5000), whose script
 * keeps what nxc start reads inside a job: the machine file and the resources' properties.
 * Waits until it runs and has written them; returns the job and the environment `nxc start`
 * has inside it (`OAR_JOB_ID`, `OAR_RESOURCE_PROPERTIES_FILE`).
 */
export async function reserveWithDisks(
  sim: G5kSim,
  options: { hosts: number; name: string },
): Promise<{ jobId: number; env: Record<string, string> }> {
  const submitted = await sim.asUser(
    `oarsub -t deploy -n ${options.name} -l "{type='default' or type='disk'}/host=${options.hosts},walltime=0:30" 'cp "$OAR_NODEFILE" ~/nodes.$OAR_JOB_ID.tmp && cp "$OAR_RESOURCE_PROPERTIES_FILE" ~/resources.$OAR_JOB_ID.tmp && mv ~/resources.$OAR_JOB_ID.tmp ~/resources.$OAR_JOB_ID && mv ~/nodes.$OAR_JOB_ID.tmp ~/nodes.$OAR_JOB_ID; sleep 3600'`,
  );
  const id = /OAR_JOB_ID=(\d+)/.exec(submitted.stdout)?.[1];
  if (!id) throw new Error(`oarsub failed: ${submitted.stdout}${submitted.stderr}`);
  const jobId = Number(id);
  // the job's script writes the files once it runs
  const deadline = Date.now() + 60_000;
  while ((await sim.asUser(`test -f ~/nodes.${jobId}`)).code !== 0) {
    if (Date.now() > deadline) {
      const state = await sim.asUser(`oarstat -s -j ${jobId}`);
      throw new Error(`OAR job ${jobId} did not start within 60 s: ${state.stdout}${state.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  const home = sim.env.G5KSIM_JOB_USER_HOME ?? '';
  return {
    jobId,
    env: { OAR_JOB_ID: String(jobId), OAR_RESOURCE_PROPERTIES_FILE: `${home}/resources.${jobId}` },
  };
}

/**
 * The compose info of a g5k-ramdisk "build" that is the stand-in's minimal boot-contract
 * system (node/deployed-rc) rather than a Nix build: roles server and client, `all` the
 * kernel and initrd to kexec. For engine tests that need no real system.
 */
export function deployedRcComposeInfo(all: Record<string, string>, source: string): Record<string, unknown> {
  return {
    composition: 'composition',
    flavour: { name: 'g5k-ramdisk', image: 'ramdisk' },
    roles: {
      server: { init: '/nix/store/00000000000000000000000000000000-server/init' },
      client: { init: '/nix/store/00000000000000000000000000000000-client/init' },
    },
    all,
    extra: {},
    source,
  };
}

/** The disks the disk tests' client role declares: `data` 1G and `disk1` 512M. */
export const CLIENT_DISKS = '{ size = "1G"; id = "data"; } { size = "512M"; }';

/**
 * The setup of the `nxc.disks` tests: the demo whose client role declares {@link CLIENT_DISKS},
 * built for `flavour`; the stand-in with 2 machines, node-1 with 2 spare disks of 1 GiB and
 * node-2 with 1, and OAR; the flavour's standard-environment access in the project's options;
 * `prepare` (e.g. a NFS server) run on the stand-in; then an OAR job reserving both machines
 * with their disks, whose environment (`jobEnv`) `nxc start` is to run in.
 */
export async function diskStandIn(
  work: string,
  flavour: string,
  options: { jobName: string; prepare?: (sim: G5kSim) => Promise<void> },
): Promise<{ sim: G5kSim; project: DemoProject; jobEnv: Record<string, string> }> {
  const project = await demoProject(work, { editComposition: withClientDisks(CLIENT_DISKS) });
  await buildFor(project, flavour);
  const sim = await startG5kSim({
    nodes: 2,
    oar: true,
    env: { G5KSIM_SPARE_DISKS: '2,1', G5KSIM_SPARE_DISK_SIZE: '1G' },
  });
  try {
    await options.prepare?.(sim);
    await setFlavourOptions(project, flavour, await standardEnvironmentAccess(sim, 2, work));
    const { env } = await reserveWithDisks(sim, { hosts: 2, name: options.jobName });
    return { sim, project, jobEnv: env };
  } catch (e) {
    await sim.down();
    throw e;
  }
}

/**
 * Shell command run in a node: for each id, `<id> <device> <bytes> <major:minor>` of the block
 * device /dev/disk/by-nxc/<id> resolves to (exit 1 naming the first id that is not one).
 */
export function nodeDisksProbe(ids: string[]): string {
  return `for id in ${ids.join(' ')}; do d=$(readlink -f /dev/disk/by-nxc/$id); test -b "$d" || { echo "$id: not a block device ($d)"; exit 1; }; n=\${d##*/}; echo "$id $n $(( $(cat /sys/class/block/$n/size) * 512 )) $(cat /sys/class/block/$n/dev)"; done`;
}

/** Shell command run in a node: writes `nxc-<id>-ok` at the start of each disk, then prints each disk's first line. */
export function nodeDisksWriteRead(ids: string[]): string {
  return `for id in ${ids.join(' ')}; do echo "nxc-$id-ok" | dd of=/dev/disk/by-nxc/$id bs=512 count=1 conv=sync 2>/dev/null; done; sync; for id in ${ids.join(' ')}; do dd if=/dev/disk/by-nxc/$id bs=512 count=1 2>/dev/null | head -n 1; done`;
}

/** The first `length` bytes of a stand-in machine's spare disk file (node-K.spareJ.img), as text. */
export async function spareDiskStart(
  sim: G5kSim,
  node: number,
  disk: number,
  length: number,
): Promise<string> {
  const file = await open(join(sim.env.G5KSIM_STATE ?? '', `disks/node-${node}.spare${disk}.img`));
  try {
    return (await file.read(Buffer.alloc(length), 0, length, 0)).buffer.toString();
  } finally {
    await file.close();
  }
}

/** The one node's stdout in `nxc exec HOST --json` output. */
export function execStdout(json: string): string {
  return (JSON.parse(json) as { results: Array<{ stdout: string }> }).results[0]?.stdout ?? '';
}

/**
 * Asserts that `nxc start -f <flavour>`, run with the client role (2 disks, {@link diskStandIn})
 * on node-2 (1 reserved disk), was refused before anything was deployed: exit 2, one `error:`
 * line from OAR's count and the hint, both machines still in their standard environment, no
 * deployment of the flavour left in the project.
 */
export async function expectRefusedForTooFewDisks(
  sim: G5kSim,
  project: DemoProject,
  flavour: string,
  r: RunResult,
): Promise<void> {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.split('\n').filter((l) => l.startsWith('error:'))).toEqual([
    'error: node client (node-2) needs 2 disks (data 1G, disk1 512M), the OAR job reserved 1 on node-2 (disk1.node-2)',
  ]);
  expect(r.stderr).toMatch(/^hint: reserve the machines with their disks/m);
  for (const n of ['node-1', 'node-2'])
    expect((await sim.sim('ssh', n, 'cat /etc/g5k-env')).stdout.trim()).toBe('G5K-STD-ENV');
  const left = (await readdir(join(project.dir, 'deploy')).catch(() => [])).filter((f) =>
    f.includes(flavour),
  );
  expect(left).toEqual([]);
}
