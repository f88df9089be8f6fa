/**
 * The Python shim for real: the machine's python3 runs test scripts whose commands run
 * through a real transport (Linux namespaces standing for nodes, see helpers/).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunTestScriptOptions, runTestScript } from '../src/index.js';
import { LOCAL_ROOT_BASE, LocalTransport } from './helpers/local-transport.js';

let transport: LocalTransport;
let work: string;
const roles = { server: 'server', 'client-1': 'client', 'client-2': 'client' };

function sink() {
  const s = new PassThrough();
  let text = '';
  s.on('data', (c: Buffer) => {
    text += c.toString();
  });
  return { stream: s, text: () => text };
}

async function run(script: string, extra: Partial<RunTestScriptOptions> = {}) {
  const out = sink();
  const err = sink();
  const result = await runTestScript({
    transport,
    deployment: transport.deployment(roles),
    script,
    scriptPath: 'test-script.py',
    stdout: out.stream,
    stderr: err.stream,
    ...extra,
  });
  return { result, out: out.text(), err: err.text() };
}

// A free-ish port per test run: the nodes share the machine's network.
const port = 20000 + (process.pid % 20000);

beforeAll(async () => {
  transport = await LocalTransport.create(Object.keys(roles));
  work = await mkdtemp(path.join(LOCAL_ROOT_BASE, 'nxc-driver-work-'));
});

afterAll(async () => {
  await transport?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('python shim over a real transport', () => {
  it('runs a passing script: globals, subtests, commands, waits, copies, JUnit', async () => {
    await writeFile(path.join(work, 'payload.txt'), 'from the host\n');
    const junit = path.join(work, 'report.xml');
    const script = `
start_all()
assert [m.name for m in machines] == ["server", "client_1", "client_2"], machines
assert [m.host for m in roles["client"]] == ["client-1", "client-2"]
print("hello from the script")
with subtest("commands"):
    assert server.succeed("hostname") == "server\\n"
    assert client_1.succeed("hostname", "echo two") == "client-1\\ntwo\\n"
    status, out = client_2.execute("echo out; echo err >&2; exit 4")
    assert (status, out) == (4, "out\\n"), (status, out)
    server.fail("false", "exit 3")
with subtest("waits"):
    server.succeed("(sleep 1; touch /tmp/later) >/dev/null 2>&1 &")
    server.wait_for_file("/tmp/later", timeout=20)
    assert server.wait_until_succeeds("test -e /tmp/later && echo yes") == "yes\\n"
    server.succeed("touch /tmp/flag")
    server.succeed("(sleep 1; rm /tmp/flag) >/dev/null 2>&1 &")
    server.wait_until_fails("test -e /tmp/flag", timeout=20)
    client_1.fail("test -e /tmp/later")  # each node has its own /tmp
with subtest("ports"):
    server.succeed("busybox nc -l -p ${port} >/dev/null 2>&1 </dev/null & echo $! > /run/listener.pid")
    server.wait_for_open_port(${port}, timeout=20)
    server.succeed("kill $(cat /run/listener.pid)")
    server.wait_for_closed_port(${port}, timeout=20)
with subtest("units without systemd"):
    server.succeed("(sleep 1; mkdir -p /run/nxc/units; touch /run/nxc/units/web) >/dev/null 2>&1 &")
    server.wait_for_unit("web.service", timeout=20)
    assert server.get_unit_info("web")["ActiveState"] == "active"
    assert server.get_unit_property("web", "ActiveState") == "active"
    assert server.systemctl("is-active web") == (0, "active\\n")
    assert server.systemctl("is-active db")[0] != 0
    server.succeed("mkdir -p /run/nxc && touch /run/nxc/ready")
    server.wait_for_unit("multi-user.target", timeout=5)
with subtest("copies"):
    server.copy_from_host("${work}/payload.txt", "/tmp/in/payload.txt")
    assert server.succeed("cat /tmp/in/payload.txt") == "from the host\\n"
    server.succeed("echo from the node > /tmp/result.txt")
    server.copy_from_vm("/tmp/result.txt", "out")
    server.copy_from_machine("/tmp/in/payload.txt", "out2")
log.info("done")
`;
    const { result, out } = await run(script, { junit, outDir: work });
    expect(result.error?.message, out).toBeUndefined();
    expect(result).toMatchObject({ ok: true, exitCode: 0 });
    expect(result.subtests.map((s) => [s.name, s.ok])).toEqual([
      ['commands', true],
      ['waits', true],
      ['ports', true],
      ['units without systemd', true],
      ['copies', true],
    ]);
    expect(await readFile(path.join(work, 'out', 'result.txt'), 'utf8')).toBe('from the node\n');
    expect(await readFile(path.join(work, 'out2', 'payload.txt'), 'utf8')).toBe('from the host\n');
    // prints and the command log come out in script order
    const lines = out.split('\n');
    expect(lines.indexOf('hello from the script')).toBeLessThan(lines.indexOf('subtest: commands'));
    expect(out).toContain('server: must succeed: hostname');
    expect(out).toContain('done');
    const xml = await readFile(junit, 'utf8');
    expect(xml).toContain('tests="5" failures="0"');
    expect(xml).toContain('<testcase name="units without systemd" classname="composition::local"');
  });

  it('a failing assertion names the node, the command, its exit code, its output and the script line', async () => {
    const junit = path.join(work, 'fail.xml');
    const script = [
      'start_all()',
      'with subtest("first"):',
      '    server.succeed("true")',
      'with subtest("second"):',
      '    server.succeed("echo partial output; echo some error >&2; exit 3")',
      'server.succeed("echo never reached")',
    ].join('\n');
    const { result, out } = await run(script, { junit });
    expect(result.ok).toBe(false);
    expect(result.exitCode).toBe(1);
    expect(result.error?.code).toBe('NXC_TEST_FAILED');
    expect(result.error?.message).toBe(
      'test-script.py line 5: server: command `echo partial output; echo some error >&2; exit 3` failed (exit code 3)',
    );
    expect(result.error?.details).toContain('5 | server.succeed(');
    expect(result.error?.details).toContain('partial output');
    expect(result.error?.details).toContain('some error');
    expect(out).not.toContain('never reached');
    expect(result.subtests.map((s) => [s.name, s.ok, s.line])).toEqual([
      ['first', true, undefined],
      ['second', false, 5],
    ]);
    const xml = await readFile(junit, 'utf8');
    expect(xml).toContain('tests="2" failures="1"');
    expect(xml).toMatch(
      /<failure message="server: command `echo partial output; echo some error &gt;&amp;2; exit 3` failed \(exit code 3\) \(test script line 5\)"/,
    );
  });

  it('fail() on a succeeding command, and a plain Python assert, fail with the line', async () => {
    let r = await run('x = 1\nclient_1.fail("echo fine")\n');
    expect(r.result.exitCode).toBe(1);
    expect(r.result.error?.message).toBe(
      'test-script.py line 2: client-1: command `echo fine` unexpectedly succeeded (exit code 0)',
    );
    expect(r.result.error?.details).toContain('fine');

    r = await run('out = server.succeed("echo y")\n\nassert "x" in out, "no x in " + out\n');
    expect(r.result.error?.message).toBe('test-script.py line 3: assertion failed: no x in y');
    expect(r.result.exitCode).toBe(1);
  });

  it('waits time out at the given or default timeout, with the line', async () => {
    const t0 = Date.now();
    let r = await run('server.wait_until_succeeds("echo not yet; false", timeout=2)\n');
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(r.result.error?.code).toBe('NXC_TIMEOUT');
    expect(r.result.error?.message).toBe(
      'test-script.py line 1: server: timed out after 2 s waiting for `echo not yet; false` to succeed (last exit code 1)',
    );
    expect(r.result.error?.details).toContain('not yet');

    r = await run('set_default_timeout(1)\nserver.wait_for_file("/tmp/never")\n');
    expect(r.result.error?.message).toBe(
      'test-script.py line 2: server: timed out after 1 s waiting for file /tmp/never (last exit code 1)',
    );

    r = await run('server.succeed("true")\n', { timeoutS: 1, script: 'server.wait_for_unit("nothing")\n' });
    expect(r.result.error?.message).toMatch(
      /^test-script.py line 1: server: timed out after 1 s waiting for unit nothing to be active/,
    );

    const t1 = Date.now();
    r = await run('server.succeed("sleep 30", timeout=1)\n');
    expect(Date.now() - t1).toBeLessThan(10_000);
    expect(r.result.error?.code).toBe('NXC_TIMEOUT');
    expect(r.result.error?.message).toMatch(/^test-script.py line 1: server: command .*timed out after/);
  });

  it("machines carry the node's index, global index, UUID and resolved parameters", async () => {
    const doc = transport.deployment(roles);
    const uuid = '6fa459ea-ee8a-4ca4-894e-db77e160355e';
    const deployment = {
      ...doc,
      parameters: { rate: 5 },
      deployment: Object.fromEntries(
        Object.entries(doc.deployment).map(([address, n]) => [
          address,
          n.host === 'client-2' ? { ...n, index: 2, globalIndex: 2, uuid, parameters: { rate: 20 } } : n,
        ]),
      ),
    };
    const script = `
assert (client_2.index, client_2.global_index, client_2.uuid) == (2, 2, "${uuid}"), vars(client_2)
assert machines[client_2.global_index] is client_2
assert client_2.parameters == {"rate": 20}, client_2.parameters
# a node whose entry has no identity: indexes by position, no UUID, the global parameters
assert (client_1.index, client_1.global_index, client_1.uuid) == (1, 1, None)
assert client_1.parameters == {"rate": 5}
assert roles["client"][client_2.index - 1] is client_2
`;
    const r = await run(script, { deployment });
    expect(r.result.ok, r.out + r.err).toBe(true);
  });

  it("machine.disks lists the node's block devices (empty when none)", async () => {
    const doc = transport.deployment(roles);
    const disk = { id: 'data', size: '4G', bytes: 4 * 1024 ** 3, device: '/dev/disk/by-id/virtio-data' };
    const deployment = {
      ...doc,
      deployment: Object.fromEntries(
        Object.entries(doc.deployment).map(([address, n]) => [
          address,
          n.host === 'server' ? { ...n, disks: [disk] } : n,
        ]),
      ),
    };
    const script = `
assert server.disks == [{"id": "data", "size": "4G", "bytes": ${4 * 1024 ** 3}, "device": "/dev/disk/by-id/virtio-data"}], server.disks
assert server.disks[0]["device"] == "/dev/disk/by-id/virtio-data"
assert client_1.disks == [], client_1.disks
`;
    const r = await run(script, { deployment });
    expect(r.result.ok, r.out + r.err).toBe(true);
  });

  it('an unknown node name says which nodes and roles exist', async () => {
    const r = await run('start_all()\nclient.succeed("true")\n');
    expect(r.result.error?.message).toBe("test-script.py line 2: NameError: name 'client' is not defined");
    expect(r.result.error?.details).toContain(
      "nodes: server, client_1, client_2; role client has nodes client_1, client_2 (use roles['client'])",
    );
  });

  it('a script that does not compile exits 2 with the line', async () => {
    const r = await run('start_all()\nif True\n    pass\n');
    expect(r.result.exitCode).toBe(2);
    expect(r.result.error?.code).toBe('NXC_USAGE');
    expect(r.result.error?.message).toMatch(/^test-script.py line 2: syntax error: /);
  });

  it('crash() goes through the flavour control; shutdown() without it is a clear error', async () => {
    const extra = await LocalTransport.create(['victim']);
    try {
      const out = sink();
      const r = await runTestScript({
        transport: extra,
        control: extra.control(),
        deployment: extra.deployment({ victim: 'x' }, 'local'),
        script: 'assert victim.is_up()\nvictim.crash()\nassert not victim.is_up()\nvictim.shutdown()\n',
        stdout: out.stream,
        stderr: out.stream,
      });
      expect(r.error?.message).toBe(
        'testScript line 4: victim: shutdown() is not supported by the local flavour',
      );
    } finally {
      await extra.close();
    }
  });

  it('console calls reach the flavour console; display calls are an AttributeError', async () => {
    const keys: string[] = [];
    const typed: string[] = [];
    const forwards: number[][] = [];
    const { result, out } = await run(
      [
        'import re',
        'server.wait_for_console_text(re.compile(r"NXC_READY (?P<h>\\w+)"), timeout=5)',
        'server.send_key("ctrl-alt-delete")',
        'server.send_chars("ls -l\\n", delay=None)',
        'server.forward_port(18081, 22)',
        'server.send_console("\\nsystemctl default\\n")',
        'assert server.get_console_log() == "boot\\nNXC_READY server", server.get_console_log()',
        'server.wait_for_open_unix_socket("/nonexistent.sock", timeout=1)',
      ].join('\n'),
      {
        console: {
          consoleLines: async () => ['boot', 'NXC_READY server'],
          sendKey: async (_h, k) => {
            keys.push(k);
          },
          sendConsole: async (_h, chars) => {
            typed.push(chars);
          },
          forwardPort: async (_h, a, b) => {
            forwards.push([a, b]);
          },
        },
      },
    );
    expect(keys).toEqual(['ctrl-alt-delete', 'l', 's', 'spc', 'minus', 'l', 'ret']);
    expect(forwards).toEqual([[18081, 22]]);
    expect(out).toContain('server: waiting for NXC_READY (?<h>\\w+) to appear on the console');
    expect(result.error?.message).toBe(
      'test-script.py line 8: server: timed out after 1 s waiting for UNIX-domain stream socket /nonexistent.sock to open (last exit code 1)',
    );
    expect(typed).toEqual(['\nsystemctl default\n']);
    // console_interact reads the terminal: in a script, one line saying where it works
    const interact = await run('server.console_interact()');
    expect(interact.result.error?.message).toBe(
      'test-script.py line 1: server: console_interact() reads this terminal: it works in the interactive driver only',
    );
    // a flavour without console input: send_console names the call and the flavour
    const noInput = await run('server.send_console("x")');
    expect(noInput.result.error?.message).toBe(
      'test-script.py line 1: server: send_console() is not supported by the local flavour',
    );
    const reboot = await run('server.reboot()');
    expect(reboot.result.error?.message).toBe(
      'test-script.py line 1: AttributeError: server.reboot() is not provided by nxc; use shutdown() then start() (the flavours that can: docker, QEMU)',
    );
    const shot = await run('server.screenshot("x")');
    expect(shot.result.error?.message).toMatch(
      /^test-script.py line 1: AttributeError: server.screenshot\(\) is a VM console feature of the NixOS test driver that nxc does not provide/,
    );
  });

  it('-I opens a Python REPL with the same globals', async () => {
    const stdin = new PassThrough();
    stdin.end('print("REPL:" + server.succeed("hostname").strip())\nclient_2.fail("true")\n');
    const { result, out, err } = await run('', {
      script: undefined,
      scriptPath: undefined,
      interactive: true,
      stdin,
    });
    expect(out + err).toContain('REPL:server');
    // an error inside the REPL is shown, the session goes on and exits 0 at end of input
    expect(err).toContain('client-2: command `true` unexpectedly succeeded');
    expect(result.exitCode).toBe(0);
  });

  it('Ctrl-C (abort) stops the script and the running command', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 1500);
    const t0 = Date.now();
    const { result } = await run('server.succeed("sleep 60")\n', { signal: ac.signal });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(result.exitCode).toBe(130);
    expect(result.error?.code).toBe('NXC_INTERRUPTED');
    // the node's sleep was killed with the command
    const ps = await transport.exec('server', 'ps -o args= -e 2>/dev/null || ps');
    expect(ps.stdout).not.toContain('sleep 60');
  });

  it('user mistakes are one-line NxcErrors before anything runs', async () => {
    await expect(
      run('', { script: undefined, scriptPath: path.join(work, 'nope.py') }),
    ).rejects.toMatchObject({
      code: 'NXC_IO',
      message: expect.stringMatching(/^cannot read test script .*nope.py: ENOENT$/),
    });
    await writeFile(path.join(work, 'empty.py'), '  \n');
    await expect(
      run('', { script: undefined, scriptPath: path.join(work, 'empty.py') }),
    ).rejects.toMatchObject({
      code: 'NXC_USAGE',
      message: expect.stringMatching(/empty.py is empty$/),
    });
    await expect(run('pass', { python: 'no-such-python3' })).rejects.toMatchObject({
      code: 'NXC_USAGE',
      exitCode: 3,
      message:
        'no-such-python3 not found: the test-script driver runs the script with Python 3 on this machine',
    });
    await expect(run('pass', { junit: path.join(work, 'missing-dir', 'r.xml') })).rejects.toMatchObject({
      code: 'NXC_IO',
    });
  });

  it('modules in the working directory (the project) or on PYTHONPATH are never imported', async () => {
    // A project holding json.py (or an nxc_driver package) must not run code when the driver
    // starts: Python puts the current directory first on sys.path for `-m` and for `-c`.
    const project = await mkdtemp(path.join(work, 'project-'));
    const marker = path.join(project, 'PWNED');
    const evil = `open(${JSON.stringify(marker)}, "a").write(__name__ + "\\n")\n`;
    await writeFile(path.join(project, 'json.py'), evil);
    await writeFile(path.join(project, 'os.py'), evil);
    await mkdir(path.join(project, 'nxc_driver'));
    await writeFile(path.join(project, 'nxc_driver', '__init__.py'), evil);
    await writeFile(path.join(project, 'nxc_driver', '__main__.py'), evil);
    const cwd = process.cwd();
    const pythonPath = process.env.PYTHONPATH;
    process.chdir(project);
    // an empty entry, as `PYTHONPATH=$PYTHONPATH:/x` gives, means the current directory too
    process.env.PYTHONPATH = ':';
    try {
      const r = await run('import json\nprint("json from", json.__file__)\n');
      expect(r.result.ok, r.err).toBe(true);
      expect(r.out).toMatch(/json from \/\S+\/json\/__init__\.py/);
    } finally {
      process.chdir(cwd);
      if (pythonPath === undefined) Reflect.deleteProperty(process.env, 'PYTHONPATH');
      else process.env.PYTHONPATH = pythonPath;
    }
    expect(existsSync(marker)).toBe(false);
  });
});
