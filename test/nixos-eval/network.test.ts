/**
 * Declared network conditions and the tools that apply them, evaluated through nxc's
 * `lib.compose` with nixpkgs' real `lib`: a composition's `network` list reaches the compose
 * info as written (start checks it against the deployment); a `network` that is not a list
 * stops the evaluation with one clear message; QEMU and Grid'5000 nodes get ip/tc, ping and
 * modprobe in their system and name the qdisc/filter modules nxc uses.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Evaluated, NixEvalError, cleanup, evaluate, scratchDir } from './harness.js';

afterAll(cleanup);

function composition(name: string, network: string): string {
  const file = join(scratchDir(), `${name}.nix`);
  writeFileSync(
    file,
    `{ ... }: { roles.server = { ... }: { }; roles.client = { ... }: { }; network = ${network}; }\n`,
  );
  return file;
}

const names = (pkgs: Array<{ name?: string }>) => pkgs.map((p) => p.name ?? String(p));

describe('composition network', () => {
  it('reaches the compose info as declared; vm-ramdisk nodes carry ip, ping, modprobe and the modules', async () => {
    const file = composition(
      'valid',
      '[ { from = "@client"; to = "@server"; delay = "50ms"; jitter = "5ms"; } { from = "client1"; to = [ "@server" ]; partition = true; loss = 5; } ]',
    );
    const out = (await evaluate({ composition: file, only: 'vm-ramdisk' })) as Record<string, Evaluated>;
    const e = out['composition::vm-ramdisk']!;
    expect((e.info as unknown as { network: unknown }).network).toEqual([
      { from: '@client', to: '@server', delay: '50ms', jitter: '5ms' },
      { from: 'client1', to: ['@server'], partition: true, loss: 5 },
    ]);
    const cfg = e.roles.client!;
    expect(cfg.boot.kernelModules).toEqual(expect.arrayContaining(['sch_htb', 'sch_netem', 'cls_u32']));
    const pkgs = names(cfg.environment.systemPackages).join(' ');
    for (const p of ['iproute2', 'iputils', 'kmod']) expect(pkgs).toContain(p);
  });

  it('g5k-ramdisk nodes carry the same tools and modules', async () => {
    const file = composition('g5k', '[ ]');
    const out = (await evaluate({ composition: file, only: 'g5k-ramdisk' })) as Record<string, Evaluated>;
    const e = out['composition::g5k-ramdisk']!;
    expect(e.info as unknown as Record<string, unknown>).not.toHaveProperty('network');
    const cfg = e.roles.server!;
    expect(cfg.boot.kernelModules).toEqual(expect.arrayContaining(['sch_htb', 'sch_netem', 'cls_u32']));
    const pkgs = names(cfg.environment.systemPackages).join(' ');
    for (const p of ['iproute2', 'iputils', 'kmod']) expect(pkgs).toContain(p);
  });

  it('a network that is not a list stops the evaluation naming the composition', async () => {
    const file = composition('bad', '{ from = "@client"; }');
    const error = await evaluate({ composition: file, only: 'vm-ramdisk' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NixEvalError);
    expect((error as NixEvalError).stderr).toMatch(/composition composition: `network` must be a list/);
  });
});
