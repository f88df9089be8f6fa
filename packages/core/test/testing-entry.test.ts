/**
 * The conformance kit is its own entry: `@nxc/core` must load without vitest (library users
 * and the CLI do not have it), `@nxc/core/testing` resolves through the package's exports.
 * Checked on the built package in a plain node process that refuses any import of vitest.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const coreDir = join(dirname(fileURLToPath(import.meta.url)), '..');

function importWithoutVitest(specifier: string): string {
  const script = `
    import { register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(
      'export async function resolve(s, c, next) {' +
      '  if (s === "vitest" || s.startsWith("vitest/")) throw new Error("imports vitest");' +
      '  return next(s, c); }'));
    try { const m = await import(${JSON.stringify(specifier)}); console.log(Object.keys(m).sort().join(',')); }
    catch (e) { console.log('FAILED ' + e.message); }
  `;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: coreDir,
    encoding: 'utf8',
  }).trim();
}

describe('@nxc/core entries', () => {
  it('the main entry does not import vitest', () => {
    expect(importWithoutVitest('@nxc/core')).toMatch(/(^|,)start(,|$)/);
  });

  it('@nxc/core/testing is exported, and is the entry that needs vitest', () => {
    expect(importWithoutVitest('@nxc/core/testing')).toMatch(/^FAILED .*imports vitest/);
  });
});
