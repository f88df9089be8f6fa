/**
 * The driver against a REAL docker deployment of the demo (examples/demo built by real
 * Nix on the offline test OS, started by core's start() with @nxc/flavour-docker):
 * the demo's own testScript (`nxc driver -t`), a richer script (subtests, waits, a
 * deliberate failing command checked with `fail`, copies, JUnit), a failing script, and
 * the TypeScript API the way a user's vitest suite uses it.
 */
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import * as core from '@nxc/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttachedDeployment, attach, driverCommand } from '../src/index.js';
import { type DemoProject, demoProject } from './helpers/demo.js';

let demo: DemoProject;
let project: core.Project;
let containerNames: string[] = [];

function sink() {
  const s = new PassThrough();
  let text = '';
  s.on('data', (c: Buffer) => {
    text += c.toString();
  });
  return { stream: s, text: () => text };
}

beforeAll(async () => {
  demo = await demoProject('docker');
  project = demo.project;
  const summary = await core.start(project, { flavour: 'docker' });
  containerNames = summary.nodes.map((n) => (n.detail ?? '').split(' ')[0]!).filter(Boolean);
  expect(containerNames).toHaveLength(2);
  expect(summary.nodes.map((n) => [n.host, n.state]).sort()).toEqual([
    ['client', 'running'],
    ['server', 'running'],
  ]);
});

afterAll(async () => {
  try {
    if (project) await core.stop(project, { flavour: 'docker' });
    // nothing of this deployment is left on the engine
    for (const name of containerNames) {
      const left = execFileSync('docker', ['ps', '-aq', '--filter', `name=^${name}$`], { encoding: 'utf8' });
      expect(left.trim(), name).toBe('');
    }
  } finally {
    demo?.remove();
  }
});

describe('python test scripts on docker', () => {
  it("`nxc driver -t`: the demo's own testScript passes unchanged", async () => {
    const out = sink();
    const result = await driverCommand({
      projectDir: demo.dir,
      testScript: true,
      stdout: out.stream,
      stderr: out.stream,
    });
    expect(result.error?.message, out.text()).toBeUndefined();
    expect(result).toMatchObject({ ok: true, exitCode: 0 });
    expect(out.text()).toContain('client: must succeed: wget -qO- http://server/');
  });

  it('a richer script: subtests, waits, fail(), units on the test OS, copies, JUnit', async () => {
    const payload = path.join(demo.dir, 'payload.txt');
    await writeFile(payload, 'payload from the host\n');
    const script = path.join(demo.dir, 'full_test.py');
    await writeFile(
      script,
      `start_all()
with subtest("boot"):
    for m in machines:
        m.wait_for_file("/run/nxc/ready", timeout=60)
        m.wait_for_unit("multi-user.target", timeout=60)
    assert server.succeed("hostname").strip() == "server"
with subtest("http service"):
    server.wait_for_unit("httpd.service", timeout=60)
    assert server.systemctl("is-active httpd") == (0, "active\\n")
    server.wait_for_open_port(80, timeout=60)
    client.wait_until_succeeds("wget -qO- http://server/ | grep -q 'demo server'", timeout=60)
with subtest("deliberate failures"):
    client.fail("wget -qO- http://server/nonexistent")
    status, out = client.execute("echo fine; exit 3")
    assert (status, out) == (3, "fine\\n"), (status, out)
with subtest("ports open and close"):
    server.succeed("nc -l -p 8081 >/dev/null 2>&1 </dev/null & echo $! > /tmp/nc.pid")
    server.wait_for_open_port(8081, timeout=30)
    server.succeed("kill $(cat /tmp/nc.pid)")
    server.wait_for_closed_port(8081, timeout=30)
with subtest("copies"):
    client.copy_from_host("${payload}", "/tmp/in/payload.txt")
    assert client.succeed("cat /tmp/in/payload.txt") == "payload from the host\\n"
    server.succeed("echo made on the server > /tmp/made.txt")
    server.copy_from_vm("/tmp/made.txt", "from-server")
`,
    );
    const junit = path.join(demo.dir, 'report.xml');
    const out = sink();
    const result = await driverCommand({
      projectDir: demo.dir,
      scriptFile: script,
      junit,
      outDir: demo.dir,
      stdout: out.stream,
      stderr: out.stream,
    });
    expect(result.error?.message, out.text()).toBeUndefined();
    expect(await readFile(path.join(demo.dir, 'from-server', 'made.txt'), 'utf8')).toBe(
      'made on the server\n',
    );
    expect(result.subtests.map((s) => [s.name, s.ok])).toEqual([
      ['boot', true],
      ['http service', true],
      ['deliberate failures', true],
      ['ports open and close', true],
      ['copies', true],
    ]);
    const xml = await readFile(junit, 'utf8');
    expect(xml).toContain('<testsuite name="composition::docker" tests="5" failures="0"');
  });

  it('a failing assertion exits 1 naming the line, node, command, exit code and output', async () => {
    const script = path.join(demo.dir, 'failing_test.py');
    await writeFile(
      script,
      'start_all()\nwith subtest("reach a closed port"):\n    client.succeed("wget -qO- http://server:81/")\n',
    );
    const junit = path.join(demo.dir, 'failing.xml');
    const out = sink();
    const result = await driverCommand({
      projectDir: demo.dir,
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
  });
});

describe('TypeScript API on docker (a user suite)', () => {
  let d: AttachedDeployment;
  beforeAll(async () => {
    d = await attach(demo.dir, { flavour: 'docker' });
  });
  afterAll(async () => {
    await d?.close();
  });

  it('every client reaches the server; failures reject with the output', async () => {
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
    expect(d.deployment.flavour).toBe('docker');
  });
});
