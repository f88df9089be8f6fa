/**
 * Host keys of Grid'5000 machines on the stand-in (test/g5k-sim: real QEMU nodes running
 * dropbear and kexec, in a network namespace): before kexec, a machine a known_hosts file
 * lists must present a listed key; after kexec, only the key nxc gave the node with its initrd
 * is accepted. A node presenting another key is refused with one clear line. The deployed
 * system is the stand-in's minimal boot-contract system (node/deployed-rc), which installs the
 * delivered key unless `nxctest.keep_host_key` is on its command line.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fingerprint } from '@nxc/ssh';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type G5kSim, repo, startG5kSim } from '../../../test/g5k-sim/harness.js';
import { deployedRcComposeInfo, newIdentity } from './stand-in-setup.js';

let sim: G5kSim;
let work: string;
let identity: { privateKeyPath: string; publicKey: string };
let knownHosts: string;
let standardKey: string;
let wrongKey: string;
let deployedInitrd: string;
const plugin = join(repo, 'plugins/flavour-g5k-ramdisk/dist/index.js');

/** `<type> <base64>` of a dropbear key file. */
function dropbearPublic(file: string): string {
  const out = execFileSync('dropbearkey', ['-y', '-f', file], { encoding: 'utf8' });
  return (out.split('\n').find((l) => l.startsWith('ssh-')) ?? '').split(' ').slice(0, 2).join(' ');
}

function request(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    op: 'start',
    repo,
    plugin,
    flavour: 'g5k-ramdisk',
    project: join(work, 'project'),
    composition: 'composition',
    composeInfo: deployedRcComposeInfo(
      { kernel: sim.env.G5KSIM_KERNEL ?? '', initrd: deployedInitrd },
      'host-keys.test.ts',
    ),
    identity,
    options: { nodeKeys: [sim.env.G5KSIM_ROOT_KEY], knownHosts },
    timeoutMs: 180_000,
    ...extra,
  };
}

const previousStateHome = process.env.XDG_STATE_HOME;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'nxc-g5k-host-keys-'));
  // nxc's record of its last system on each machine lives in the user state: other test files
  // deploy onto the same stand-in machines, so this one starts from an empty state of its own
  process.env.XDG_STATE_HOME = join(work, 'state');
  await mkdir(join(work, 'project/deploy'), { recursive: true });
  identity = await newIdentity(work);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'other')]);
  wrongKey = (await readFile(join(work, 'other.pub'), 'utf8')).split(' ').slice(0, 2).join(' ');
  sim = await startG5kSim({ nodes: 2 });
  deployedInitrd = (await sim.sim('deployed-initrd', join(work, 'deployed.initrd'))).stdout.trim();
  // every standard environment of the stand-in has this host key
  standardKey = dropbearPublic(join(sim.env.G5KSIM_STATE!, 'keys/hostkey'));
  // the frontend's known_hosts: node-1 listed with a key it does not have, node-2 correctly
  knownHosts = join(work, 'ssh_known_hosts');
  await writeFile(knownHosts, `node-1,10.77.0.11 ${wrongKey}\nnode-2,10.77.0.12 ${standardKey}\n`);
}, 900_000);

afterAll(async () => {
  if (previousStateHome === undefined) Reflect.deleteProperty(process.env, 'XDG_STATE_HOME');
  else process.env.XDG_STATE_HOME = previousStateHome;
  await sim?.down();
  if (work) await rm(work, { recursive: true, force: true });
}, 300_000);

