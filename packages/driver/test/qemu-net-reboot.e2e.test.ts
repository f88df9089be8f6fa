/**
 * Network conditions across a node's restart, on a REAL vm-ramdisk deployment of the demo
 * (QEMU under TCG, real Nix build on the test OS): the conditions live in the guest's kernel,
 * so a VM that is killed and started again comes back without them. nxc sees it (`nxc net
 * check`, `nxc status`), puts them back (`nxc net restore`), and the driver's `start()` puts
 * them back by itself: a partition declared at start holds after `client.crash()` +
 * `client.start()`.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as core from '@nxc/core';
import { describe, expect, it } from 'vitest';
import { nodeControlOf } from '../src/attach.js';
import { VM_FLAVOUR as FLAVOUR, vmRamdiskDemo } from './helpers/vm-demo.js';

const nxcBin = fileURLToPath(new URL('../../../apps/cli/dist/cli.js', import.meta.url));

function cli(args: string[]) {
  return spawnSync(process.execPath, [nxcBin, ...args], {
    cwd: vm.demo.dir,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 600_000,
  });
}

/** nxc's routes on a node, seen from the node. */
async function routes(host: string): Promise<string> {
  const [r] = await core.exec(
    vm.demo.project,
    [host],
    ['sh', '-c', 'PATH=/run/current-system/sw/bin:$PATH; ip route show proto 208'],
    { flavour: FLAVOUR },
  );
  expect(r!.exitCode, r!.stderr).toBe(0);
  return r!.stdout;
}

const vm = vmRamdiskDemo([{ from: '@client', to: '@server', partition: true }]);

describe('network conditions across a VM restart (vm-ramdisk)', () => {
  it('a restarted VM has lost its partition: check and status say so, `nxc net restore` puts it back', async () => {
    const deployment = (await core.openDeployment(vm.demo.project, { flavour: FLAVOUR })).ctx.deployment;
    const server = core.nodeIdentities(deployment).find((n) => n.host === 'server')!;
    expect(await routes('client')).toContain(`prohibit ${server.address}`);

    // restart the client VM behind nxc's back (the flavour's power control, no driver)
    const o = await core.openDeployment(vm.demo.project, { flavour: FLAVOUR });
    const control = await nodeControlOf(o.deployer, o.ctx);
    await control!.crash!('client');
    await control!.start!('client');
    expect(await routes('client')).toBe('');

    const lost = await core.netCheck(vm.demo.project, { flavour: FLAVOUR, count: 3 });
    expect(lost.inspected).toBe(true);
    expect(lost.notInForce).toEqual([
      {
        host: 'client',
        problems: [`partition from server (${server.address}) not in force (no prohibit route)`],
      },
    ]);
    expect(lost.ok).toBe(false);
    const human = cli(['net', 'check', '--count', '3']);
    expect(human.status).toBe(1);
    expect(human.stdout).toContain(
      `! client: partition from server (${server.address}) not in force (no prohibit route)`,
    );
    const status = cli(['status']);
    expect(status.stdout).toContain('network NOT IN FORCE on client: partition from server');
    const [st] = await core.status(vm.demo.project, { flavour: FLAVOUR });
    expect(st?.networkNotInForce?.map((n) => n.host)).toEqual(['client']);

    const restored = cli(['net', 'restore']);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toContain('put back the conditions of client\n');
    expect(await routes('client')).toContain(`prohibit ${server.address}`);
    const again = await core.netCheck(vm.demo.project, { flavour: FLAVOUR, count: 3 });
    expect(again.notInForce).toEqual([]);
    expect(again.ok).toBe(true);
    // nothing left to put back: restore is idempotent and says so
    expect(cli(['net', 'restore']).stdout).toContain('nothing to put back');
  });

  it("the driver's start() puts the partition back on a VM it restarted: it holds after crash() + start()", () => {
    const script = path.join(vm.demo.dir, 'reboot-script.py');
    writeFileSync(
      script,
      [
        'client.fail("ping -c 1 -W 2 server")',
        'client.crash()',
        'client.start()',
        // the client's own side is back (the server's side never left)
        'client.succeed("PATH=/run/current-system/sw/bin:$PATH; ip route show proto 208 | grep -q prohibit")',
        'client.fail("ping -c 1 -W 2 server")',
        'server.fail("ping -c 1 -W 2 client")',
        'heal()',
        'client.succeed("ping -c 1 -W 5 server")',
        '',
      ].join('\n'),
    );
    const driven = cli(['driver', script]);
    expect(driven.status, `${driven.stdout}\n${driven.stderr}`).toBe(0);
    expect(driven.stdout + driven.stderr).toContain('client: crash');
  });
});
