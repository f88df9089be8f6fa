/**
 * `vm` against the conformance kit (real QEMU, TCG, the real demo, whose server declares two
 * disks here), plus what this flavour promises on the shared deployment: the guests run on the
 * host's /nix/store shared over 9p, and, the kernel command line budget being forced tiny, they
 * fetched the deployment from the HTTP endpoint QEMU serves to its own guest (vm-ramdisk's test
 * covers the inline form); the server's two disks have the declared sizes and take a file
 * system (vm-ramdisk's disks are in disks.test.ts).
 */
import { exec } from '@nxc/core';
import { expect, it } from 'vitest';
import { describeQemuFlavour } from './conformance.js';
import { DISK_ROUND_TRIP, diskRoundTripOutput, withServerDisks } from './harness.js';

describeQemuFlavour('vm', {
  options: { kernelDeployBudget: 64 },
  composition: withServerDisks,
  sharedDeploymentChecks(deployment) {
    it('the server has its two disks (nxc.disks): declared sizes, a file system, written and read back', async () => {
      const { project } = deployment();
      const [sizes] = await exec(
        project,
        ['server'],
        'for id in data disk1; do blockdev --getsize64 /dev/disk/by-id/virtio-$id; done',
        { flavour: 'vm' },
      );
      expect(sizes).toMatchObject({ exitCode: 0, stdout: `${64 * 1024 * 1024}\n${40 * 1024 * 1024}\n` });
      const [r] = await exec(project, ['server'], DISK_ROUND_TRIP, { flavour: 'vm' });
      expect(r, r?.stderr).toMatchObject({ exitCode: 0 });
      expect(r!.stdout.trim().split('\n')).toEqual(diskRoundTripOutput('server'));
    });

    it("runs on the host's store over 9p, the deployment served over HTTP", async () => {
      const { project, started } = deployment();
      const init = started.composeInfo.roles.server!.init;
      const [r] = await exec(
        project,
        ['server'],
        `test -e ${init} && grep -o 'deploy=[^ ]*' /proc/cmdline && mount | grep -c ' 9p '`,
        { flavour: 'vm' },
      );
      expect(r!.exitCode, r!.stderr).toBe(0);
      expect(r!.stdout).toMatch(/^deploy=http:\/\/10\.0\.2\.100\/deployment\.json\n[1-9]/);
    });
  },
});
