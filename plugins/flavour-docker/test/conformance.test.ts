import { exec } from '@nxc/core';
/**
 * The conformance kit (`@nxc/core/testing`) on the real Docker engine with the REAL demo
 * built by real Nix (examples/demo on the test OS): 1 server + 2 clients, plus the demo's own
 * promise on the shared deployment (every client reaches the server by hostname). "Left
 * behind" is judged by the engine itself: any container, network or volume labelled with
 * the project.
 */
import { describeFlavour } from '@nxc/core/testing';
import { expect, it } from 'vitest';
import { OFFLINE_NIX_FLAGS, demoProject } from '../../../test/fixtures/demo-project.mjs';
import { projectHash } from '../src/labels.js';
import { engineObjects } from './harness.js';

describeFlavour({
  flavour: 'docker',
  project() {
    const demo = demoProject('nxc-docker-conformance-');
    return { root: demo.dir, cleanup: demo.cleanup };
  },
  env: { NXC_NIX_FLAGS: OFFLINE_NIX_FLAGS },
  roles: ['client=2'],
  capabilities: { logs: true, nodeControl: ['crash', 'shutdown', 'start'] },
  async leftovers({ project }) {
    const o = await engineObjects(projectHash(project.root));
    return [...o.containers, ...o.networks, ...o.volumes];
  },
  badOptions: [
    {
      options: { concurrency: 0 },
      message: /^flavour docker: option concurrency: /,
    },
  ],
  sharedDeploymentChecks(deployment) {
    it('every client reaches the server by hostname (the demo)', async () => {
      const { project } = deployment();
      const results = await exec(project, ['@client'], ['wget', '-qO-', 'http://server/'], {
        flavour: 'docker',
      });
      expect(results.map((r) => [r.host, r.exitCode, r.stdout])).toEqual(
        ['client1', 'client2'].map((h) => [h, 0, 'hello from the nxc demo server\n']),
      );
    });
  },
});
