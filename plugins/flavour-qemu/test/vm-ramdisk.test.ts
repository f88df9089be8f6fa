/**
 * The end-to-end test for `vm-ramdisk`, through the real `nxc` binary in a temp copy
 * of examples/demo: `nxc build -f vm-ramdisk` (real Nix, test OS), `nxc start` of 1 server +
 * 2 clients (real QEMU, TCG), every client fetches http://server/ by hostname over the
 * private segment, the server's PID 1 is real systemd with its units active, its store is the
 * initrd's squashfs image under a tmpfs overlay, `nxc status
 * --json`, `nxc logs`, `nxc stop` leaving no QEMU process, run
 * directory or socket. Then, at library level, a fault: a node whose kernel command line is
 * broken is named with its console tail and the other VMs are stopped.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ComposeInfo, readComposeInfo } from '@nxc/core';
import type { FlavourDeployer } from '@nxc/core/flavour';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QemuState } from '../src/deployer.js';
import plugin from '../src/index.js';
import { findQemus } from '../src/processes.js';
import { deploymentId } from '../src/vm-spec.js';
import { demoCopy, removeDir, runNxc } from './cli.js';
import { buildDemo } from './demo-build.mjs';
import { harness, plan } from './harness.js';
import { faultScenario } from './scenarios.js';

describe('vm-ramdisk through the nxc CLI with the real demo', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await demoCopy({ 'vm-ramdisk': { accel: 'tcg', memory: 256 } });
  });
  afterAll(async () => {
    if (!dir) return;
    await runNxc(dir, ['stop', '-f', 'vm-ramdisk']);
    await removeDir(dir);
  });

  it('builds, starts 1 server + 2 clients reaching the server by hostname, reports status, stops leaving nothing', async () => {
    const build = await runNxc(dir, ['build', '-f', 'vm-ramdisk']);
    expect(build.code, build.stderr).toBe(0);
    const start = await runNxc(dir, ['start', '-f', 'vm-ramdisk', '-r', 'client=2']);
    expect(start.code, start.stderr + start.stdout).toBe(0);

    const exec = await runNxc(dir, [
      'exec',
      '-f',
      'vm-ramdisk',
      '@client',
      '--',
      'wget',
      '-qO-',
      'http://server/',
    ]);
    expect(exec.code, exec.stderr).toBe(0);
    expect(exec.stdout).toContain('client1 | hello from the nxc demo server');
    expect(exec.stdout).toContain('client2 | hello from the nxc demo server');

    // the demo's server runs real systemd (Debian's, on the test OS) as PID 1
    const init = await runNxc(dir, [
      'exec',
      '-f',
      'vm-ramdisk',
      'server',
      '--',
      'sh',
      '-c',
      'cat /proc/1/comm; systemctl is-system-running --wait; systemctl is-active httpd sshd nxc-boot nxc-ready',
    ]);
    expect(init.stdout.split('\n').filter(Boolean), init.stderr).toEqual(
      ['systemd', 'running', 'active', 'active', 'active', 'active'].map((l) => `server | ${l}`),
    );

    // the store is the initrd's squashfs image, loop-mounted by stage 1 from the role's
    // fileSystems, under a tmpfs overlay (as NixOS's netboot)
    const mounts = await runNxc(dir, [
      'exec',
      '-f',
      'vm-ramdisk',
      'server',
      '--',
      'awk',
      '$2 == "/nix/.ro-store" || $2 == "/nix/.rw-store" || $2 == "/nix/store" || $2 == "/" { print $2, $3, (index($1, "/dev/loop") == 1) }',
      '/proc/mounts',
    ]);
    // (stage 2 bind-mounts /nix/store on itself read-only, as NixOS's: a second entry)
    expect([...new Set(mounts.stdout.split('\n').filter(Boolean))].sort(), mounts.stderr).toEqual(
      ['/ tmpfs 0', '/nix/.ro-store squashfs 1', '/nix/.rw-store tmpfs 0', '/nix/store overlay 0'].map(
        (l) => `server | ${l}`,
      ),
    );

    const status = await runNxc(dir, ['status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const nodes = JSON.parse(status.stdout).deployments[0].nodes as {
      host: string;
      role: string;
      address: string;
      state: string;
    }[];
    expect(nodes.map((n) => [n.host, n.role, n.state]).sort()).toEqual([
      ['client1', 'client', 'running'],
      ['client2', 'client', 'running'],
      ['server', 'server', 'running'],
    ]);
    expect(nodes.every((n) => /^10\.100\.0\.\d+$/.test(n.address))).toBe(true);

    const state = JSON.parse(
      readFileSync(join(dir, 'deploy/composition::vm-ramdisk.state.json'), 'utf8'),
    ) as QemuState;
    expect(state.accel).toBe('tcg');
    expect(state.deploy).toBe('cmdline');
    expect(Object.keys(state.hostKeys).sort()).toEqual(['client1', 'client2', 'server']);
    const sockets = state.nodes.map((n) => n.qmpSocket);
    expect(sockets.every((s) => existsSync(s))).toBe(true);

    const logs = await runNxc(dir, ['logs', '--flavour', 'vm-ramdisk', '--tail', '5', 'server']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/server \| NXC_READY server/);

    const stop = await runNxc(dir, ['stop', '-f', 'vm-ramdisk']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(findQemus(`nxc-${deploymentId(dir, 'composition', 'vm-ramdisk')}-`)).toEqual([]);
    expect(existsSync(state.runDir)).toBe(false);
    expect(sockets.some((s) => existsSync(s))).toBe(false);
    const after = await runNxc(dir, ['status', '--json']);
    expect(JSON.parse(after.stdout).deployments).toEqual([]);
  });
});

describe('vm-ramdisk fault', () => {
  const h = harness('vm-ramdisk');
  let deployer: FlavourDeployer;
  let info: ComposeInfo;
  beforeAll(async () => {
    info = await readComposeInfo(buildDemo('vm-ramdisk'));
    deployer = await plugin.flavours.find((f) => f.name === 'vm-ramdisk')!.deployer();
  });
  afterAll(async () => {
    await deployer?.stop(await h.runningContext()).catch(() => {});
    h.remove();
  });

  it('names a node whose kernel command line is broken, with its console tail, and stops the others', async () => {
    await faultScenario(h, deployer, info);
  });

  it('a node refuses a served deployment that was altered after start (deploy_sha256)', async () => {
    const ctx = h.startContext(info, plan({ server: 1 }), {
      wait: false,
      options: {
        accel: 'tcg',
        memory: 256,
        kernelDeployBudget: 64,
      },
    });
    await deployer.start(ctx);
    const state = (await h.runningContext()).state as QemuState;
    expect(state.deploy).toBe('http');
    // what a man in the middle would hand the node: the same document with their key
    const served = join(state.runDir, 'deployment.json');
    const doc = JSON.parse(readFileSync(served, 'utf8')) as Record<string, unknown>;
    doc['ssh_key.pub'] = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEvil evil@lan';
    writeFileSync(served, `${JSON.stringify(doc)}\n`);
    const log = state.nodes[0]!.consoleLog;
    const end = Date.now() + 180_000;
    let text = '';
    while (Date.now() < end && !/NXC_BOOT_ERROR|NXC_READY/.test(text)) {
      await new Promise((r) => setTimeout(r, 500));
      text = readFileSync(log, 'utf8');
    }
    expect(text).toMatch(
      /NXC_BOOT_ERROR deploy=http:\/\/10\.0\.2\.100\/deployment\.json: digest mismatch: sha256 [0-9a-f]{64}, deploy_sha256=[0-9a-f]{64}/,
    );
    expect(text).not.toContain('NXC_READY');
    await deployer.stop(await h.runningContext());
    expect(h.leftovers()).toEqual({ qemus: [], switches: [], runDirs: [] });
  });

  it('stops every VM when interrupted while they boot (Ctrl-C)', async () => {
    const ac = new AbortController();
    const ctx = h.startContext(info, plan({ server: 1, client: 1 }), {
      signal: ac.signal,
      reporter: {
        emit: (e) => {
          if (e.type === 'node' && e.state === 'booting') ac.abort();
        },
      },
    });
    await expect(deployer.start(ctx)).rejects.toMatchObject({ code: 'NXC_INTERRUPTED' });
    expect(h.leftovers()).toEqual({ qemus: [], switches: [], runDirs: [] });
  });
});
