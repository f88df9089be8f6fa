import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isNxcError } from '../errors.js';
import { DEFAULT_TEMPLATE, defaultTemplatesDir, init, listTemplates } from './init.js';

// The Nix checks need Nix (scripts/setup.sh installs it): fail loudly rather than skip.
function requireNix(): void {
  try {
    execFileSync('nix-instantiate', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'nix-instantiate is not on the PATH: install Nix (scripts/setup.sh does) to check the templates',
    );
  }
}

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'nxc-init-'));
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('listTemplates', () => {
  it('lists the shipped templates with one-line descriptions', async () => {
    const templates = await listTemplates();
    expect(templates.map((t) => t.name)).toEqual(['basic', 'client-server', 'dfs', 'k3s', 'nfs']);
    for (const t of templates) {
      expect(t.description).toMatch(/^\S.*\S$/);
      expect(t.description).not.toContain('\n');
      expect(existsSync(join(t.path, 'composition.nix'))).toBe(true);
    }
    expect(templates.map((t) => t.name)).toContain(DEFAULT_TEMPLATE);
  });

  it('finds nix/templates from the package', () => {
    expect(existsSync(join(defaultTemplatesDir(), 'templates.json'))).toBe(true);
  });
});

describe('init', () => {
  it.each(['basic', 'client-server', 'dfs', 'k3s', 'nfs'])(
    'copies template %s into a new directory',
    async (name) => {
      const dir = join(work, 'project', name);
      const result = await init({ dir, template: name });
      expect(result.template).toBe(name);
      expect(result.files).toEqual(['.gitignore', 'composition.nix', 'flake.nix', 'nxc.json']);
      expect(result.overwritten).toEqual([]);
      expect(result.merged).toEqual([]);
      expect(readdirSync(dir).sort()).toEqual(result.files);
      // nxc's state, keys' old home included, stays out of git
      const ignored = readFileSync(join(dir, '.gitignore'), 'utf8').split('\n');
      for (const entry of ['build/', 'deploy/', 'artifact/', '.nxc/']) expect(ignored).toContain(entry);

      const nxcJson = JSON.parse(readFileSync(join(dir, 'nxc.json'), 'utf8')) as Record<string, unknown>;
      expect(nxcJson.composition).toBe('composition.nix');
      expect(typeof nxcJson.default_flavour).toBe('string');

      const flake = readFileSync(join(dir, 'flake.nix'), 'utf8');
      expect(flake).toMatch(/nixpkgs\.url = "github:NixOS\/nixpkgs\/nixos-\d\d\.\d\d"/);
      expect(flake).toContain('nxc.url =');
      expect(flake).toContain('nxc.lib.compose');

      const composition = readFileSync(join(dir, 'composition.nix'), 'utf8');
      expect(composition).toContain('roles = {');
      expect(composition).toContain('testScript');

      // the user's copy is writable even when the templates are not (Nix store install)
      expect(statSync(join(dir, 'flake.nix')).mode & 0o200).toBe(0o200);
    },
  );

  it("names the running @nxc/core's npm tarball as the nxc input (its nix/ folder)", async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    for (const name of ['basic', 'client-server', 'dfs', 'k3s', 'nfs']) {
      const dir = join(work, name);
      await init({ dir, template: name });
      const flake = readFileSync(join(dir, 'flake.nix'), 'utf8');
      const urls = [...flake.matchAll(/^\s*nxc\.url = "([^"]*)";/gm)].map((m) => m[1]);
      expect(urls, name).toEqual([`https://registry.npmjs.org/@nxc/core/-/core-${version}.tgz?dir=nix`]);
      // the comment says the URL is only for plain Nix commands
      expect(flake, name).toContain('`nxc build` always replaces this input');
      expect(flake, name).not.toMatch(/oar-team|@NXC_CORE_VERSION@/);
    }
  });

  it('writes Nix files that parse', async () => {
    requireNix();
    for (const name of ['basic', 'client-server', 'dfs', 'k3s', 'nfs']) {
      const dir = join(work, name);
      await init({ dir, template: name });
      for (const file of ['flake.nix', 'composition.nix']) {
        execFileSync('nix-instantiate', ['--parse', join(dir, file)], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
      }
    }
  });

  it('flake and composition evaluate (stub nixpkgs and nxc): roles, testScript, counts', async () => {
    requireNix();
    // No nixpkgs here: evaluate the structure with stubs, real NixOS type-checks the rest.
    const expected: Record<string, { roles: string[]; distribution?: Record<string, number> }> = {
      basic: { roles: ['node'] },
      'client-server': { roles: ['client', 'server'] },
      dfs: { roles: ['client', 'storage'], distribution: { client: 1, storage: 3 } },
      k3s: { roles: ['agent', 'server'], distribution: { agent: 2 } },
      nfs: { roles: ['client', 'server'], distribution: { client: 2 } },
    };
    for (const [name, want] of Object.entries(expected)) {
      const dir = join(work, name);
      await init({ dir, template: name });
      const expr = `
        let
          pkgs = builtins.mapAttrs (n: v: "/nix/store/stub-\${n}") { hello = 1; curl = 1; k3s = 1; gzip = 1; }
            // { writeTextDir = path: text: "/nix/store/stub-dir"; };
          flake = import ${dir}/flake.nix;
          outputs = flake.outputs { self = { }; nixpkgs = "nixpkgs-stub"; nxc = { lib.compose = args: args; }; };
          call = outputs.packages.x86_64-linux;
          spec = import call.composition { inherit pkgs; lib = { }; };
        in {
          inputs = builtins.attrNames flake.inputs;
          nixpkgs = call.nixpkgs;
          system = call.system;
          roles = builtins.attrNames spec.roles;
          configs = builtins.mapAttrs (r: m: builtins.attrNames (m { inherit pkgs; lib = { }; config = { }; })) spec.roles;
          testScript = spec.testScript;
          distribution = spec.rolesDistribution or null;
        }`;
      const out = execFileSync('nix-instantiate', ['--eval', '--strict', '--json', '-E', expr], {
        encoding: 'utf8',
      });
      const got = JSON.parse(out) as {
        inputs: string[];
        nixpkgs: string;
        system: string;
        roles: string[];
        configs: Record<string, string[]>;
        testScript: string;
        distribution: Record<string, number> | null;
      };
      expect(got.inputs).toEqual(['nixpkgs', 'nxc']);
      expect(got.nixpkgs).toBe('nixpkgs-stub');
      expect(got.system).toBe('x86_64-linux');
      expect(got.roles).toEqual(want.roles);
      for (const role of want.roles) expect(got.configs[role]?.length).toBeGreaterThan(0);
      expect(got.testScript).toContain('start_all()');
      expect(got.distribution).toEqual(want.distribution ?? null);
      // every role is named in the test script (as an object or through roles["..."])
      for (const role of want.roles) expect(got.testScript).toMatch(new RegExp(`\\b${role}\\b`));
    }
  });

  it('k3s agents join the server by hostname, nfs clients mount from it', async () => {
    await init({ dir: join(work, 'k3s'), template: 'k3s' });
    const k3s = readFileSync(join(work, 'k3s', 'composition.nix'), 'utf8');
    expect(k3s).toContain('serverAddr = "https://server:6443"');
    expect(k3s).toMatch(/role = "server"/);
    expect(k3s).toMatch(/role = "agent"/);
    await init({ dir: join(work, 'nfs'), template: 'nfs' });
    const nfs = readFileSync(join(work, 'nfs', 'composition.nix'), 'utf8');
    expect(nfs).toContain('services.nfs.server');
    expect(nfs).toContain('device = "server:/srv/shared"');
  });

  it('defaults to the basic template and accepts an existing empty directory', async () => {
    const result = await init({ dir: work });
    expect(result.template).toBe('basic');
    expect(existsSync(join(work, 'composition.nix'))).toBe(true);
  });

  it('refuses to overwrite: one line naming the first conflicting file, nothing written', async () => {
    writeFileSync(join(work, 'flake.nix'), 'mine\n');
    const error = await rejection(init({ dir: work, template: 'k3s' }));
    expect(isNxcError(error)).toBe(true);
    if (!isNxcError(error)) return;
    expect(error.code).toBe('NXC_USAGE');
    expect(error.message).toBe(`${join(work, 'flake.nix')} already exists; nxc init never overwrites files`);
    expect(error.message).not.toContain('\n');
    expect(error.hint).toContain('--force');
    // nothing written: the conflicting file is untouched and no other file appeared
    expect(readdirSync(work)).toEqual(['flake.nix']);
    expect(readFileSync(join(work, 'flake.nix'), 'utf8')).toBe('mine\n');
  });

  it('names the first conflict in file order', async () => {
    writeFileSync(join(work, 'nxc.json'), '{}');
    writeFileSync(join(work, 'composition.nix'), '{}');
    const error = await rejection(init({ dir: work }));
    expect((error as Error).message).toContain(join(work, 'composition.nix'));
    expect(readdirSync(work).sort()).toEqual(['composition.nix', 'nxc.json']);
  });

  it("adds nxc's state folders to an existing .gitignore (an original nxc project) instead of refusing", async () => {
    // the original nxc's projects ignore nothing of nxc: `git add -A` committed .nxc/
    writeFileSync(join(work, '.gitignore'), 'result\n*.swp');
    const result = await init({ dir: work, template: 'basic' });
    expect(result.merged).toEqual(['.gitignore']);
    expect(result.overwritten).toEqual([]);
    const lines = readFileSync(join(work, '.gitignore'), 'utf8').split('\n');
    expect(lines.slice(0, 2)).toEqual(['result', '*.swp']);
    for (const entry of ['build/', 'deploy/', 'artifact/', '.nxc/']) expect(lines).toContain(entry);
    // a second init (with force for the other files) adds nothing twice
    const before = readFileSync(join(work, '.gitignore'), 'utf8');
    await init({ dir: work, template: 'basic', force: true });
    expect(readFileSync(join(work, '.gitignore'), 'utf8')).toBe(before);
  });

  it('overwrites with force and says which files it replaced', async () => {
    writeFileSync(join(work, 'flake.nix'), 'mine\n');
    const result = await init({ dir: work, template: 'basic', force: true });
    expect(result.overwritten).toEqual(['flake.nix']);
    expect(readFileSync(join(work, 'flake.nix'), 'utf8')).toContain('nxc.lib.compose');
  });

  it('refuses a directory where the template writes a file, even with force', async () => {
    mkdirSync(join(work, 'flake.nix'));
    const error = await rejection(init({ dir: work, force: true }));
    expect((error as Error).message).toBe(
      `${join(work, 'flake.nix')} is a directory; template "basic" writes a file there`,
    );
    expect(readdirSync(work)).toEqual(['flake.nix']);
  });

  it('refuses a target that is a file', async () => {
    const file = join(work, 'afile');
    writeFileSync(file, 'x');
    const error = await rejection(init({ dir: file }));
    expect(isNxcError(error) && error.code).toBe('NXC_USAGE');
    expect((error as Error).message).toBe(`${file} is a file, not a directory`);
  });

  it('lists the templates when the name is unknown', async () => {
    const error = await rejection(init({ dir: join(work, 'p'), template: 'k8s' }));
    expect(isNxcError(error)).toBe(true);
    expect((error as Error).message).toBe(
      'unknown template "k8s" (templates: basic, client-server, dfs, k3s, nfs)',
    );
    expect(existsSync(join(work, 'p'))).toBe(false);
  });

  it('leaves nothing behind when copying fails half-way', async () => {
    // A template whose second file is a dangling link: the first file is written, the
    // second read fails (as root too), and everything created must be removed.
    const templates = join(work, 'templates');
    mkdirSync(join(templates, 'broken', 'sub'), { recursive: true });
    writeFileSync(join(templates, 'templates.json'), JSON.stringify({ broken: 'a broken template' }));
    writeFileSync(join(templates, 'broken', 'a.nix'), '{ }');
    symlinkSync(join(templates, 'missing'), join(templates, 'broken', 'sub', 'b.nix'));
    const dir = join(work, 'out', 'project');
    const error = await rejection(init({ dir, template: 'broken', templatesDir: templates }));
    expect(isNxcError(error) && error.code).toBe('NXC_IO');
    expect((error as Error).message).not.toContain('\n');
    expect(existsSync(join(work, 'out'))).toBe(false);

    // in an existing directory: its own files stay, ours go
    const existing = join(work, 'existing');
    mkdirSync(existing);
    writeFileSync(join(existing, 'notes.txt'), 'keep me');
    await rejection(init({ dir: existing, template: 'broken', templatesDir: templates }));
    expect(readdirSync(existing)).toEqual(['notes.txt']);
  });

  it('adds new files to git as intent-to-add inside a work tree', async () => {
    execFileSync('git', ['init', '-q', work]);
    const result = await init({ dir: join(work, 'exp'), template: 'basic' });
    expect(result.gitAdded).toBe(true);
    const status = execFileSync('git', ['-C', work, 'status', '--porcelain'], { encoding: 'utf8' });
    expect(status).toContain(' A exp/flake.nix');
    expect(status).toContain(' A exp/composition.nix');
  });

  it('does not touch git outside a work tree', async () => {
    const result = await init({ dir: join(work, 'plain'), template: 'basic' });
    expect(result.gitAdded).toBe(false);
  });
});
