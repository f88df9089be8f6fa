/**
 * TEST HELPER: network conditions on a running demo deployment whose start declared
 * `DECLARED_DELAY` (50 ms between @client and @server): `nxc net check` measures it at
 * 50 ms ± 20 % one way; the record and `nxc status` show it; then a driver script partitions
 * the client from the server, sees wget fail, heals, sees it served again; shaping with loss
 * and rate is put in force and removed inside the guests (tc), and the CLI refuses a jitter
 * larger than the delay.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as core from '@nxc/core';
import { expect } from 'vitest';

/** What the e2e start passes as `network` (as `nxc start --net FILE` would). */
export const DECLARED_DELAY = [{ from: '@client', to: '@server', delay: '50ms' }];

const nxcBin = fileURLToPath(new URL('../../../../apps/cli/dist/cli.js', import.meta.url));

function cli(cwd: string, args: string[]) {
  return spawnSync(process.execPath, [nxcBin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 300_000,
  });
}

/** nxc's qdisc and routes on a node, seen from the node itself. */
async function nxcSetting(project: core.Project, flavour: string, host: string): Promise<string> {
  const [r] = await core.exec(
    project,
    [host],
    [
      'sh',
      '-c',
      'PATH=/run/current-system/sw/bin:$PATH; tc qdisc show; for d in $(ls /sys/class/net); do tc class show dev $d; done; ip route show proto 208',
    ],
    { flavour },
  );
  expect(r!.exitCode, r!.stderr).toBe(0);
  return r!.stdout;
}

export async function networkScenario(
  dir: string,
  project: core.Project,
  flavour: string,
  recordFile: string | undefined,
): Promise<void> {
  // declared at start: in force, recorded, shown
  const shown = await core.net(project, { flavour });
  expect(shown.conditions.map((c) => [c.kind, c.a.host, c.b.host, c.kind === 'delay' && c.delayMs])).toEqual([
    ['delay', 'client', 'server', 50],
  ]);
  expect(recordFile).toBeDefined();
  const record = (await core.readRecord(project, recordFile!)).record;
  expect(record.network).toEqual(shown.conditions);
  const status = cli(dir, ['status']);
  expect(status.stdout).toContain('network: client <-> server delay 50ms');
  expect(await nxcSetting(project, flavour, 'client')).toMatch(
    /qdisc netem [0-9a-f]+: (dev \S+ )?parent 208:10 .*delay 50ms/,
  );

  // the check, from the nodes: 50 ms ± 20 % one way, both ways
  const check = cli(dir, ['net', 'check', '--json', '--count', '10']);
  expect(check.status, `${check.stdout}\n${check.stderr}`).toBe(0);
  const report = JSON.parse(check.stdout) as core.NetCheckReport;
  expect(report.pairs).toHaveLength(1);
  const pair = report.pairs[0]!;
  expect(pair.asked).toEqual({ delayMs: 50 });
  for (const m of pair.measured) {
    expect(m.reachable).toBe(true);
    expect(m.oneWayMs).toBeGreaterThanOrEqual(40);
    expect(m.oneWayMs).toBeLessThanOrEqual(60);
  }
  expect(report.ok).toBe(true);
  const human = cli(dir, ['net', 'check']);
  expect(human.stdout).toMatch(/client <-> server {2}asked: delay 50ms {2}ok/);

  // a driver script: partition the client from the server, observe, heal, observe
  const script = path.join(dir, 'net-script.py');
  writeFileSync(
    script,
    [
      'client.succeed("wget -qO- http://server/")',
      'partition([client], ["@server"])',
      'client.fail("wget -qO- -T 5 http://server/")',
      'server.fail("ping -c 1 -W 2 client")',
      'heal()',
      'client.succeed("wget -qO- http://server/")',
      'client.block()',
      'client.fail("wget -qO- -T 5 http://server/")',
      'client.unblock()',
      'client.succeed("wget -qO- http://server/")',
      '',
    ].join('\n'),
  );
  const driven = cli(dir, ['driver', script]);
  expect(driven.status, `${driven.stdout}\n${driven.stderr}`).toBe(0);
  expect(driven.stdout + driven.stderr).toContain('client: must fail: wget');
  // heal() removed every condition, the declared delay too: nothing of nxc's is left
  expect((await core.net(project, { flavour })).conditions).toEqual([]);
  const clean = await nxcSetting(project, flavour, 'client');
  expect(clean).not.toMatch(/htb 208:|netem|prohibit/);

  // loss and rate through the CLI, inside the guests; heal removes them
  expect(cli(dir, ['net', 'loss', 'client', 'server', '10%']).status).toBe(0);
  const rate = cli(dir, ['net', 'rate', 'client', 'server', '2mbit']);
  expect(rate.status, rate.stderr).toBe(0);
  expect(rate.stdout).toContain('client <-> server  rate 2000kbit/s');
  const shaped = await nxcSetting(project, flavour, 'server');
  expect(shaped).toMatch(/qdisc netem .*loss 10%/);
  expect(shaped).toMatch(/class htb 208:10 .*rate 2Mbit/);
  const jitter = cli(dir, ['net', 'delay', 'client', 'server', '10ms', '--jitter', '20ms']);
  expect(jitter.status).toBe(2);
  expect(jitter.stderr).toMatch(/^error: nxc net delay: jitter 20 ms is out of range/);
  expect(cli(dir, ['net', 'heal']).status).toBe(0);
  expect(await nxcSetting(project, flavour, 'server')).not.toMatch(/htb 208:|netem/);
}