describe("host keys of Grid'5000 machines (stand-in)", () => {
  it('refuses a machine whose key is not the one known_hosts lists; checks the key it gave the other', async () => {
    const r = await sim.deploy(
      request({
        nodes: [
          { role: 'server', host: 'server' },
          { role: 'client', host: 'client' },
        ],
        machineList: ['node-1', 'node-2'],
      }),
    );
    expect(r.answer.error?.message, r.stderr.slice(-3000)).toBeUndefined();
    const nodes = (r.answer.result as { nodes: { host: string; state: string; detail?: string }[] }).nodes;
    const server = nodes.find((n) => n.host === 'server')!;
    expect(server.state).toBe('exited');
    expect(server.detail).toBe(
      `node-1: connect: node "node-1" (10.77.0.11:22): host key ${fingerprint(standardKey)} does not match the key in ${knownHosts}:1 (${fingerprint(wrongKey)}); refusing it`,
    );
    expect(nodes.find((n) => n.host === 'client')?.state).toBe('running');
    // the key saved for later commands is the one nxc gave the node, and the node presents it
    const state = JSON.parse(
      await readFile(join(work, 'project/deploy/composition::g5k-ramdisk.state.json'), 'utf8'),
    );
    const given = state.nodes.client.hostKey as string;
    expect(given).toMatch(/^ssh-ed25519 /);
    expect(given).not.toBe(standardKey);
    const exec = await sim.deploy({ ...request({}), op: 'exec', hosts: ['client'], command: 'hostname' });
    expect(exec.answer.error?.message).toBeUndefined();
    expect((exec.answer.result as Record<string, { stdout: string }>).client?.stdout).toBe('client\n');
  }, 900_000);

  it('refuses a node that presents another key than the one nxc gave it after kexec, in one line', async () => {
    // node-2 runs the system of the previous test: nxc recognises it by the key it gave it,
    // kexecs it again, and this time the new system keeps a key of its own
    const r = await sim.deploy(
      request({
        nodes: [{ role: 'client', host: 'client' }],
        machineList: ['node-2'],
        kernelParams: 'nxctest.keep_host_key',
      }),
    );
    expect(r.answer.ok).toBe(false);
    const message = r.answer.error?.message ?? '';
    expect(message).not.toContain('\n');
    expect(message).toMatch(
      new RegExp(
        `^no node came up: client \\(node-2, 10\\.77\\.0\\.12\\): FAILED at boot: after kexec, 10\\.77\\.0\\.12 presented host key ${fingerprint(
          dropbearPublic(join(sim.env.G5KSIM_STATE!, 'keys/hostkey_deployed')),
        ).replace(/[+/]/g, '\\$&')}, not the one nxc gave the node \\(SHA256:[^)]+\\): refusing it`,
      ),
    );
  }, 900_000);

  it("accepts a machine reinstalled since nxc's last system there when no known_hosts lists it, with a warning", async () => {
    // node-1 runs the standard environment (the first test refused it); nxc's record says its
    // last system there had another key, and no known_hosts file lists node-1
    const stateKeys = join(work, 'state/nxc/g5k-host-keys');
    await mkdir(stateKeys, { recursive: true, mode: 0o700 });
    await writeFile(join(stateKeys, 'node-1'), `${wrongKey} 10.77.0.11 server\n`, { mode: 0o600 });
    const empty = join(work, 'empty_known_hosts');
    await writeFile(empty, '');
    const r = await sim.deploy({
      ...request({ nodes: [{ role: 'server', host: 'server' }], machineList: ['node-1'] }),
      options: { nodeKeys: [sim.env.G5KSIM_ROOT_KEY], knownHosts: empty },
    });
    expect(r.answer.error?.message, r.stderr.slice(-3000)).toBeUndefined();
    const nodes = (r.answer.result as { nodes: { host: string; state: string }[] }).nodes;
    expect(nodes.find((n) => n.host === 'server')?.state).toBe('running');
    const warnings = r.events.filter((e) => e.type === 'warn').map((e) => String(e.message));
    expect(warnings).toContainEqual(
      `node-1: no known host key (${empty} do not list it) nor the key of nxc's last system there (${fingerprint(wrongKey)}; reinstalled since?): trusted ${fingerprint(standardKey)} on first contact`,
    );
  }, 900_000);
});
