import { describe, expect, it } from 'vitest';
import {
  KERNEL_CMDLINE_MAX,
  type VmSpec,
  deploymentId,
  kernelCmdline,
  macAddress,
  nodeAddress,
  qemuArgs,
  segmentFor,
} from './vm-spec.js';

const spec: VmSpec = {
  name: 'nxc-abc-server',
  host: 'server',
  kernel: '/k',
  initrd: '/i',
  append: 'console=ttyS0',
  accel: 'tcg',
  memoryMb: 256,
  cpus: 1,
  sshPort: 40022,
  segment: '239.255.1.2:23456',
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
      '-netdev socket,id=n1,mcast=239.255.1.2:23456,localaddr=127.0.0.1 -device virtio-net-pci,netdev=n1,mac=52:54:00:01:00:01',
    );
    expect(a.indexOf('id=n0')).toBeLessThan(a.indexOf('id=n1'));
    expect(a).toContain('-serial file:/a/server.log -qmp unix:/r/server.qmp,server=on,wait=off');
    expect(a).toContain('-pidfile /r/server.pid -daemonize');
    expect(a).not.toContain('virtfs');
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
  it('has unique MACs, addresses and a stable per-deployment segment', () => {
    expect(macAddress(300, 1)).toBe('52:54:00:01:01:2c');
    expect(nodeAddress(0)).toBe('10.100.0.11');
    expect(nodeAddress(2, '10.9.8')).toBe('10.9.8.13');
    const a = deploymentId('/p', 'composition', 'vm');
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect(deploymentId('/p', 'composition', 'vm-ramdisk')).not.toBe(a);
    expect(segmentFor(a)).toBe(segmentFor(a));
    expect(segmentFor(a)).toMatch(/^239\.255\.\d+\.\d+:\d+$/);
    expect(segmentFor(a)).not.toBe(segmentFor(deploymentId('/q', 'composition', 'vm')));
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
  });
});
