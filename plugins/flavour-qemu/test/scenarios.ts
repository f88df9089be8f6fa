/** Scenarios shared by the vm-ramdisk and vm end-to-end tests. */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isNxcError, type ComposeInfo, type FlavourDeployer, type NxcError } from '@nxc/core';
import { expect } from 'vitest';
import type { QemuState } from '../src/deployer.js';
import { TESTOS_PARAMS, plan, type Harness } from './harness.js';

export async function demoScenario(h: Harness, deployer: FlavourDeployer, info: ComposeInfo): Promise<void> {
  const nodes = plan({ server: 1, client: 2 });
  const t0 = Date.now();
  const result = await deployer.start(h.startContext(info, nodes));
  const startMs = Date.now() - t0;
  expect(result.nodes.map((n) => [n.host, n.state])).toEqual([['server', 'running'], ['client1', 'running'], ['client2', 'running']]);
  const ctx = await h.runningContext();
  const state = ctx.state as QemuState;
  expect(state.accel).toBe('tcg');
  expect(Object.keys(state.hostKeys).sort()).toEqual(['client1', 'client2', 'server']);
  const sockets = state.nodes.map((n) => n.qmpSocket);
  expect(sockets.every((s) => existsSync(s))).toBe(true);

  const transport = await deployer.transport(ctx);
  try {
    for (const client of ['client1', 'client2']) {
      const r = await transport.exec(client, ['wget', '-qO-', 'http://server/'], { timeoutMs: 30_000 });
      expect(r, `${client} -> http://server/`).toMatchObject({ exitCode: 0, stdout: 'hello from the nxc demo server\n' });
    }
    // each node is who the deployment says, at its segment address
    const who = await transport.exec('client2', 'hostname; cat /etc/nxc/node.json 2>/dev/null || true; ip -4 -o addr');
    expect(who.stdout).toContain('client2');
    expect(who.stdout).toContain(state.nodes.find((n) => n.host === 'client2')!.address);
  } finally {
    await transport.close();
  }

  const statuses = await deployer.status(ctx);
  expect(statuses.map((s) => [s.host, s.role, s.state])).toEqual([['server', 'server', 'running'], ['client1', 'client', 'running'], ['client2', 'client', 'running']]);
  expect(JSON.parse(JSON.stringify(statuses))[0]).toMatchObject({ address: state.nodes[0]!.address, detail: expect.stringContaining('pid') });

  // console logs are where `nxc logs` reads them
  const logDir = join(h.project.artifactDir, 'composition', ctx.flavour);
  expect(readdirSync(logDir).sort()).toEqual(['client1.log', 'client2.log', 'server.log']);
  expect(readFileSync(join(logDir, 'server.log'), 'utf8')).toMatch(/NXC_READY server/);
  const lines: string[] = [];
  for await (const l of deployer.logs!(ctx, { follow: false, hosts: ['client1'], tail: 5 })) lines.push(l.line);
  expect(lines.length).toBe(5);

  await deployer.stop(ctx);
  expect(h.leftovers()).toEqual({ qemus: [], runDirs: [] });
  expect(sockets.some((s) => existsSync(s))).toBe(false);
  expect((await deployer.status(ctx)).every((s) => s.state === 'exited')).toBe(true);
  await deployer.stop(ctx); // idempotent
  console.log(`${ctx.flavour}: 3 VMs started and ready in ${startMs} ms`);
}

export async function faultScenario(h: Harness, deployer: FlavourDeployer, info: ComposeInfo): Promise<void> {
  // client2's kernel command line names an init that does not exist: it panics, its console says why
  const nodes = plan({ server: 1, client: 2 });
  const ctx = h.startContext(info, nodes, { options: { accel: 'tcg', memory: 256, kernelParams: { default: TESTOS_PARAMS, client2: 'rdinit=/nxc-broken' } } });
  let error: NxcError | undefined;
  try {
    await deployer.start(ctx);
  } catch (e) {
    if (!isNxcError(e)) throw e;
    error = e;
  }
  expect(error, 'start must fail').toBeDefined();
  expect(error!.code).toBe('NXC_NODE_FAILED');
  expect(error!.exitCode).not.toBe(0);
  expect(error!.message).toMatch(/^vm "client2" did not come up: /);
  expect(error!.message.split('\n')).toHaveLength(1);
  expect(error!.details).toMatch(/console of client2/);
  expect(error!.details).toMatch(/Kernel panic|NXC_BOOT_ERROR|init/i);
  expect(h.leftovers()).toEqual({ qemus: [], runDirs: [] });
}
