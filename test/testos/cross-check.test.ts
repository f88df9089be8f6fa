/**
 * For every flavour, the demo's roles evaluated by the test OS (its own module system, its
 * NixOS modules, nxc's modules) and by the same test OS whose lib is nixpkgs' real lib
 * (`../shared/nixpkgs-lib`, or `$NXC_NIXPKGS_LIB`) give the same configuration, every option
 * (stage-1 commands and their order, file systems, kernel modules and parameters, systemd
 * services, /etc, users...) and the same derivations (the compose info, every role's system,
 * stage 1): the test OS's module system does not decide anything nixpkgs' would decide
 * otherwise.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FlavourDecl, nixpkgsLib, projectFlavours, repo } from '../nixos-eval/harness.js';

const entry = fileURLToPath(new URL('./cross-check.nix', import.meta.url));
const testos = join(repo, 'test/fixtures/testos');
const flavourNames = ['docker', 'vm-ramdisk', 'vm', 'g5k-ramdisk', 'g5k-nfs-store', 'g5k-image'];

// biome-ignore lint/suspicious/noExplicitAny: a NixOS configuration as JSON
type Json = any;
interface Evaluation {
  compose: string;
  roles: Record<string, Json>;
}

const temp = mkdtempSync(join(tmpdir(), 'nxc-testos-cross-'));
let flavoursFile: string;
let withNixpkgsLib: string;

/** A copy of the test OS whose lib.nix is `libExpr` (same folder name: same store path). */
function testosWith(name: string, libExpr: string): string {
  const dir = join(temp, name, 'testos');
  mkdirSync(dir, { recursive: true });
  for (const f of ['default.nix', 'flake.nix', 'lib', 'nixos', '.cache/root'])
    cpSync(join(testos, f), join(dir, f), { recursive: true, verbatimSymlinks: true });
  writeFileSync(join(dir, 'lib.nix'), `${libExpr}\n`);
  return dir;
}

function evaluate(testosDir: string, flavour: string): Promise<Evaluation> {
  const args = [
    '--read-write-mode',
    '--eval',
    '--strict',
    '--json',
    entry,
    '--arg',
    'repo',
    `/. + ${JSON.stringify(repo)}`,
    '--arg',
    'testos',
    `/. + ${JSON.stringify(testosDir)}`,
    '--argstr',
    'flavoursFile',
    flavoursFile,
    '--argstr',
    'flavour',
    flavour,
  ];
  return new Promise((ok, ko) =>
    execFile('nix-instantiate', args, { maxBuffer: 256 << 20 }, (error, stdout, stderr) =>
      error
        ? ko(new Error(`evaluating ${flavour} with ${testosDir} failed:\n${stderr}`))
        : ok(JSON.parse(stdout) as Evaluation),
    ),
  );
}

/** Paths where two JSON values differ (at most `max`). */
function differences(a: Json, b: Json, path = '', out: string[] = [], max = 20): string[] {
  if (out.length >= max) return out;
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || (a === null) !== (b === null)) {
    out.push(`${path}: ${JSON.stringify(a)?.slice(0, 200)} | ${JSON.stringify(b)?.slice(0, 200)}`);
  } else if (Array.isArray(a)) {
    if (a.length !== b.length) out.push(`${path}: ${a.length} items | ${b.length} items`);
    else a.forEach((x, i) => differences(x, b[i], `${path}[${i}]`, out, max));
  } else if (a && typeof a === 'object') {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!(k in a) || !(k in b))
        out.push(`${path}.${k}: only in ${k in a ? 'the test OS' : "nixpkgs' lib"}`);
      else differences(a[k], b[k], `${path}.${k}`, out, max);
    }
  } else if (a !== b) {
    out.push(`${path}: ${JSON.stringify(a).slice(0, 200)} | ${JSON.stringify(b).slice(0, 200)}`);
  }
  return out;
}

beforeAll(async () => {
  const flavours: Record<string, FlavourDecl> = await projectFlavours();
  flavoursFile = join(temp, 'flavours.json');
  writeFileSync(flavoursFile, JSON.stringify(flavours));
  withNixpkgsLib = testosWith('nixpkgs-lib', `import ${nixpkgsLib()}`);
});
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe("the test OS evaluates the demo as it does with nixpkgs' real lib", () => {
  it.each(flavourNames)('%s: same configuration of every role, same derivations', async (flavour) => {
    const [ours, reference] = await Promise.all([
      evaluate(testos, flavour),
      evaluate(withNixpkgsLib, flavour),
    ]);
    // what was compared: the product's modules ran (nxc-boot.service comes from nix/modules)
    expect(Object.keys(ours.roles).sort()).toEqual(['client', 'server']);
    expect(ours.roles.server.systemd.services['nxc-boot']).toBeDefined();
    expect(ours.roles.server.nxc.flavour.name).toBe(flavour);
    expect(differences(ours.roles, reference.roles)).toEqual([]);
    expect(ours.compose).toBe(reference.compose);
  });

  it('notices a lib that decides otherwise (mkAfter ordered like mkBefore)', async () => {
    const mutant = testosWith(
      'mutant',
      `(import ${nixpkgsLib()}).extend (final: prev: { mkAfter = prev.mkBefore; })`,
    );
    const [ours, other] = await Promise.all([evaluate(testos, 'vm-ramdisk'), evaluate(mutant, 'vm-ramdisk')]);
    // NixOS appends a service's default path with mkAfter: the mutant puts it first
    expect(differences(ours.roles, other.roles).some((d) => d.includes('services.nxc-boot.path'))).toBe(true);
    expect(ours.compose).not.toBe(other.compose);
  });
});
