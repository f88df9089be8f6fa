/**
 * TEST HELPER: what every flavour's e2e test checks with the driver on a running demo
 * deployment (server + client): the demo's own testScript, one shared richer script
 * (fixtures/full_test.py) unchanged, a failing script, and the TypeScript API.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { expect } from 'vitest';
import { attach, driverCommand } from '../../src/index.js';

export const FULL_TEST = path.resolve(import.meta.dirname, '../fixtures/full_test.py');

export function sink() {
  const s = new PassThrough();
  let text = '';
  s.on('data', (c: Buffer) => {
    text += c.toString();
  });
  return { stream: s, text: () => text };
}

/** `nxc driver -t`: the composition's testScript. */
export async function demoTestScript(dir: string, flavour: string): Promise<void> {
  const out = sink();
  const result = await driverCommand({
    projectDir: dir,
    flavour,
    testScript: true,
    stdout: out.stream,
    stderr: out.stream,
  });
  expect(result.error?.message, out.text()).toBeUndefined();
  expect(result).toMatchObject({ ok: true, exitCode: 0 });
  expect(out.text()).toContain('client: must succeed: wget -qO- http://server/');
}

/** fixtures/full_test.py with a JUnit report. */
export async function fullScript(dir: string, flavour: string): Promise<void> {
  const junit = path.join(dir, `report-${flavour}.xml`);
  const out = sink();
  const result = await driverCommand({
    projectDir: dir,
    flavour,
    scriptFile: FULL_TEST,
    junit,
    outDir: dir,
    stdout: out.stream,
    stderr: out.stream,
  });
  expect(result.error?.message, out.text()).toBeUndefined();
  expect(result.subtests.map((s) => [s.name, s.ok])).toEqual([
    ['boot', true],
    ['http service', true],
    ['deliberate failures', true],
    ['ports open and close', true],
    ['copies', true],
    ['real systemd', true],
  ]);
  expect(await readFile(path.join(dir, 'from-server', 'made.txt'), 'utf8')).toBe('made on the server\n');
  expect(await readFile(junit, 'utf8')).toContain(
    `<testsuite name="composition::${flavour}" tests="6" failures="0"`,
  );
}

/** A failing assertion: exit 1, one line naming the script line, node, command, exit code; output in details. */
export async function failingScript(dir: string, flavour: string): Promise<void> {
  const script = path.join(dir, 'failing_test.py');
  await writeFile(
    script,
    'start_all()\nwith subtest("reach a closed port"):\n    client.succeed("wget -qO- http://server:81/")\n',
  );
  const junit = path.join(dir, 'failing.xml');
  const out = sink();
  const result = await driverCommand({
    projectDir: dir,
    flavour,
    scriptFile: script,
    junit,
    stdout: out.stream,
    stderr: out.stream,
  });
  expect(result.exitCode).toBe(1);
  expect(result.error?.message).toBe(
    `${script} line 3: client: command \`wget -qO- http://server:81/\` failed (exit code 1)`,
  );
  expect(result.error?.details).toMatch(/stderr:\n.*(refused|wget)/);
  expect(await readFile(junit, 'utf8')).toContain('failures="1"');
}

/** The TypeScript API as a user's vitest suite uses it. */
export async function typescriptApi(dir: string, flavour: string): Promise<void> {
  const d = await attach(dir, { flavour });
  try {
    await d.startAll();
    await d.node('server').waitForOpenPort(80, { timeout: 60 });
    for (const client of d.role('client')) {
      expect(await client.succeed('wget -qO- http://server/')).toBe('hello from the nxc demo server\n');
    }
    await expect(d.node('client').succeed('wget -qO- http://server/missing')).rejects.toMatchObject({
      code: 'NXC_TEST_FAILED',
      host: 'client',
      commandExitCode: 1,
      stderr: expect.stringContaining('404'),
    });
    expect(d.deployment.flavour).toBe(flavour);
  } finally {
    await d.close();
  }
}

/** A TCP port free on this machine right now. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * The NixOS test driver's console calls, as a Python script: `wait_for_console_text` (docker:
 * a line printed after boot on a node's output, a journal line of the systemd node),
 * `get_console_log`, `get_unit_property`, `wait_for_open_unix_socket` (busybox syslogd's /dev/log) and `forward_port` (busybox
 * httpd on 8123, fetched from the script, which runs on this machine) on every flavour;
 * QEMU: `get_tty_text`/`wait_until_tty_matches` on tty1, `send_console` read from ttyS0 and
 * `send_chars` typed into a reader of tty1; docker: those fail with one line naming the call and the flavour.
 */
