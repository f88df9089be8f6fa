/**
 * g5k-nfs-store end to end on the Grid'5000 stand-in (test/g5k-sim): two QEMU nodes in their
 * "standard environment" kexec into the demo's small initrd built by real Nix for
 * g5k-nfs-store; each node mounts the frontend's /nix/store read-only over NFS (this
 * machine's kernel has no NFS server: the stand-in runs nfs-ganesha, a user-space NFS
 * server, with rpcbind, inside the namespace) under a writable overlay, then boots its role.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, loadProject } from '@nxc/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type G5kSim, consoleTail, repo, startG5kSim } from '../../../test/g5k-sim/harness.js';

let sim: G5kSim;
let work: string;
let composeInfoFile: string;
let identity: { privateKeyPath: string; publicKey: string };
const plugin = join(repo, 'plugins/flavour-g5k-nfs-store/dist/index.js');

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
  composeInfoFile = (await build(await loadProject(project), { flavour: 'g5k-nfs-store' })).composeInfoPath;
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nxc-e2e', '-f', join(work, 'id')]);
  identity = {
    privateKeyPath: join(work, 'id'),
    publicKey: (await readFile(join(work, 'id.pub'), 'utf8')).trim(),
  };
  sim = await startG5kSim({ nodes: 2 });
  const nfs = await sim.sim('nfs-up', '/nix/store');
  if (nfs.code !== 0) throw new Error(`nfs-up failed: ${nfs.stderr}`);
}, 900_000);

afterAll(async () => {
  await sim?.down();
  if (work) await rm(work, { recursive: true, force: true });
}, 300_000);

function request(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    op: 'start',
    plugin,
    flavour: 'g5k-nfs-store',
    project: join(work, 'demo'),
    composition: 'composition',
    composeInfoFile,
    nodes: [
      { role: 'server', host: 'server' },
      { role: 'client', host: 'client' },
    ],
    identity,
    ...extra,
  };
}

describe("g5k-nfs-store on the Grid'5000 stand-in", () => {
  it('nodes mount the frontend store over NFS, boot their roles and reach each other', async () => {
    const gw = `${sim.env.G5KSIM_NET}.1`;
    const started = await sim.deploy(
      request({
        machineList: ['node-1', 'node-2'],
        timeoutMs: 300_000,
        // the initrd has no DNS: the NFS server by address (on G5K: NFS_STORE or the default nfs:/export/<store>)
        options: { nodeKeys: [sim.env.G5KSIM_ROOT_KEY], nfsStore: `${gw}:/nix/store` },
      }),
    );
    if (!started.answer.ok)
      throw new Error(
        `start failed: ${started.answer.error?.message}\nnode-1:\n${await consoleTail(sim.env, 1)}`,
      );
    const nodes = (started.answer.result as { nodes: NodeResult[] }).nodes;
    expect(nodes.map((n) => `${n.host}:${n.state}`)).toEqual(['server:running', 'client:running']);

    const r = await sim.deploy(
      request({
        op: 'exec',
        hosts: ['server', 'client'],
        command: 'hostname; grep -c " /nix/.ro-store nfs" /proc/mounts; wget -qO- http://server/',
      }),
    );
    expect(r.answer.error?.message).toBeUndefined();
    const out = r.answer.result as Record<string, { exitCode: number; stdout: string }>;
    for (const host of ['server', 'client']) {
      expect(out[host]?.stdout).toBe(`${host}\n1\nhello from the nxc demo server\n`);
    }
    // the kernel command line named the NFS store
    const cmd = await sim.deploy(request({ op: 'exec', hosts: ['client'], command: 'cat /proc/cmdline' }));
    expect((cmd.answer.result as Record<string, { stdout: string }>).client?.stdout).toContain(
      `nfs_store=${gw}:/nix/store`,
    );
  });
});
