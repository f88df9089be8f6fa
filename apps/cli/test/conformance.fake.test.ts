/**
 * The conformance kit (`@nxc/core/testing`) on the out-of-tree fixture flavour
 * (fixtures/flavour-fake): nodes are files in a "world" folder standing for a platform,
 * commands run on this machine, shells on a local pseudo-terminal.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeFlavour } from '@nxc/core/testing';
import { composeInfo, fakeFlavour, makeProject } from './helpers.js';

const world = mkdtempSync(path.join(tmpdir(), 'nxc-conformance-fake-world-'));

describeFlavour({
  flavour: 'fake',
  async project() {
    const root = await makeProject(
      {
        'flake.nix': '{ outputs = _: { }; }\n',
        'nxc.config.json': { plugins: [fakeFlavour] },
        'ci.json': composeInfo({ roles_distribution: { client: 2 } }),
      },
      { 'composition::fake': 'ci.json' },
    );
    return {
      root,
      async cleanup() {
        await rm(root, { recursive: true, force: true });
        rmSync(world, { recursive: true, force: true });
      },
    };
  },
  build: false,
  // start takes 1.5 s once its nodes exist: the abort check interrupts it 0.3 s in
  env: { NXC_FAKE_WORLD: world, NXC_FAKE_START_DELAY_MS: '1500' },
  abortStart: { afterMs: 300 },
  capabilities: { logs: true, nodeControl: false, retryFailed: true },
  leftovers: () => readdirSync(world),
  badOptions: [
    { options: { memory: 'lots' }, message: /^flavour fake: option memory: expected number, got string/ },
  ],
});
