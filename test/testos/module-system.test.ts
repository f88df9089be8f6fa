/**
 * The test OS's `lib` implements nixpkgs' module system (and the lib functions NixOS
 * configurations use) with nixpkgs' semantics: the same cases, evaluated once with the test
 * OS's lib and once with nixpkgs' real lib (`../shared/nixpkgs-lib`, or `$NXC_NIXPKGS_LIB`),
 * must give the same values, and fail where nixpkgs fails, for the same reason.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixpkgsLib, repo } from '../nixos-eval/harness.js';

const cases = fileURLToPath(new URL('./module-system-cases.nix', import.meta.url));
const testosLib = join(repo, 'test/fixtures/testos/lib');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function nixEval(libPath: string, only?: string): Promise<Result> {
  const args = ['--eval', '--strict', '--json', cases, '--arg', 'libPath', `/. + ${JSON.stringify(libPath)}`];
  if (only) args.push('--argstr', 'only', only);
  return new Promise((ok) => {
    execFile('nix-instantiate', args, { maxBuffer: 64 << 20 }, (error, stdout, stderr) =>
      ok({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

type Cases = Record<string, { ok: boolean; value?: unknown }>;

async function evalAll(libPath: string): Promise<Cases> {
  const r = await nixEval(libPath);
  if (r.code !== 0) throw new Error(`evaluating the cases with ${libPath} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as Cases;
}

/** Why each error case fails, as nixpkgs says it. */
const errors: Record<string, string> = {
  errUndeclared: "The option `b' does not exist",
  errUndeclaredInSubmodule: "The option `s.b' does not exist",
  errConflict: 'has conflicting definition values',
  errType: "A definition for option `a' is not of type",
  errNested: 'is not of type',
  errUnique: "is defined multiple times while it's expected to be unique",
  errReadOnly: "is read-only, but it's set multiple times",
  errNoValue: 'was accessed but has no value defined',
  errEmptyList: "A definition for option `a' is not of type",
  errNull: 'is defined both null and not null',
  errPort: "A definition for option `p' is not of type",
  errAnythingLists: 'has conflicting definition values',
  errMkIfNonBool: 'called with a non-Boolean condition',
};

let reference: Cases;
let testos: Cases;
const temp = mkdtempSync(join(tmpdir(), 'nxc-testos-lib-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

beforeAll(async () => {
  [reference, testos] = await Promise.all([evalAll(nixpkgsLib()), evalAll(testosLib)]);
});

describe("the test OS's module system against nixpkgs' lib", () => {
  it('evaluates every case as nixpkgs does', () => {
    expect(Object.keys(testos).sort()).toEqual(Object.keys(reference).sort());
    expect(Object.keys(reference).length).toBeGreaterThan(25);
    for (const name of Object.keys(reference)) expect(testos[name], name).toEqual(reference[name]);
  });

  it('the cases that must succeed do, with both libs', () => {
    const succeeding = Object.keys(reference).filter((n) => !n.startsWith('err'));
    for (const name of succeeding) expect(reference[name]?.ok, name).toBe(true);
  });

  it.each(Object.entries(errors))('%s fails for the same reason with both libs', async (name, why) => {
    const [ref, ours] = await Promise.all([nixEval(nixpkgsLib(), name), nixEval(testosLib, name)]);
    expect(ref.code, `nixpkgs' lib accepted ${name}`).not.toBe(0);
    expect(ref.stderr).toContain(why);
    expect(ours.code, `the test OS's lib accepted ${name}`).not.toBe(0);
    expect(ours.stderr).toContain(why);
  });

  it('notices a lib that differs (mkBefore ordered like mkAfter)', async () => {
    const broken = join(temp, 'broken-lib.nix');
    writeFileSync(broken, `let l = import ${testosLib}; in l // { mkBefore = l.mkAfter; }\n`);
    const mutant = await evalAll(broken);
    expect(mutant.order).not.toEqual(reference.order);
  });
});
