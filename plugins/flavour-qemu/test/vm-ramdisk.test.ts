/**
 * The end-to-end test with real QEMU (TCG) and the REAL demo built by real Nix
 * (examples/demo on the test OS) for `vm-ramdisk`: 1 server + 2 clients on the private
 * segment; every client fetches http://server/ by hostname; status; stop leaves no QEMU
 * process, run directory or socket. Then a fault: a node whose kernel command line is
 * broken is named with its console tail, the other VMs are stopped.
 */
import { readComposeInfo, type ComposeInfo, type FlavourDeployer, type Transport } from '@nxc/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import plugin from '../src/index.js';
import { buildDemo } from './demo-build.mjs';
import { harness, plan } from './harness.js';
import { demoScenario, faultScenario } from './scenarios.js';

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

describe('vm-ramdisk with the real demo build', () => {
  it('boots 1 server + 2 clients that reach the server by hostname; stop leaves nothing', async () => {
    expect(info.flavour.image).toBe('ramdisk');
    await demoScenario(h, deployer, info);
  });

  it('names a node whose kernel command line is broken, with its console tail, and stops the others', async () => {
    await faultScenario(h, deployer, info);
  });
});
