/**
 * The TypeScript machine API, used the way a user's vitest suite would, against a real
 * transport (Linux namespaces standing for nodes, see helpers/).
 */
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttachedDeployment, CommandError, attach } from '../src/index.js';
import { LocalTransport } from './helpers/local-transport.js';

let transport: LocalTransport;
let d: AttachedDeployment;
const log: string[] = [];

beforeAll(async () => {
  transport = await LocalTransport.create(['server', 'client1', 'client2', 'nixos']);
  d = await attach(
    {
      transport,
      deployment: transport.deployment({
        server: 'server',
        client1: 'client',
        client2: 'client',
        nixos: 'nixos',
      }),
    },
    { log: (l) => log.push(l) },
  );
});

afterAll(async () => {
  await d?.close();
});

describe('attach({ deployment, transport })', () => {
  it('finds nodes by host and by role; unknown names are NXC_NODE_UNKNOWN naming what exists', () => {
    expect(d.nodes.map((n) => [n.host, n.role, n.address])).toEqual([
      ['server', 'server', '10.0.0.2'],
      ['client1', 'client', '10.0.0.3'],
      ['client2', 'client', '10.0.0.4'],
      ['nixos', 'nixos', '10.0.0.5'],
    ]);
    expect(d.role('client').map((n) => n.host)).toEqual(['client1', 'client2']);
    expect(() => d.node('sever')).toThrow(
      expect.objectContaining({
        code: 'NXC_NODE_UNKNOWN',
        hint: 'known nodes: server, client1, client2, nixos',
      }),
    );
    expect(() => d.role('db')).toThrow(
      expect.objectContaining({ code: 'NXC_NODE_UNKNOWN', hint: 'roles: server, client, nixos' }),
    );
  });

  it('a document without identity fields (original nxc): indexes by position, no UUID', () => {
    expect(d.nodes.map((n) => [n.host, n.index, n.globalIndex, n.uuid])).toEqual([
      ['server', 1, 0, undefined],
      ['client1', 1, 1, undefined],
      ['client2', 2, 2, undefined],
      ['nixos', 1, 3, undefined],
    ]);
  });

  it("machines carry the document's identity and their resolved parameters", async () => {
    const doc = transport.deployment({ server: 'server', client1: 'client', client2: 'client' });
    const uuids = [
      '1b4e28ba-2fa1-41d2-883f-0016d3cca427',
      '6fa459ea-ee8a-4ca4-894e-db77e160355e',
      '16fd2706-8baf-433b-82eb-8c7fada847da',
    ];
    // listed in another order than the indexes: the recorded identity wins over positions
    const entries = Object.entries(doc.deployment).map(([address, n], i) => [
      address,
      { ...n, index: n.role === 'client' ? 3 - i + 1 : 1, globalIndex: 10 + i, uuid: uuids[i] },
    ]);
    const withIdentity = {
      ...doc,
      deployment: Object.fromEntries(entries),
      parameters: { rate: 5, mode: 'x' },
    };
    withIdentity.deployment['10.0.0.4']!.parameters = { rate: 20 };
    // not closed: it shares the transport, which afterAll closes
    const other = await attach({ transport, deployment: withIdentity });
    const c2 = other.node('client2');
    expect([c2.role, c2.index, c2.globalIndex, c2.uuid]).toEqual(['client', 2, 12, uuids[2]]);
    expect(c2.parameters).toEqual({ rate: 20, mode: 'x' });
    expect(other.node('client1').index).toBe(3);
    expect(other.node('server').parameters).toEqual({ rate: 5, mode: 'x' });
  });

  it("machine.disks: the node's block devices from the deployment ([] when none)", async () => {
    const doc = transport.deployment({ server: 'server', client1: 'client' });
    const disk = { id: 'data', size: '4G', bytes: 4 * 1024 ** 3, device: '/dev/disk/by-id/virtio-data' };
    doc.deployment['10.0.0.2']!.disks = [disk];
    // not closed: it shares the transport, which afterAll closes
    const other = await attach({ transport, deployment: doc });
    expect(other.node('server').disks).toEqual([disk]);
    expect(other.node('client1').disks).toEqual([]);
  });

  it('succeed / fail / execute', async () => {
    await d.startAll();
    expect(await d.node('server').succeed('hostname')).toBe('server\n');
    expect(await d.node('client1').succeed(['echo a', 'echo b'])).toBe('a\nb\n');
    expect(await d.node('client2').execute('echo x; echo y >&2; exit 5')).toEqual({
      exitCode: 5,
      stdout: 'x\n',
      stderr: 'y\n',
    });
    expect(await d.node('server').fail('exit 1')).toBe('');
    const results = await Promise.all(d.role('client').map((c) => c.succeed('hostname')));
    expect(results).toEqual(['client1\n', 'client2\n']);
    expect(log).toContain('server: must succeed: hostname');
  });

  it('a failing command rejects with a CommandError carrying node, command, exit code and output', async () => {
    const error = await d
      .node('server')
      .succeed('echo out; echo boom >&2; exit 7')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect(error).toMatchObject({
      code: 'NXC_TEST_FAILED',
      message: 'server: command `echo out; echo boom >&2; exit 7` failed (exit code 7)',
      host: 'server',
      command: 'echo out; echo boom >&2; exit 7',
      commandExitCode: 7,
      stdout: 'out\n',
      stderr: 'boom\n',
      details: 'stdout:\n  out\nstderr:\n  boom',
    });
  });

  it('waits: succeed after a while, time out with NXC_TIMEOUT, default timeout settable', async () => {
    const server = d.node('server');
    await server.succeed('(sleep 1; echo ok > /tmp/ready) >/dev/null 2>&1 &');
    expect(await server.waitUntilSucceeds('cat /tmp/ready', { timeout: 20 })).toBe('ok\n');
    await server.waitForFile('/tmp/ready');
    await expect(server.waitUntilSucceeds('test -e /tmp/never', { timeout: 1 })).rejects.toMatchObject({
      code: 'NXC_TIMEOUT',
      message: 'server: timed out after 1 s waiting for `test -e /tmp/never` to succeed (last exit code 1)',
    });
    d.setDefaultTimeout(1);
    try {
      await expect(d.node('client1').waitForUnit('nope.service')).rejects.toMatchObject({
        code: 'NXC_TIMEOUT',
      });
    } finally {
      d.setDefaultTimeout(900);
    }
    expect(() => d.setDefaultTimeout(0)).toThrow(expect.objectContaining({ code: 'NXC_USAGE' }));
  });

  it('units without systemd: the documented fallback (pid file, /run/nxc/units, failed marker)', async () => {
    const c = d.node('client2');
    expect(await c.hasSystemd()).toBe(false);
    await c.succeed('sleep 300 >/dev/null 2>&1 & echo $! > /run/worker.pid');
    await c.waitForUnit('worker.service', { timeout: 5 });
    expect((await c.getUnitInfo('worker')).ActiveState).toBe('active');
    await c.succeed('mkdir -p /run/nxc/units && touch /run/nxc/units/broken.failed');
    await expect(c.waitForUnit('broken', { timeout: 5 })).rejects.toMatchObject({
      code: 'NXC_TEST_FAILED',
      message: 'client2: unit "broken" failed (/run/nxc/units/broken.failed exists)',
    });
    expect(await c.getUnitProperty('worker.service', 'ActiveState')).toBe('active');
    await expect(c.getUnitProperty('worker.service', 'MainPID')).rejects.toMatchObject({
      code: 'NXC_USAGE',
      message: 'client2: get_unit_property: property "MainPID" needs systemd, which this node does not run',
    });
    const r = await c.systemctl('list-units');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('runs without systemd');
    const start = await c.systemctl('start nothing');
    expect(start.exitCode).toBe(5);
    expect(start.stderr).toContain('has no systemd and no /etc/init.d/nothing');
  });

  it('units with systemd: active after a pending job, failed and inactive-without-jobs fail at once', async () => {
    // A stand-in systemctl on one node (the logic under test is the driver's, not systemd's):
    // unit states in /run/units/<unit>, pending jobs while /run/jobs exists.
    const n = d.node('nixos');
    await n.succeed([
      'mkdir -p /run/systemd/system /run/bin /run/units',
      `cat > /run/bin/systemctl <<'EOF'
#!/bin/sh
[ "$1" = --no-pager ] && shift
case "$1" in
  show) echo "Id=$2"; echo "ActiveState=$(cat /run/units/$2 2>/dev/null || echo inactive)"; echo "SubState=x=y" ;;
  list-jobs) if [ -e /run/jobs ]; then echo "1 $2 start waiting"; else echo "No jobs running."; fi ;;
  start) echo active > /run/units/$2 ;;
  *) echo "fake systemctl: $*" >&2; exit 1 ;;
esac
EOF
chmod +x /run/bin/systemctl`,
    ]);
    expect(await n.hasSystemd()).toBe(true);
    await n.succeed([
      'touch /run/jobs',
      '(sleep 1; echo active > /run/units/web.service; rm /run/jobs) >/dev/null 2>&1 &',
    ]);
    await n.waitForUnit('web.service', { timeout: 20 });
    expect(await n.getUnitInfo('web.service')).toEqual({
      Id: 'web.service',
      ActiveState: 'active',
      SubState: 'x=y',
    });

    await n.succeed('echo failed > /run/units/db.service');
    const t0 = Date.now();
    await expect(n.waitForUnit('db.service', { timeout: 60 })).rejects.toMatchObject({
      code: 'NXC_TEST_FAILED',
      message: 'nixos: unit "db.service" reached state "failed"',
    });
    await expect(n.waitForUnit('idle.service', { timeout: 60 })).rejects.toMatchObject({
      message: 'nixos: unit "idle.service" is inactive and there are no pending jobs',
    });
    expect(Date.now() - t0).toBeLessThan(10_000);

    expect(await n.systemctl('start late.service')).toMatchObject({ exitCode: 0 });
    await n.waitForUnit('late.service', { timeout: 5 });
    await expect(n.requireUnitState('late.service', 'inactive')).rejects.toMatchObject({
      message: 'nixos: unit "late.service" is "active", expected "inactive"',
    });
    // get_unit_property: the one property asked for, from `systemctl show --property`
    expect(await n.getUnitProperty('late.service', 'ActiveState')).toBe('active');
    expect(await n.getUnitProperty('web.service', 'SubState')).toBe('x=y');
    await expect(n.getUnitProperty('web.service', 'MainPID')).rejects.toMatchObject({
      code: 'NXC_TEST_FAILED',
      message: 'nixos: unit "web.service" has no property "MainPID" (`systemctl show` did not print it)',
    });
    await expect(n.getUnitProperty('web.service', 'Active State; reboot')).rejects.toMatchObject({
      code: 'NXC_USAGE',
      message: 'nixos: get_unit_property: "Active State; reboot" is not a property name',
    });
  });

  it('shutdown/crash without flavour support are clear NXC_USAGE errors', async () => {
    await expect(d.node('server').crash()).rejects.toMatchObject({
      code: 'NXC_USAGE',
      message: 'server: crash() is not supported by the local flavour',
    });
  });
});

