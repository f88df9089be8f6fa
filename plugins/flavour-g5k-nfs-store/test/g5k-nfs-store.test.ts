/**
 * g5k-nfs-store end to end on the Grid'5000 stand-in (test/g5k-sim), through the real `nxc`
 * CLI run on the frontend (inside the stand-in's namespace): `nxc start -f g5k-nfs-store -m
 * FILE` kexecs two QEMU nodes from their "standard environment" into the demo's small initrd
 * built by real Nix; each node mounts the frontend's /nix/store read-only over NFS under a
 * writable overlay, then boots its role. No NFS store is configured: the flavour finds it as
 * on Grid'5000, the site's server `nfs` (a name the stand-in resolves) exporting the frontend's
 * store under /export (this machine's kernel has no NFS server: the stand-in runs nfs-ganesha,
 * a user-space NFS server, with rpcbind, inside the namespace).
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, loadProject } from '@nxc/core';
import { shellQuote } from '@nxc/core/flavour';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type G5kSim,
  consoleTail,
  repo,
  startG5kSim,
  writeFrontendKnownHosts,
} from '../../../test/g5k-sim/harness.js';

let sim: G5kSim;
let work: string;

type NodeResult = { host: string; state: string; address: string; detail?: string };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'nxc-g5k-nfs-e2e-'));
  const project = join(work, 'demo');
  // the demo's sources only (not a developer's local deploy/, artifact/, build/, .nxc/ state,
  // which `git add -A` would track and nxc build then refuses)
  await cp(join(repo, 'examples/demo'), project, {
    recursive: true,
    filter: (src) =>
      !/\/(node_modules|deploy|artifact|build|\.nxc)(\/|$)/.test(
        src.slice(join(repo, 'examples/demo').length),
      ),
  });
  await symlink(join(repo, 'examples/demo/node_modules'), join(project, 'node_modules'));
  const pkgFile = join(project, 'package.json');
  await writeFile(
    pkgFile,
    (await readFile(pkgFile, 'utf8')).replace(
      '"../../test/fixtures/testos"',
      JSON.stringify(join(repo, 'test/fixtures/testos')),
    ),
  );
  execFileSync(
    'sh',
    ['-c', 'git init -q && git add -A && git -c user.email=t@e -c user.name=t commit -qm demo'],
    { cwd: project },
  );
  await build(await loadProject(project), { flavour: 'g5k-nfs-store' });
  sim = await startG5kSim({ nodes: 2 });
  const nfs = await sim.sim('nfs-up', '/nix/store');
  if (nfs.code !== 0) throw new Error(`nfs-up failed: ${nfs.stderr}`);
  // as a user sets flavourOptions: the standard environment authorizes the harness's root key,
  // and the frontend's ssh_known_hosts lists the machines; NO nfsStore
  const knownHosts = await writeFrontendKnownHosts(sim, 2, join(work, 'ssh_known_hosts'));
  const json = JSON.parse(await readFile(pkgFile, 'utf8'));
  json.nxc.flavourOptions = { 'g5k-nfs-store': { nodeKeys: [sim.env.G5KSIM_ROOT_KEY], knownHosts } };
  await writeFile(pkgFile, `${JSON.stringify(json, null, 2)}\n`);
  await writeFile(join(work, 'machines'), 'node-1\nnode-2\n');
}, 900_000);

afterAll(async () => {
  await sim?.down();
  if (work) await rm(work, { recursive: true, force: true });
}, 300_000);

/** The real `nxc` CLI, run in the demo project on the frontend (inside the namespace). */
function nxc(args: string[]): ReturnType<G5kSim['inNs']> {
  const cli = join(repo, 'apps/cli/dist/cli.js');
  return sim.inNs([
    'sh',
    '-c',
    `cd ${shellQuote(join(work, 'demo'))} && ${shellQuote(process.execPath)} ${shellQuote(cli)} ${args.map(shellQuote).join(' ')}`,
  ]);
}

describe("g5k-nfs-store on the Grid'5000 stand-in", () => {
  it('nxc start with no NFS store configured: nodes mount nfs:/export/nix/store, boot their roles and reach each other; stop', async () => {
    const gw = `${sim.env.G5KSIM_NET}.1`;
    const started = await nxc(['start', '-f', 'g5k-nfs-store', '-W', '-m', join(work, 'machines'), '--json']);
    if (started.code !== 0)
      throw new Error(
        `nxc start failed (${started.code}): ${started.stderr.slice(-2000)}\nnode-1:\n${await consoleTail(sim.env, 1)}`,
      );
    const nodes = (JSON.parse(started.stdout) as { nodes: NodeResult[] }).nodes;
    expect(nodes.map((n) => n.state)).toEqual(['running', 'running']);
    expect(nodes.map((n) => n.host)).toContain('server');

    const exec = await nxc([
      'exec',
      'all',
      '--json',
      '--',
      'sh',
      '-c',
      'hostname; grep -c " /nix/.ro-store nfs" /proc/mounts; wget -qO- http://server/; cat /proc/cmdline',
    ]);
    expect(exec.code, exec.stderr + exec.stdout).toBe(0);
    const results = (
      JSON.parse(exec.stdout) as { results: Array<{ host: string; exitCode: number; stdout: string }> }
    ).results;
    expect(results.map((r) => r.exitCode)).toEqual([0, 0]);
    expect(results.map((r) => r.host).sort()).toEqual(nodes.map((n) => n.host).sort());
    for (const r of results) {
      const [host, mounts, page, cmdline] = r.stdout.split('\n');
      expect([host, mounts, page]).toEqual([r.host, '1', 'hello from the nxc demo server']);
      // the default discovery: the site's `nfs` server, resolved on the frontend, exporting
      // the frontend's store under /export
      expect(cmdline).toContain(`nfs_store=${gw}:/export/nix/store`);
    }

    const stop = await nxc(['stop']);
    expect(stop.code, stop.stderr).toBe(0);
  });
});
