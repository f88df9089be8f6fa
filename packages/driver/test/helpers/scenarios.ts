/**
 * TEST HELPER: what every flavour's e2e test checks with the driver on a running demo
 * deployment (server + client): the demo's own testScript, one shared richer script
 * (fixtures/full_test.py) unchanged, a failing script, and the TypeScript API.
 */
import { readFile, writeFile } from 'node:fs/promises';
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