export async function consoleScript(dir: string, flavour: string): Promise<void> {
  const hostPort = await freePort();
  const vm = flavour !== 'docker';
  const script = path.join(dir, `console_test_${flavour}.py`);
  const lines = [
    'import urllib.request',
    'start_all()',
    'with subtest("console"):',
    // QEMU: the serial console. Docker: the container's output, then (systemd nodes) the
    // journal of the current boot: NXC_READY is on the client's output (its PID 1 is the
    // test OS's init) and in the server's journal (real systemd)
    '    server.wait_for_console_text("NXC_READY server", timeout=120)',
    ...(vm
      ? [
          // what a match read is consumed, the mark printed now is found after it
          '    server.succeed("echo nxc-console-mark-7 > /dev/ttyS0")',
          '    server.wait_for_console_text(r"nxc-console-mark-(?P<n>\\d)", timeout=60)',
        ]
      : [
          '    client.wait_for_console_text("NXC_READY client", timeout=120)',
          // a line written later to PID 1's output: in the container's output, which comes
          // before the (empty) journal part of a node without systemd
          '    client.succeed("echo nxc-console-mark-7 > /proc/1/fd/1")',
          '    client.wait_for_console_text(r"nxc-console-mark-(?P<n>\\d)", timeout=60)',
          // systemd node: what reaches the journal is on its console (as NixOS test VMs
          // forward the journal to the console)
          // (with a command: without one systemd-cat runs /bin/cat, which NixOS has not)
          '    server.succeed("systemd-cat -t nxc-test echo nxc-journal-mark-3")',
          '    server.wait_for_console_text("nxc-journal-mark-3", timeout=60)',
        ]),
    '    assert "NXC_READY server" in server.get_console_log()',
    'with subtest("unit property"):',
    '    server.wait_for_unit("httpd")',
    '    assert server.get_unit_property("httpd", "ActiveState") == "active"',
    '    assert int(server.get_unit_property("httpd.service", "MainPID")) > 0',
    'with subtest("unix socket"):',
    '    server.succeed("syslogd -O /tmp/syslog.txt")',
    '    server.wait_for_open_unix_socket("/dev/log", is_datagram=True, timeout=60)',
    'with subtest("forward port"):',
    '    server.succeed("mkdir -p /tmp/www && echo forwarded > /tmp/www/index.html && httpd -p 8123 -h /tmp/www")',
    '    server.wait_for_open_port(8123, timeout=60)',
    `    server.forward_port(${hostPort}, 8123)`,
    `    body = urllib.request.urlopen("http://127.0.0.1:${hostPort}/", timeout=30).read().decode()`,
    '    assert body == "forwarded\\n", body',
  ];
  if (vm) {
    lines.push(
      'with subtest("virtual terminal"):',
      '    server.succeed("echo hello from tty1 > /dev/tty1")',
      '    server.wait_until_tty_matches(1, "hello from tty1", timeout=60)',
      '    text = server.get_tty_text(1)',
      '    assert "hello from tty1" in text, text',
      '    assert len(text.splitlines()[0]) >= 80, text',
      'with subtest("serial console input"):',
      `    server.succeed("setsid sh -c 'exec cat </dev/ttyS0 >/tmp/serial-in 2>&1' </dev/null >/dev/null 2>&1 &")`,
      '    server.sleep(1)',
      '    server.send_console("typed on the serial 42\\n")',
      '    server.wait_until_succeeds("grep -qx \'typed on the serial 42\' /tmp/serial-in", timeout=60)',
      'with subtest("keyboard"):',
      `    server.succeed("setsid sh -c 'exec cat </dev/tty1 >/tmp/typed 2>&1' </dev/null >/dev/null 2>&1 &")`,
      '    server.sleep(1)',
      '    server.send_chars("typed Text: ~!\\n")',
      '    server.wait_until_succeeds("grep -qx \'typed Text: ~!\' /tmp/typed", timeout=60)',
      '    server.wait_until_tty_matches("1", r"typed Text: ~!", timeout=60)',
    );
  } else {
    lines.push(
      'with subtest("no keyboard, no virtual terminal"):',
      '    for call in (lambda: server.send_chars("x"), lambda: server.get_tty_text(1), lambda: server.send_console("x")):',
      '        try:',
      '            call()',
      '        except Exception as e:',
      '            log.log(f"refused: {e}")',
      '        else:',
      '            raise Exception("a console call passed on docker")',
    );
  }
  await writeFile(script, `${lines.join('\n')}\n`);
  const out = sink();
  const result = await driverCommand({
    projectDir: dir,
    flavour,
    scriptFile: script,
    stdout: out.stream,
    stderr: out.stream,
  });
  expect(result.error?.message, `${result.error?.details}\n${out.text()}`).toBeUndefined();
  const names = [
    'console',
    'unit property',
    'unix socket',
    'forward port',
    ...(vm ? ['virtual terminal', 'serial console input', 'keyboard'] : []),
  ];
  expect(result.subtests.map((s) => [s.name, s.ok])).toEqual([
    ...names.map((n) => [n, true]),
    ...(vm ? [] : [['no keyboard, no virtual terminal', true]]),
  ]);
  if (!vm) {
    expect(out.text()).toContain('refused: server: send_chars() is not supported by the docker flavour');
    expect(out.text()).toContain('refused: server: get_tty_text() is not supported by the docker flavour');
    expect(out.text()).toContain('refused: server: send_console() is not supported by the docker flavour');
  }
  // the driver session is over: a relay (docker) is closed with it
  if (!vm) {
    await expect(fetch(`http://127.0.0.1:${hostPort}/`)).rejects.toThrow();
  }
}
