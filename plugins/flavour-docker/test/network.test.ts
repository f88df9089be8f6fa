/**
 * Network conditions on the real engine with the REAL demo built by real Nix: a partition
 * between client1 and the server, made from the host in the containers' network namespaces,
 * through the TypeScript API and through `nxc net`; heal; `nxc net delay` refused in one line
 * where the host kernel has no sch_netem; `nxc stop` leaves no state file behind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { net, exec, netApply, netHeal, start, status, stop } from '@nxc/core';
import { describe, expect, it } from 'vitest';
import { probeNetem } from '../src/net-conditions.js';
import { useBuiltDemo } from './harness.js';

const demo = useBuiltDemo('nxc-docker-net-');
const nxcBin = fileURLToPath(new URL('../../../apps/cli/dist/cli.js', import.meta.url));

const cli = (cwd: string, args: string[]) =>
  spawnSync(process.execPath, [nxcBin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });

/** Exit code of `wget http://server/` on each client (0: served). */
async function reach(project: ReturnType<typeof demo>): Promise<Record<string, number>> {
  const results = await exec(project, ['@client'], ['wget', '-qO-', 'http://server/'], {
    flavour: 'docker',
  });
  return Object.fromEntries(results.map((r) => [r.host, r.exitCode]));
}

/** nxc's routes in a node's network namespace, seen from the host. */
function nxcRoutes(root: string, host: string): string {
  const filters = ['--filter', `label=nxc.host=${host}`, '--filter', `label=nxc.project.root=${root}`];
  const name = execFileSync('docker', ['ps', ...filters, '--format', '{{.ID}}'], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n')[0]!;
  const pid = execFileSync('docker', ['inspect', '-f', '{{.State.Pid}}', name], { encoding: 'utf8' }).trim();
  return execFileSync('nsenter', ['-t', pid, '-n', 'ip', 'route', 'show', 'proto', '208'], {
    encoding: 'utf8',
  }).trim();
}

describe('docker: network conditions between nodes', () => {
  it('partitions client1 from the server (API, then CLI), heals, refuses delay without netem, stop cleans', async () => {
    const project = demo();
    const summary = await start(project, { flavour: 'docker', roleFlags: ['client=2'] });
    const serverAddress = Object.entries(summary.deployment.deployment).find(
      ([, n]) => n.host === 'server',
    )![0];
    expect(await reach(project)).toEqual({ client1: 0, client2: 0 });

    // TypeScript API
    const applied = await netApply(project, ['client1'], ['@server'], { kind: 'partition' });
    expect(applied.conditions.map((c) => [c.kind, c.a.host, c.b.host])).toEqual([
      ['partition', 'client1', 'server'],
    ]);
    expect((await reach(project)).client1).not.toBe(0);
    expect((await reach(project)).client2).toBe(0);
    expect(nxcRoutes(project.root, 'client1')).toBe(`prohibit ${serverAddress}`);
    const file = join(project.deployDir, 'composition::docker.net.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect((await status(project))[0]!.network).toHaveLength(1);
    expect((await netHeal(project)).conditions).toEqual([]);
    expect(await reach(project)).toEqual({ client1: 0, client2: 0 });
    expect(nxcRoutes(project.root, 'client1')).toBe('');
    expect(nxcRoutes(project.root, 'server')).toBe('');
    expect(existsSync(file)).toBe(false);

    // the CLI
    const part = cli(project.root, ['net', 'partition', '@server', '--', 'client1']);
    expect(part.status, part.stderr).toBe(0);
    expect(part.stdout).toContain('server <-> client1  partitioned');
    expect(cli(project.root, ['status']).stdout).toContain('network: server <-> client1 partitioned');
    const shown = cli(project.root, ['net', '--json']);
    expect(JSON.parse(shown.stdout).conditions).toHaveLength(1);
    expect((await reach(project)).client2).toBe(0);
    expect((await reach(project)).client1).not.toBe(0);
    const heal = cli(project.root, ['net', 'heal']);
    expect(heal.status, heal.stderr).toBe(0);
    expect(await reach(project)).toEqual({ client1: 0, client2: 0 });

    // delay: this host's kernel has no sch_netem -> one line, exit 3, nothing applied
    const missing = await probeNetem();
    const delay = cli(project.root, ['net', 'delay', 'client1', 'server', '50ms']);
    if (missing !== undefined) {
      expect(delay.status).toBe(3);
      const lines = delay.stderr.trim().split('\n');
      expect(lines[0]).toMatch(
        /^error: cannot apply delay: the kernel module sch_netem is missing on the docker host/,
      );
      expect(lines.filter((l) => l.startsWith('error:'))).toHaveLength(1);
    } else {
      expect(delay.status).toBe(3);
      expect(delay.stderr).toMatch(/not supported by the docker flavour yet/);
    }
    expect((await net(project)).conditions).toEqual([]);
    expect(nxcRoutes(project.root, 'client1')).toBe('');

    // a driver script: block()/unblock(), then partition()/heal()
    const script = join(project.root, 'net-script.py');
    writeFileSync(
      script,
      [
        'client1.block()',
        'client1.fail("wget -qO- http://server/")',
        'client2.succeed("wget -qO- http://server/")',
        'client1.unblock()',
        'client1.succeed("wget -qO- http://server/")',
        'partition([client1], ["@server"])',
        'client1.fail("wget -qO- http://server/")',
        'client2.succeed("wget -qO- http://server/")',
        'heal()',
        'client1.succeed("wget -qO- http://server/")',
        '',
      ].join('\n'),
    );
    const driven = cli(project.root, ['driver', script]);
    expect(driven.status, `${driven.stdout}\n${driven.stderr}`).toBe(0);
    for (const line of ['client1: block', 'client1: must fail: wget', 'client1: unblock']) {
      expect(driven.stdout + driven.stderr).toContain(line);
    }
    expect((await net(project)).conditions).toEqual([]);
    expect(nxcRoutes(project.root, 'client1')).toBe('');

    // a restarted container comes back in a new network namespace, without nxc's routes: the
    // driver's start() puts them back; one restarted behind nxc's back is named by status and
    // put back by `nxc net restore`
    expect(cli(project.root, ['net', 'partition', 'client1', '--', 'server']).status).toBe(0);
    const reboot = join(project.root, 'reboot-script.py');
    writeFileSync(
      reboot,
      [
        'client1.crash()',
        'client1.start()',
        'client1.fail("wget -qO- http://server/")',
        'client2.succeed("wget -qO- http://server/")',
        '',
      ].join('\n'),
    );
    const rebooted = cli(project.root, ['driver', reboot]);
    expect(rebooted.status, `${rebooted.stdout}\n${rebooted.stderr}`).toBe(0);
    expect(nxcRoutes(project.root, 'client1')).toBe(`prohibit ${serverAddress}`);
    const id = execFileSync(
      'docker',
      [
        'ps',
        '--filter',
        'label=nxc.host=client1',
        '--filter',
        `label=nxc.project.root=${project.root}`,
        '-q',
      ],
      { encoding: 'utf8' },
    ).trim();
    execFileSync('docker', ['restart', '-t', '1', id]);
    expect(nxcRoutes(project.root, 'client1')).toBe('');
    expect((await status(project))[0]!.networkNotInForce).toEqual([
      {
        host: 'client1',
        problems: [`partition from server (${serverAddress}) not in force (no prohibit route)`],
      },
    ]);
    expect(cli(project.root, ['status']).stdout).toContain(
      `network NOT IN FORCE on client1: partition from server (${serverAddress}) not in force`,
    );
    const restore = cli(project.root, ['net', 'restore']);
    expect(restore.status, restore.stderr).toBe(0);
    expect(restore.stdout).toContain('put back the conditions of client1\n');
    expect(nxcRoutes(project.root, 'client1')).toBe(`prohibit ${serverAddress}`);
    expect((await status(project))[0]!.networkNotInForce).toBeUndefined();
    expect((await reach(project)).client1).not.toBe(0);
    expect(cli(project.root, ['net', 'heal']).status).toBe(0);

    // a partition left in force: stop removes the nodes and the state file
    expect(cli(project.root, ['net', 'partition', 'client2', '--', 'server']).status).toBe(0);
    await stop(project, { flavour: 'docker' });
    expect(readdirSync(project.deployDir).filter((f) => f !== '.lock')).toEqual([]);
  });
});
