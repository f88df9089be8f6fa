/**
 * The real-NixOS side of the flavours (nix/modules, plugins/*\/nix) and the `nxc init`
 * templates cannot be evaluated here: there is no nixpkgs on nxc's machines. What can be
 * checked without it is checked: every file parses (`nix-instantiate --parse`), and the
 * modules, evaluated with a stub `lib` (fixtures/nixos-modules/option-paths.nix), only set
 * `nxc.*` options that some module declares and only read declared ones.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const checker = fileURLToPath(new URL('./fixtures/nixos-modules/option-paths.nix', import.meta.url));

function nixFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...nixFiles(path));
    else if (entry.name.endsWith('.nix')) out.push(path);
  }
  return out.sort();
}

/** Flavour module per plugin package, with the store its image kind implies. */
const flavourModules = [
  { file: 'plugins/flavour-docker/nix/docker.nix', store: undefined, stage1: false },
  { file: 'plugins/flavour-qemu/nix/vm-ramdisk.nix', store: 'initramfs', stage1: true },
  { file: 'plugins/flavour-qemu/nix/vm.nix', store: '9p', stage1: true },
  { file: 'plugins/flavour-g5k-ramdisk/nix/g5k-ramdisk.nix', store: 'initramfs', stage1: true },
  { file: 'plugins/flavour-g5k-nfs-store/nix/g5k-nfs-store.nix', store: 'nfs', stage1: true },
  { file: 'plugins/flavour-g5k-image/nix/g5k-image.nix', store: 'disk', stage1: true },
] as const;

const sharedModules = ['nix/modules/default.nix', 'nix/lib/nxc-module.nix'];

const ours = [
  ...nixFiles(join(repo, 'nix/modules')),
  ...nixFiles(join(repo, 'nix/templates')),
  ...flavourModules.map((m) => join(repo, m.file)),
  ...nixFiles(fileURLToPath(new URL('./fixtures/nixos-modules/', import.meta.url))),
];

async function parse(file: string): Promise<void> {
  try {
    await run('nix-instantiate', ['--parse', file], { maxBuffer: 16 << 20 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(`${relative(repo, file)} does not parse: ${stderr.trim()}`);
  }
}

interface Report {
  evaluated: boolean;
  declared: string[];
  used: Array<{ file: string; paths: string[]; values: Record<string, unknown> }>;
}

async function check(flavourFiles: string[]): Promise<Report> {
  const list = (files: string[]) => `[ ${files.map((f) => JSON.stringify(f)).join(' ')} ]`;
  const expr = `import ${JSON.stringify(checker)} { sharedModules = map (f: /. + f) ${list(
    sharedModules.map((f) => join(repo, f)),
  )}; flavourModules = map (f: /. + f) ${list(flavourFiles)}; }`;
  const { stdout } = await run('nix-instantiate', ['--eval', '--strict', '--json', '-E', expr], {
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout) as Report;
}

/** Paths set that no declared option covers (an attrsOf option covers the paths below it). */
function undeclaredPaths(report: Report): string[] {
  const declared = report.declared;
  return report.used.flatMap((u) =>
    u.paths
      .filter((p) => !declared.some((d) => p === d || p.startsWith(`${d}.`)))
      .map((p) => `${relative(repo, u.file)}: ${p}`),
  );
}

const temp = mkdtempSync(join(tmpdir(), 'nxc-modules-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe('NixOS modules and templates (no nixpkgs here: parse + stub evaluation)', () => {
  it('ships one module per flavour and the shared modules', () => {
    for (const m of flavourModules) expect(statSync(join(repo, m.file)).isFile()).toBe(true);
    expect(ours.length).toBeGreaterThan(flavourModules.length + 8);
  });

  it('every .nix file parses', async () => {
    await Promise.all(ours.map(parse));
  });

  it('the parse check fails on a broken file', async () => {
    const broken = join(temp, 'broken.nix');
    writeFileSync(broken, '{ config, ... }: { nxc.store.kind = "squashfs" }\n');
    await expect(parse(broken)).rejects.toThrow(/broken\.nix does not parse/);
  });

  it('modules only set and read nxc options that are declared', async () => {
    const report = await check(flavourModules.map((m) => join(repo, m.file)));
    expect(report.evaluated).toBe(true);
    const declared = new Set(report.declared);
    for (const path of ['nxc.store.kind', 'nxc.stage1.enable', 'nxc.ssh.enable', 'nxc.bootScript']) {
      expect(declared).toContain(path);
    }
    expect(undeclaredPaths(report)).toEqual([]);
  });

  it("accepts the original nxc's helpers (nxc.users, nxc.sharedDirs, ...)", async () => {
    const original = fileURLToPath(new URL('./fixtures/nixos-modules/original-helpers.nix', import.meta.url));
    const report = await check([original]);
    expect(report.used.find((u) => u.file === original)?.paths).toContain('nxc.sharedDirs./users.export');
    expect(undeclaredPaths(report)).toEqual([]);
  });

  it.each(flavourModules)('$file picks the store and stage 1 of its image kind', async (m) => {
    const report = await check([join(repo, m.file)]);
    const entry = report.used.find((u) => u.file === join(repo, m.file));
    expect(entry).toBeDefined();
    expect(entry?.values['nxc.store.kind']).toBe(m.store);
    expect(entry?.values['nxc.stage1.enable'] ?? false).toBe(m.stage1);
  });

  it('catches a misspelt option in a flavour module', async () => {
    const typo = join(temp, 'typo.nix');
    writeFileSync(typo, '{ ... }: { nxc.store.knd = "squashfs"; nxc.stage1.enable = true; }\n');
    const report = await check([typo]);
    const entry = report.used.find((u) => u.file === typo);
    expect(entry?.paths).toContain('nxc.store.knd');
    expect(report.declared).not.toContain('nxc.store.knd');
    expect(undeclaredPaths(report)).toEqual([`${relative(repo, typo)}: nxc.store.knd`]);
  });

  it('catches a read of an undeclared option', async () => {
    const bad = join(temp, 'bad-read.nix');
    writeFileSync(bad, '{ config, ... }: { networking.hostName = config.nxc.stage1.hostname; }\n');
    await expect(check([bad])).rejects.toThrow(/attribute 'hostname' missing/);
  });
});
