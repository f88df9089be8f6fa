/**
 * What the everyday commands load (issue #17), counted rather than timed: the built `nxc`
 * runs in examples/demo with a module hook that records every JavaScript file Node loads,
 * and a record of Node's built-in modules at exit. `nxc --help` must not load @nxc/core or
 * the actions; `nxc status` and `nxc flavours` must load few files, no plugin and no
 * `@nxc/core/flavour`, and not the built-ins they never use (crypto, zlib, child_process with
 * net and dgram, which commander would load for executable subcommands; util's MIME types).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, nxcBin, repoRoot } from './helpers.js';

const demo = path.join(repoRoot, 'examples/demo');
let work: string;

beforeAll(() => {
  assertBuilt();
  if (!existsSync(path.join(demo, 'node_modules/@nxc/flavour-docker')))
    throw new Error(`${demo}/node_modules is missing: run pnpm install first`);
  work = mkdtempSync(path.join(tmpdir(), 'nxc-cold-start-'));
  // the hooks run on Node's loader thread: they append each loaded file URL to a log
  writeFileSync(
    path.join(work, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(process.env.NXC_TEST_LOAD_LOG, url + '\\n');
  return next(url, context);
}
`,
  );
  writeFileSync(
    path.join(work, 'register.mjs'),
    `import { register } from 'node:module';
import { writeFileSync } from 'node:fs';
register(${JSON.stringify(pathToFileURL(path.join(work, 'hooks.mjs')).href)});
process.on('exit', () => writeFileSync(process.env.NXC_TEST_BUILTINS_LOG, JSON.stringify(process.moduleLoadList)));
`,
  );
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs nxc `args` in examples/demo; returns the files it loaded and the built-ins. */
function loaded(args: string[]): { files: string[]; builtins: string[]; stdout: string } {
  const log = path.join(work, `${args.join('_')}.files`);
  const builtinsLog = path.join(work, `${args.join('_')}.builtins`);
  rmSync(log, { force: true });
  const r = spawnSync(
    process.execPath,
    ['--no-warnings', '--import', pathToFileURL(path.join(work, 'register.mjs')).href, nxcBin, ...args],
    {
      cwd: demo,
      encoding: 'utf8',
      env: { ...process.env, NXC_TEST_LOAD_LOG: log, NXC_TEST_BUILTINS_LOG: builtinsLog, NO_COLOR: '1' },
    },
  );
  expect(r.status, r.stderr).toBe(0);
  const files = readFileSync(log, 'utf8')
    .split('\n')
    .filter((u) => u !== '' && !u.includes('/nxc-cold-start-'));
  const builtins = (JSON.parse(readFileSync(builtinsLog, 'utf8')) as string[])
    .filter((m) => m.startsWith('NativeModule '))
    .map((m) => m.slice('NativeModule '.length));
  return { files, builtins, stdout: r.stdout };
}

const cliDist = pathToFileURL(path.join(repoRoot, 'apps/cli/dist')).href;

describe('nxc cold start: what the everyday commands load', () => {
  it('nxc --help loads the CLI entry and its main chunk only, not @nxc/core nor child_process', () => {
    const { files, builtins, stdout } = loaded(['--help']);
    expect(builtins).not.toContain('child_process');
    expect(stdout).toContain('Usage: nxc');
    expect(files.filter((f) => !f.startsWith(cliDist))).toEqual([]);
    expect(files.some((f) => /\/actions-[^/]*\.js$/.test(f))).toBe(false);
    expect(files.length).toBeLessThanOrEqual(3);
  });

  for (const verb of ['status', 'flavours']) {
    it(`nxc ${verb} loads at most 8 files, no plugin, no @nxc/core/flavour, no crypto, zlib, child_process or util's extras`, () => {
      const { files, builtins } = loaded([verb]);
      expect(files.filter((f) => f.includes('/flavour-'))).toEqual([]);
      expect(files.filter((f) => f.endsWith('/core/dist/flavour.js'))).toEqual([]);
      expect(files.length, files.join('\n')).toBeLessThanOrEqual(8);
      expect(builtins).not.toContain('crypto');
      expect(builtins).not.toContain('zlib');
      expect(builtins).not.toContain('child_process');
      expect(builtins).not.toContain('internal/mime');
    });
  }
});