describe('console, keyboard, UNIX sockets, port forwarding', () => {
  it('wait_for_open_unix_socket: a listening stream socket, a bound datagram one, NXC_TIMEOUT otherwise', async () => {
    const dir = await mkdtemp(path.join('/var/tmp', 'nxc-unix-'));
    const file = path.join(dir, 'app.sock');
    const server = createServer();
    try {
      const node = d.node('server');
      const waiting = node.waitForOpenUnixSocket(file, { timeout: 20 });
      await new Promise<void>((r) => setTimeout(r, 1500));
      await new Promise<void>((r) => server.listen(file, r));
      await waiting;
      // through a link, as /dev/log -> /run/systemd/journal/dev-log
      await symlink(file, path.join(dir, 'link.sock'));
      await node.waitForOpenUnixSocket(path.join(dir, 'link.sock'), { timeout: 5 });
      // a stream socket is not a datagram one
      await expect(node.waitForOpenUnixSocket(file, { isDatagram: true, timeout: 1 })).rejects.toMatchObject({
        code: 'NXC_TIMEOUT',
        message: `server: timed out after 1 s waiting for UNIX-domain datagram socket ${file} to open (last exit code 1)`,
      });
      // nothing at that path
      await expect(
        node.waitForOpenUnixSocket(path.join(dir, 'missing.sock'), { timeout: 1 }),
      ).rejects.toMatchObject({ code: 'NXC_TIMEOUT' });
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a flavour without console, keyboard or forwarding: one NXC_USAGE line naming the call and the flavour', async () => {
    const node = d.node('server');
    await expect(node.waitForConsoleText('x', { timeout: 1 })).rejects.toMatchObject({
      code: 'NXC_USAGE',
      message: 'server: wait_for_console_text() is not supported by the local flavour',
    });
    await expect(node.sendChars('ls\n')).rejects.toMatchObject({
      code: 'NXC_USAGE',
      message: 'server: send_chars() is not supported by the local flavour',
      hint: expect.stringContaining('no keyboard'),
    });
    await expect(node.forwardPort(8080, 80)).rejects.toMatchObject({
      code: 'NXC_USAGE',
      message: 'server: forward_port() is not supported by the local flavour',
    });
    await expect(node.sendConsole('root\n')).rejects.toMatchObject({
      code: 'NXC_USAGE',
      message: 'server: send_console() is not supported by the local flavour',
      hint: expect.stringContaining('no serial console input'),
    });
    await expect(node.getConsoleLog()).rejects.toMatchObject({
      code: 'NXC_USAGE',
      message: 'server: get_console_log() is not supported by the local flavour',
    });
  });

  it('wait_for_console_text consumes what it matched; send_chars maps characters to keys', async () => {
    const lines = ['boot', 'NXC_READY server'];
    const keys: string[] = [];
    const typed: string[] = [];
    const forwards: number[][] = [];
    const c = await attach({
      transport,
      deployment: transport.deployment({ server: 'server' }),
      console: {
        consoleLines: async () => [...lines],
        sendKey: async (_host, key) => {
          keys.push(key);
        },
        sendConsole: async (_host, chars) => {
          typed.push(chars);
        },
        forwardPort: async (_h, a, b) => {
          forwards.push([a, b]);
        },
      },
    });
    const node = c.node('server');
    await node.waitForConsoleText('(?i)nxc_ready (?P<h>\\w+)', { timeout: 5 });
    // the lines that matched are consumed: the same text must be printed again
    await expect(node.waitForConsoleText('NXC_READY', { timeout: 1 })).rejects.toMatchObject({
      code: 'NXC_TIMEOUT',
      message: 'server: timed out after 1 s waiting for NXC_READY to appear on the console',
    });
    setTimeout(() => lines.push('login: ', 'NXC_READY again'), 500);
    await node.waitForConsoleText('NXC_READY again', { timeout: 5 });
    // an incomplete last line (a prompt) that grows: what was added after the match is new
    lines.push('~ # ');
    await node.waitForConsoleText('~ #', { timeout: 5 });
    lines[lines.length - 1] = '~ # echo mark';
    await node.waitForConsoleText('^echo mark$', { timeout: 5 });
    // the whole console since boot, matched or not
    expect(await node.getConsoleLog()).toBe(lines.join('\n'));
    // a line printed in the middle (docker: the container's output, before the journal)
    lines.splice(1, 0, 'mid-mark-1');
    await node.waitForConsoleText('mid-mark-\\d', { timeout: 5 });
    await node.sendConsole('systemctl default\n');
    await node.sendConsole('');
    expect(typed).toEqual(['systemctl default\n']);
    await node.sendChars('Hi!\n', { delay: 0 });
    expect(keys).toEqual(['shift-h', 'i', 'shift-1', 'ret']);
    await expect(node.sendChars('ok€')).rejects.toMatchObject({ code: 'NXC_USAGE' });
    expect(keys).toHaveLength(4); // nothing sent when one character has no key
    await node.forwardPort(18080, 80);
    await expect(node.forwardPort(0, 80)).rejects.toMatchObject({
      code: 'NXC_USAGE',
      message: 'server: forward_port: host_port 0 is not a TCP port (1-65535)',
    });
    expect(forwards).toEqual([[18080, 80]]);
  });
});

describe('attach(projectDir)', () => {
  it('with nothing running: a one-line NXC_DEPLOYMENT error saying how to start', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'nxc-driver-project-'));
    try {
      await writeFile(path.join(dir, 'flake.nix'), '{ outputs = _: {}; }\n');
      await writeFile(
        path.join(dir, 'nxc.json'),
        '{"composition": "composition.nix", "default_flavour": "docker"}\n',
      );
      const error = await attach(dir).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'NXC_DEPLOYMENT' });
      expect((error as Error).message).not.toContain('\n');
      expect((error as { hint?: string }).hint).toMatch(/nxc start/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
