/**
 * The CLI's frame: help and exit codes, --debug stacks, internal errors, init. Spawns the
 * real built binary.
 */
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, composeInfo, fakeFlavour, makeProject, runNxc } from './helpers.js';

const verbs = [
  'build',
  'start',
  'stop',
  'status',
  'connect',
  'exec',
  'logs',
  'driver',
  'init',
  'clean',
  'flavours',
];
let dir: string;

beforeAll(async () => {
  assertBuilt();
  dir = await makeProject(
    {
      'flake.nix': '{ outputs = _: { }; }\n',
      'nxc.config.json': { plugins: [fakeFlavour] },
      'ci.json': composeInfo(),
    },
    { 'composition::fake': 'ci.json' },
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('help', () => {
  it('nxc --help lists every verb and the exit codes', async () => {
    const r = await runNxc(dir, ['--help']);
    expect(r.code).toBe(0);
    for (const v of verbs) expect(r.stdout).toMatch(new RegExp(`^  ${v} `, 'm'));
    for (const code of ['0', '1', '2', '3', '70', '128\\+n'])
      expect(r.stdout).toMatch(new RegExp(`^  ${code} +\\S`, 'm'));
  });

  it.each(verbs)('nxc %s --help', async (verb) => {
    const r = await runNxc(dir, [verb, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: nxc ${verb} `));
  });

  it('--json is offered where output is data', async () => {
    for (const verb of ['status', 'flavours', 'exec', 'build', 'start']) {
      expect((await runNxc(dir, [verb, '--help'])).stdout).toMatch(/--json/);
    }
  });
});

describe('errors', () => {
  it('--debug adds the stack to a user error', async () => {
    const r = await runNxc(dir, ['--debug', 'start', '-r', 'agnet=1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^error: -r agnet=1: role "agnet" is not in the composition \(roles: server, client\)$/m,
    );
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('a bug in a plugin is an internal error with a bug-report hint (exit 70), stack only with --debug', async () => {
    const env = { NXC_FAKE_USABLE_THROWS: '1' };
    const r = await runNxc(dir, ['start'], env);
    expect(r.code).toBe(70);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      'internal error: fake bug: cannot read properties of undefined',
      expect.stringMatching(
        /^hint: this is a bug in nxc or a flavour plugin; rerun with --debug and report it, with the output, to the maintainers of the plugin or of nxc$/,
      ),
    ]);
    const d = await runNxc(dir, ['start', '--debug'], env);
    expect(d.stderr).toMatch(/TypeError: fake bug[^\n]*\n\s+at /);
    expect(existsSync(path.join(dir, 'deploy'))).toBe(false);
  });
});

describe('nxc init', () => {
  it('lists templates', async () => {
    const r = await runNxc(dir, ['init', '--list']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^client-server +A web server/m);
  });

  it('creates a project from a template, and refuses to overwrite it', async () => {
    const target = path.join(dir, 'newproj');
    const r = await runNxc(dir, ['init', '-t', 'client-server', 'newproj']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^initialised .*newproj from template client-server \(\d+ files\)$/m);
    expect(await readdir(target)).toContain('composition.nix');
    const again = await runNxc(dir, ['init', '-t', 'client-server', 'newproj']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^error: .*already exists; nxc init never overwrites files$/m);
  });

  it('names the templates when one is unknown', async () => {
    const r = await runNxc(dir, ['init', '-t', 'k8s', 'other']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: .*k8s.*\n^hint: /m);
    expect(existsSync(path.join(dir, 'other'))).toBe(false);
  });
});
