import { describe, expect, it } from 'vitest';
import { parseKadeployOutput } from './kadeploy-output.js';

// The client's result lines (madynes/kadeploy lib/kadeploy3/client/client.rb, Client#result):
// "The <operation> is successful on nodes" + one node a line, "The <operation> failed on
// nodes" + "<node> (<error>)" a line; -o / -n files get the node names.
const output = `Deployment #D-1b2c started
Grab the tarball file local:///nix/store/x/nixos-image.tar.xz
Launching a deployment on node-1,node-2
Performing a Deploy[SetDeploymentEnvUntrusted] step
  switch_pxe
  reboot
End of step Deploy[SetDeploymentEnvUntrusted] after 12s
End of deployment for node-1 after 40s
Deployment #D-1b2c done

The deployment is successful on nodes
node-1
The deployment failed on nodes
node-2 (BootNewEnvKexec-wait_reboot: Unreachable after the reboot)
`;

describe('parseKadeployOutput', () => {
  it('reads OK and KO nodes with the reasons from the text', () => {
    expect(parseKadeployOutput(output)).toEqual({
      ok: ['node-1'],
      ko: [{ node: 'node-2', reason: 'BootNewEnvKexec-wait_reboot: Unreachable after the reboot' }],
    });
  });

  it('trusts the -o / -n files for the sets, the text for the reasons', () => {
    const r = parseKadeployOutput(output, { ok: 'node-1\n', ko: 'node-2\nnode-3\n' });
    expect(r.ok).toEqual(['node-1']);
    expect(r.ko).toEqual([
      { node: 'node-2', reason: 'BootNewEnvKexec-wait_reboot: Unreachable after the reboot' },
      { node: 'node-3', reason: 'no reason given' },
    ]);
  });

  it('all OK; nothing at all', () => {
    expect(
      parseKadeployOutput('The deployment is successful on nodes\na.site.grid5000.fr\nb.site.grid5000.fr\n'),
    ).toEqual({
      ok: ['a.site.grid5000.fr', 'b.site.grid5000.fr'],
      ko: [],
    });
    expect(parseKadeployOutput('Error[environment description] field os missing\n')).toEqual({
      ok: [],
      ko: [],
    });
  });
});
