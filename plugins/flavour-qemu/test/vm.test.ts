/**
 * The `vm` flavour end to end with real QEMU (TCG) and the REAL demo built by real Nix: the
 * host's /nix/store is shared into the guests over 9p. This run also forces the deployment
 * document off the kernel command line (tiny budget), so nodes fetch it from the HTTP
 * endpoint QEMU serves to its own guest; the vm-ramdisk test covers the inline form.
 */
import { existsSync, readFileSync } from 'node:fs';
import { type ComposeInfo, readComposeInfo } from '@nxc/core';
import type { FlavourDeployer } from '@nxc/core/flavour';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QemuState } from '../src/deployer.js';
import plugin from '../src/index.js';
import { buildDemo } from './demo-build.mjs';
import { harness, plan } from './harness.js';

const h = harness('vm');
let deployer: FlavourDeployer;
let info: ComposeInfo;

beforeAll(async () => {
  info = await readComposeInfo(buildDemo('vm'));
  deployer = await plugin.flavours.find((f) => f.name === 'vm')!.deployer();
});
afterAll(async () => {
  await deployer?.stop(await h.runningContext()).catch(() => {});
  h.remove();
});

describe('vm with the real demo build', () => {
  it('boots 1 server + 2 clients on the shared store, deployment served over HTTP; stop leaves nothing', async () => {
    expect(info.flavour.image).toBe('vm');
    const ctx = h.startContext(info, plan({ server: 1, client: 2 }), {
      options: {
        accel: 'tcg',
        memory: 256,
        kernelDeployBudget: 64,
      },
    });
    await deployer.start(ctx);
    const running = await h.runningContext();
    const state = running.state as QemuState;
    expect(state.deploy).toBe('http');
    expect(h.events.some((e) => e.type === 'step' && /served over HTTP/.test(e.message))).toBe(true);
    const t = await deployer.transport(running);
    try {
      for (const client of ['client1', 'client2']) {
        const r = await t.exec(client, 'wget -qO- http://server/', { timeoutMs: 30_000 });
        expect(r, client).toMatchObject({ exitCode: 0, stdout: 'hello from the nxc demo server\n' });
      }
      // the guest's store is the host's (9p), and its kernel got the URL, not the document
      const init = info.roles.server!.init;
      const r = await t.exec(
        'server',
        `test -e ${init} && grep -o 'deploy=[^ ]*' /proc/cmdline && mount | grep -c ' 9p '`,
      );
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(/^deploy=http:\/\/10\.0\.2\.100\/deployment\.json\n[1-9]/);
    } finally {
      await t.close();
    }
    const st = await deployer.status(running);
    expect(st.map((s) => s.state)).toEqual(['running', 'running', 'running']);

    // the driver's power control: crash a node, start it again (fresh host key, relearnt), power one off
    const control = (
      deployer as FlavourDeployer & {
        nodeControl(c: typeof running): {
          crash(h: string): Promise<void>;
          start(h: string): Promise<void>;
          shutdown(h: string): Promise<void>;
        };
      }
    ).nodeControl(running);
    const t2 = await deployer.transport(running);
    try {
      await control.crash('client2');
      expect((await deployer.status(running)).map((s) => s.state)).toEqual(['running', 'running', 'exited']);
      await control.start('client2');
      const again = await t2.exec('client2', 'wget -qO- http://server/', { timeoutMs: 30_000 });
      expect(again).toMatchObject({ exitCode: 0, stdout: 'hello from the nxc demo server\n' });
      await control.shutdown('client1');
      expect((await deployer.status(running)).map((s) => s.state)).toEqual(['running', 'exited', 'running']);
    } finally {
      await t2.close();
    }
    const sockets = state.nodes.map((n) => n.qmpSocket);
    await deployer.stop(running);
    expect(h.leftovers()).toEqual({ qemus: [], switches: [], runDirs: [] });
    expect(sockets.some((s) => existsSync(s))).toBe(false);
    expect(readFileSync(state.nodes[0]!.consoleLog, 'utf8')).toMatch(/NXC_READY server/);
  });
});
