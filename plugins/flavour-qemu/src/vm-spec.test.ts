import { describe, expect, it } from 'vitest';
import {
  KERNEL_CMDLINE_MAX,
  type VmSpec,
  deploymentId,
  kernelCmdline,
  macAddress,
  nodeAddress,
  qemuArgs,
  vmConfig,
} from './vm-spec.js';

const spec: VmSpec = {
  name: 'nxc-abc-server',
  host: 'server',
  kernel: '/k',
  initrd: '/i',
  append: 'console=ttyS0 deploy=gz:SECRET',
  config: '/r/server.cfg',
  accel: 'tcg',
  memoryMb: 256,
  cpus: 1,
  sshPort: 40022,
  segment: '/r/segment.sock',
  index: 1,
  consoleLog: '/a/server.log',
  qmpSocket: '/r/server.qmp',
  pidFile: '/r/server.pid',
  shareStore: false,
};

describe('qemuArgs', () => {
  it('gives user-mode NIC first (ssh forward), segment NIC last, console, QMP, detached', () => {
    const a = qemuArgs(spec).join(' ');
    expect(a).toContain('-accel tcg,tb-size=32 -cpu max -smp 1 -m 256');
    expect(a).toContain(
      '-netdev user,id=n0,hostfwd=tcp:127.0.0.1:40022-:22 -device virtio-net-pci,netdev=n0,mac=52:54:00:00:00:01',
    );
    expect(a).toContain(
      '-netdev stream,id=n1,server=off,addr.type=unix,addr.path=/r/segment.sock -device virtio-net-pci,netdev=n1,mac=52:54:00:01:00:01',
    );
    expect(a.indexOf('id=n0')).toBeLessThan(a.indexOf('id=n1'));
    expect(a).toContain(
      '-chardev socket,id=serial0,path=/r/server.ser,server=on,wait=off,logfile=/a/server.log -serial chardev:serial0 -qmp unix:/r/server.qmp,server=on,wait=off',
    );
    expect(a).toContain('-pidfile /r/server.pid -daemonize');
    expect(a).not.toContain('virtfs');
  });
  it('keeps kernel, initrd and the kernel command line off argv (any user reads /proc/PID/cmdline)', () => {
    const a = qemuArgs(spec);
    expect(a.join(' ')).not.toMatch(/SECRET|-append|-kernel|-initrd/);
    expect(a.slice(a.indexOf('-readconfig'), a.indexOf('-readconfig') + 2)).toEqual([
      '-readconfig',
      '/r/server.cfg',
    ]);
    expect(vmConfig(spec)).toBe(
      '[machine]\n  kernel = "/k"\n  initrd = "/i"\n  append = "console=ttyS0 deploy=gz:SECRET"\n',
    );
  });
  it('leaves a command line that QEMU config values cannot hold on argv (the deploy side serves the deployment then)', () => {
    for (const append of [`deploy=http://10.0.2.100/deployment.json ${'x'.repeat(1024)}`, 'foo="a b"']) {
      expect(vmConfig({ ...spec, append })).not.toContain('append');
      const a = qemuArgs({ ...spec, append });
      expect(a[a.indexOf('-append') + 1]).toBe(append);
    }
    const fits = 'y'.repeat(1023);
    expect(vmConfig({ ...spec, append: fits })).toContain(`append = "${fits}"`);
  });
  it('attaches each declared disk as raw virtio-blk whose serial is its id (commas in paths escaped)', () => {
    const a = qemuArgs({
      ...spec,
      disks: [
        { id: 'data', file: '/r/server.disk-data.raw' },
        { id: 'disk1', file: '/r,x/server.disk-disk1.raw' },
      ],
    });
    const joined = a.join(' ');
    expect(joined).toContain(
      '-drive file=/r/server.disk-data.raw,if=none,id=disk0,format=raw,cache=writeback,discard=unmap -device virtio-blk-pci,drive=disk0,serial=data',
    );
    expect(joined).toContain(
      '-drive file=/r,,x/server.disk-disk1.raw,if=none,id=disk1,format=raw,cache=writeback,discard=unmap -device virtio-blk-pci,drive=disk1,serial=disk1',
    );
    expect(qemuArgs(spec)).not.toContain('-drive');
  });

  it('shares the store over 9p for the vm kind and serves the deployment with guestfwd', () => {
    const a = qemuArgs({
      ...spec,
      shareStore: true,
      accel: 'kvm',
      guestfwd: 'tcp:10.0.2.100:80-cmd:/bin/sh /r/s.sh',
    });
    expect(a.join(' ')).toContain(
      '-virtfs local,path=/nix/store,mount_tag=nix-store,security_model=none,readonly=on',
    );
    expect(a).toContain(
      'user,id=n0,hostfwd=tcp:127.0.0.1:40022-:22,guestfwd=tcp:10.0.2.100:80-cmd:/bin/sh /r/s.sh',
    );
    expect(a.join(' ')).toContain('-accel kvm -cpu host');
  });
});

describe('deployment layout', () => {
  it('has unique MACs, addresses and a stable per-deployment id', () => {
    expect(macAddress(300, 1)).toBe('52:54:00:01:01:2c');
    expect(nodeAddress(0)).toBe('10.100.0.11');
    expect(nodeAddress(2, '10.9.8')).toBe('10.9.8.13');
    const a = deploymentId('/p', 'composition', 'vm');
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect(deploymentId('/p', 'composition', 'vm-ramdisk')).not.toBe(a);
    expect(deploymentId('/p', 'composition', 'vm')).toBe(a);
  });
  it('builds the kernel command line in order: image, nxc.*, deploy, user params', () => {
    const c = kernelCmdline({
      image: 'init=/nix/store/x/init',
      deploy: 'gz:AAA',
      flavour: 'vm',
      host: 'server',
      address: '10.100.0.11',
      extra: 'quiet',
    });
    expect(c).toBe(
      'console=ttyS0,115200 panic=-1 init=/nix/store/x/init nxc.flavour=vm nxc.host=server nxc.ip=10.100.0.11/24 deploy=gz:AAA quiet',
    );
    expect(KERNEL_CMDLINE_MAX).toBe(2047);
    const sha = 'cd'.repeat(32);
    expect(
      kernelCmdline({
        deploy: 'http://10.0.2.100/deployment.json',
        deploySha256: sha,
        flavour: 'vm',
        host: 's',
        address: '10.100.0.11',
        extra: 'quiet',
      }),
    ).toMatch(new RegExp(`deploy=http://10\\.0\\.2\\.100/deployment\\.json deploy_sha256=${sha} quiet$`));
  });
});
