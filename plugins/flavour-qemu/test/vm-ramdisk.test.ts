/**
 * `vm-ramdisk` behaviour of its own, at library level with real QEMU (TCG) and the real demo
 * (the contract itself: conformance.vm-ramdisk.test.ts): a node whose kernel command line is
 * broken is named with its console tail and the other VMs are stopped; a node refuses a
 * served deployment altered after start.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ComposeInfo, readComposeInfo } from '@nxc/core';
import { type FlavourDeployer, statePath } from '@nxc/core/flavour';
import { planNodes } from '@nxc/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QemuState } from '../src/deployer.js';
import plugin from '../src/index.js';
import { buildDemo } from './demo-build.mjs';
import { type QemuHarness, harness } from './harness.js';
import { faultScenario } from './scenarios.js';

describe('vm-ramdisk fault', () => {
  let h: QemuHarness;
  let deployer: FlavourDeployer;
  let info: ComposeInfo;
  beforeAll(async () => {
    h = harness('vm-ramdisk');
    info = await readComposeInfo(buildDemo('vm-ramdisk'));
    deployer = await plugin.flavours.find((f) => f.name === 'vm-ramdisk')!.deployer();
  });
  afterAll(async () => {
    if (!h) return;
    await deployer?.stop(await h.runningContext()).catch(() => {});
    h.remove();
  });

  it("the harness checks the state with the deployer's stateSchema, both ways, as core does", async () => {
    const file = statePath(h.project, 'composition', 'vm-ramdisk');
    const ctx = h.startContext(info, planNodes({ server: 1 }));
    await expect(ctx.saveState({ kind: 'nxc-qemu', version: 2 } as unknown as QemuState)).rejects.toThrow(
      /^flavour vm-ramdisk saved a state its stateSchema refuses: /,
    );
    expect(existsSync(file)).toBe(false);
    writeFileSync(file, JSON.stringify({ kind: 'nxc-qemu', version: 1, id: 7 }));
    try {
      await expect(h.runningContext()).rejects.toMatchObject({
        code: 'NXC_DEPLOYMENT',
        message: expect.stringMatching(/: not a state of flavour vm-ramdisk \(id: /),
      });
    } finally {
      rmSync(file);
    }
  });

  it('names a node whose kernel command line is broken, with its console tail, and stops the others', async () => {
    await faultScenario(h, deployer, info);
  });

  it('a node refuses a served deployment that was altered after start (deploy_sha256)', async () => {
    const ctx = h.startContext(info, planNodes({ server: 1 }), {
      wait: false,
      options: {
        accel: 'tcg',
        memory: 256,
        kernelDeployBudget: 64,
      },
    });
    await deployer.start(ctx);
    const state = (await h.runningContext()).state as QemuState;
    expect(state.deploy).toBe('http');
    // what a man in the middle would hand the node: the same document with their key
    const served = join(state.runDir, 'deployment.json');
    const doc = JSON.parse(readFileSync(served, 'utf8')) as Record<string, unknown>;
    doc['ssh_key.pub'] = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEvil evil@lan';
    writeFileSync(served, `${JSON.stringify(doc)}\n`);
    const log = state.nodes[0]!.consoleLog;
    const end = Date.now() + 180_000;
    let text = '';
    while (Date.now() < end && !/NXC_BOOT_ERROR|NXC_READY/.test(text)) {
      await new Promise((r) => setTimeout(r, 500));
      text = readFileSync(log, 'utf8');
    }
    expect(text).toMatch(
      /NXC_BOOT_ERROR deploy=http:\/\/10\.0\.2\.100\/deployment\.json: digest mismatch: sha256 [0-9a-f]{64}, deploy_sha256=[0-9a-f]{64}/,
    );
    expect(text).not.toContain('NXC_READY');
    await deployer.stop(await h.runningContext());
    expect(h.leftovers()).toEqual([]);
  });
});
