/**
 * The image kinds the demo builds really boot (QEMU, TCG): `vm` (host store over 9p, the
 * node's address from `nxc.ip=` as the qemu flavour passes it) and `tarball` (g5k-image: the
 * tarball unpacked on an ext4 disk, booted with `root=` on G5K-like hardware, a SATA disk
 * and an e1000e NIC, address by DHCP), each reaching NXC_READY with the role picked from
 * `deploy=` and serving the demo page; and a node absent from the deployment stops with one
 * NXC_BOOT_ERROR line. (vm-ramdisk and the kexec kinds are booted by the qemu and g5k
 * flavours' own end-to-end tests.)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../src/build/index.js';
import type { ComposeInfo } from '../src/compose-info.js';
import { encodeDeploymentForKernel } from '../src/deployment.js';
import { loadProject } from '../src/project.js';
import { TEST_NIX_FLAGS, demoCopy, ensureTestOs } from './demo-project.js';

let demo: ReturnType<typeof demoCopy>;
let work: string;
const infos: Record<string, ComposeInfo> = {};
const vms: ChildProcess[] = [];

async function freePort(): Promise<number> {
  return new Promise((ok, ko) => {
    const s = createServer();
    s.once('error', ko);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

function deployParam(role: string, address = '10.0.2.15'): string {
  return encodeDeploymentForKernel({
    deployment: { [address]: { role, host: role } },
    'ssh_key.pub': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOm nxc@test',
    composition: 'composition',
    flavour: 'test',
    user: 'root',
  }).value;
}

/** Boots QEMU; resolves with the serial log once `until` matches (or rejects on timeout/exit). */
async function boot(name: string, args: string[], until: RegExp, timeoutMs = 150_000): Promise<string> {
  const log = join(work, `${name}.log`);
  const vm = spawn(
    'qemu-system-x86_64',
    [
      '-machine',
      'pc',
      '-accel',
      'tcg',
      '-cpu',
      'max',
      '-smp',
      '1',
      '-m',
      '384',
      '-display',
      'none',
      '-vga',
      'none',
      '-nodefaults',
      '-no-reboot',
      '-serial',
      `file:${log}`,
      ...args,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  vms.push(vm);
  let stderr = '';
  vm.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    if (until.test(text)) return text;
    if (vm.exitCode !== null)
      throw new Error(`qemu exited (${vm.exitCode}): ${stderr}\n${text.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `timeout waiting for ${until} in ${log}:\n${existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : ''}`,
  );
}

function stopAll(): void {
  for (const vm of vms.splice(0)) if (vm.exitCode === null) vm.kill('SIGKILL');
}

beforeAll(async () => {
  ensureTestOs();
  process.env.NXC_NIX_FLAGS = TEST_NIX_FLAGS;
  demo = demoCopy();
  work = mkdtempSync(join(tmpdir(), 'nxc-images-'));
  const project = await loadProject(demo.dir);
  for (const flavour of ['vm', 'g5k-image']) {
    const r = await build(project, { flavour });
    if (!r.composeInfo) throw new Error(`no compose info for ${flavour}`);
    infos[flavour] = r.composeInfo;
  }
});

afterAll(() => {
  stopAll();
  demo?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('images boot', () => {
  it('vm: kernel + small initrd, store over 9p; the server role serves the demo page', async () => {
    const info = infos.vm as ComposeInfo;
    const port = await freePort();
    await boot(
      'vm-server',
      [
        '-kernel',
        info.all.kernel as string,
        '-initrd',
        info.all.initrd as string,
        '-append',
        `console=ttyS0 quiet panic=-1 ${info.all.cmdline} nxc.ip=10.0.2.15/24 deploy=${deployParam('server')}`,
        '-netdev',
        `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:80`,
        '-device',
        'virtio-net-pci,netdev=n0',
        '-virtfs',
        `local,path=/nix/store,mount_tag=${info.all.store_tag},security_model=none,readonly=on`,
      ],
      /NXC_READY server/,
    );
    const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(page).toContain('hello from the nxc demo server');
    stopAll();
  });

  it('vm: a node that is not in the deployment stops with one NXC_BOOT_ERROR line', async () => {
    const info = infos.vm as ComposeInfo;
    const text = await boot(
      'vm-stranger',
      [
        '-kernel',
        info.all.kernel as string,
        '-initrd',
        info.all.initrd as string,
        '-append',
        `console=ttyS0 quiet panic=-1 ${info.all.cmdline} nxc.ip=10.0.2.15/24 deploy=${deployParam('server', '10.9.9.9')}`,
        '-netdev',
        'user,id=n0',
        '-device',
        'virtio-net-pci,netdev=n0',
        '-virtfs',
        `local,path=/nix/store,mount_tag=${info.all.store_tag},security_model=none,readonly=on`,
      ],
      /NXC_BOOT_ERROR/,
    );
    const errors = text.split('\n').filter((l) => l.startsWith('NXC_BOOT_ERROR'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/no entry for this node .*10\.0\.2\.15/);
    expect(text).not.toContain('NXC_READY');
    stopAll();
  });

  it('tarball (g5k-image): unpacked on an ext4 disk, booted with root=; the client role comes up', async () => {
    const info = infos['g5k-image'] as ComposeInfo;
    const root = join(work, 'imgroot');
    mkdirSync(root);
    execFileSync('tar', ['-C', root, '-xJf', info.all.image as string]);
    for (const f of ['boot/kernel', 'boot/initrd', 'boot/cmdline', 'sbin/init'])
      expect(existsSync(join(root, f)), f).toBe(true);
    const disk = join(work, 'disk.raw');
    execFileSync('mkfs.ext4', ['-q', '-d', root, disk, '300M']);
    const cmdline = readFileSync(join(root, 'boot/cmdline'), 'utf8').trim();
    expect(cmdline).toBe(info.all.cmdline);
    const text = await boot(
      'tarball-client',
      [
        '-kernel',
        join(root, 'boot/kernel'),
        '-initrd',
        join(root, 'boot/initrd'),
        '-append',
        `console=ttyS0 quiet panic=-1 ${cmdline} root=/dev/sda deploy=${deployParam('client')}`,
        '-drive',
        `file=${disk},if=none,id=d0,format=raw`,
        '-device',
        'ahci,id=ahci',
        '-device',
        'ide-hd,drive=d0,bus=ahci.0',
        '-netdev',
        'user,id=n0',
        '-device',
        'e1000e,netdev=n0',
      ],
      /NXC_READY client/,
    );
    expect(text).toContain('nxc-boot: client is a client (10.0.2.15)');
    stopAll();
  });
});
