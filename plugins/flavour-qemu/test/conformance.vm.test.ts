/**
 * `vm` against the conformance kit (real QEMU, TCG, the real demo), plus what this flavour
 * promises on the shared deployment: the guests run on the host's /nix/store shared over 9p,
 * and, the kernel command line budget being forced tiny, they fetched the deployment from the
 * HTTP endpoint QEMU serves to its own guest (vm-ramdisk's test covers the inline form).
 */
import { exec } from '@nxc/core';
import { expect, it } from 'vitest';
import { describeQemuFlavour } from './conformance.js';

describeQemuFlavour('vm', {
  options: { kernelDeployBudget: 64 },
  sharedDeploymentChecks(deployment) {
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
