/**
 * `vm-ramdisk` against the conformance kit (real QEMU, TCG, the real demo), plus what this
 * flavour promises on the shared deployment: the deployment travels on the kernel command
 * line, host keys are learnt at start, every VM has its QMP socket; the demo's server runs real
 * systemd as PID 1; the store is the initrd's squashfs image under a tmpfs overlay.
 */
import { existsSync, readFileSync } from 'node:fs';
import { exec } from '@nxc/core';
import { statePath } from '@nxc/core/flavour';
import { expect, it } from 'vitest';
import type { QemuState } from '../src/deployer.js';
import { describeQemuFlavour } from './conformance.js';

describeQemuFlavour('vm-ramdisk', {
  sharedDeploymentChecks(deployment) {
    it('deploys over the kernel command line, learns host keys at start, has a QMP socket per VM', () => {
      const { project, started } = deployment();
      const state = JSON.parse(
        readFileSync(statePath(project, started.composition, 'vm-ramdisk'), 'utf8'),
      ) as QemuState;
      expect(state.accel).toBe('tcg');
      expect(state.deploy).toBe('cmdline');
      expect(Object.keys(state.hostKeys).sort()).toEqual(['client', 'server']);
      expect(state.nodes.every((n) => existsSync(n.qmpSocket))).toBe(true);
    });

    it("the demo's server runs real systemd (Debian's, on the test OS) as PID 1, its units active", async () => {
      const { project } = deployment();
      const [r] = await exec(
        project,
        ['server'],
        [
          'sh',
          '-c',
          'cat /proc/1/comm; systemctl is-system-running --wait; systemctl is-active httpd sshd nxc-boot nxc-ready',
        ],
        { flavour: 'vm-ramdisk' },
      );
      expect(r?.stdout.split('\n').filter(Boolean), r?.stderr).toEqual([
        'systemd',
        'running',
        'active',
        'active',
        'active',
        'active',
      ]);
    });

    it("the store is the initrd's squashfs image, loop-mounted by stage 1, under a tmpfs overlay", async () => {
      const { project } = deployment();
      const [r] = await exec(
        project,
        ['server'],
        [
          'awk',
          '$2 == "/nix/.ro-store" || $2 == "/nix/.rw-store" || $2 == "/nix/store" || $2 == "/" { print $2, $3, (index($1, "/dev/loop") == 1) }',
          '/proc/mounts',
        ],
        { flavour: 'vm-ramdisk' },
      );
      // (stage 2 bind-mounts /nix/store on itself read-only, as NixOS's: a second entry)
      expect([...new Set(r?.stdout.split('\n').filter(Boolean))].sort(), r?.stderr).toEqual([
        '/ tmpfs 0',
        '/nix/.ro-store squashfs 1',
        '/nix/.rw-store tmpfs 0',
        '/nix/store overlay 0',
      ]);
    });
  },
});
