import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixOverrideInputArgs } from './config.js';
import { NxcError } from './errors.js';
import { loadProject } from './project.js';

let base: string;
let n = 0;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'nxc-project-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A fresh directory tree: { 'path/in/tree': content }. */
async function tree(files: Record<string, string>): Promise<string> {
  const root = join(base, `p${n++}`);
  await mkdir(root, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}

async function failure(p: Promise<unknown>): Promise<NxcError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NxcError);
  return error as NxcError;
}

const defaults = {
  plugins: [],
  composition: 'composition.nix',
  nix: { flags: [], overrideInputs: {} },
  flavourOptions: {},
};

describe('loadProject: config formats', () => {
  it.each([
    ['nxc.config.json', '{"plugins": ["@nxc/flavour-docker"]}'],
    ['nxc.config.yaml', 'plugins:\n  - "@nxc/flavour-docker"\n'],
    ['nxc.config.yml', 'plugins: ["@nxc/flavour-docker"]\n'],
    ['nxc.config.mjs', "export default { plugins: ['@nxc/flavour-docker'] };\n"],
    ['nxc.config.js', "export default { plugins: ['@nxc/flavour-docker'] };\n"],
    ['.nxcrc', 'plugins: ["@nxc/flavour-docker"]\n'],
    ['.nxcrc.json', '{"plugins": ["@nxc/flavour-docker"]}'],
    ['.nxcrc.yaml', 'plugins: ["@nxc/flavour-docker"]\n'],
    ['.nxcrc.yml', 'plugins: ["@nxc/flavour-docker"]\n'],
    ['.nxcrc.mjs', "export default { plugins: ['@nxc/flavour-docker'] };\n"],
    ['.nxcrc.js', "export default { plugins: ['@nxc/flavour-docker'] };\n"],
    ['package.json', '{"name": "x", "type": "module", "nxc": {"plugins": ["@nxc/flavour-docker"]}}'],
    [
      'nxc.config.ts',
      "import type { NxcUserConfig } from '@nxc/core';\nconst plugins: string[] = ['@nxc/flavour-docker'];\nconst config: NxcUserConfig = { plugins };\nexport default config;\n",
    ],
  ])('%s', async (name, content) => {
    const root = await tree({
      [name]: content,
      ...(name.endsWith('.js') ? { 'package.json': '{"type":"module"}' } : {}),
    });
    const project = await loadProject(root);
    expect(project.root).toBe(root);
    expect(project.configFile).toBe(join(root, name));
    expect(project.config).toEqual({ ...defaults, plugins: ['@nxc/flavour-docker'] });
    expect(project.buildDir).toBe(join(root, 'build'));
    expect(project.deployDir).toBe(join(root, 'deploy'));
    expect(project.artifactDir).toBe(join(root, 'artifact'));
  });

  it('a full config, normalized', async () => {
    const root = await tree({
      'nxc.config.json': JSON.stringify({
        plugins: ['./local-flavour.mjs'],
        composition: 'compositions.nix',
        defaultFlavour: 'vm',
        nix: { flags: ['--offline'], overrideInputs: { nxc: '../nxc' } },
        flavourOptions: { docker: { network: 'bridge' } },
      }),
    });
    const { config } = await loadProject(root);
    expect(config).toEqual({
      plugins: ['./local-flavour.mjs'],
      composition: 'compositions.nix',
      defaultFlavour: 'vm',
      nix: { flags: ['--offline'], overrideInputs: { nxc: '../nxc' } },
      flavourOptions: { docker: { network: 'bridge' } },
    });
  });

  it('a config exporting a (async) function', async () => {
    const root = await tree({
      'nxc.config.mjs': "export default async () => ({ defaultFlavour: 'docker' });\n",
    });
    expect((await loadProject(root)).config.defaultFlavour).toBe('docker');
  });

  it('an empty config file is an empty config', async () => {
    const root = await tree({ 'nxc.config.yaml': '', 'sub/x': '' });
    const project = await loadProject(join(root, 'sub'));
    expect(project.root).toBe(root);
    expect(project.config).toEqual(defaults);
  });
});

describe('loadProject: legacy nxc.json', () => {
  it('reads composition and default_flavour (platform ignored)', async () => {
    const root = await tree({
      'nxc.json': '{"composition": "composition.nix", "default_flavour": "vm", "platform": "Grid5000"}',
    });
    const project = await loadProject(root);
    expect(project.configFile).toBeUndefined();
    expect(project.legacyConfigFile).toBe(join(root, 'nxc.json'));
    expect(project.config).toEqual({ ...defaults, defaultFlavour: 'vm' });
  });

  it('null default_flavour = none', async () => {
    const root = await tree({ 'nxc.json': '{"composition": "c.nix", "default_flavour": null}' });
    expect((await loadProject(root)).config).toEqual({ ...defaults, composition: 'c.nix' });
  });

  it('is merged with an explicit config, which wins', async () => {
    const root = await tree({
      'nxc.json': '{"composition": "old.nix", "default_flavour": "vm"}',
      'nxc.config.yaml': 'defaultFlavour: docker\nplugins: ["@nxc/flavour-docker"]\n',
    });
    const project = await loadProject(root);
    expect(project.config).toEqual({
      ...defaults,
      plugins: ['@nxc/flavour-docker'],
      composition: 'old.nix',
      defaultFlavour: 'docker',
    });
    expect(project.configFile).toBe(join(root, 'nxc.config.yaml'));
    expect(project.legacyConfigFile).toBe(join(root, 'nxc.json'));
  });

  it('a symlinked nxc.json designates the directory it points into', async () => {
    const root = await tree({
      'real/nxc.json': '{"composition": "composition.nix"}',
      'real/flake.nix': '{}',
      'elsewhere/x': '',
    });
    await symlink(join(root, 'real/nxc.json'), join(root, 'elsewhere/nxc.json'));
    expect((await loadProject(join(root, 'elsewhere'))).root).toBe(join(root, 'real'));
  });
});

describe('loadProject: finding the root', () => {
  it('walks up from a subdirectory to the config', async () => {
    const root = await tree({ 'nxc.config.json': '{}', 'flake.nix': '{}', 'a/b/c/x': '' });
    expect((await loadProject(join(root, 'a/b/c'))).root).toBe(root);
  });

  it('the nearest config wins over a parent one', async () => {
    const root = await tree({
      'nxc.config.json': '{"defaultFlavour": "vm"}',
      'sub/.nxcrc.json': '{"defaultFlavour": "docker"}',
    });
    const project = await loadProject(join(root, 'sub'));
    expect(project.root).toBe(join(root, 'sub'));
    expect(project.config.defaultFlavour).toBe('docker');
  });

  it('a package.json without an nxc key is not a config', async () => {
    const root = await tree({
      'nxc.config.json': '{"defaultFlavour": "vm"}',
      'sub/package.json': '{"name": "other"}',
    });
    expect((await loadProject(join(root, 'sub'))).root).toBe(root);
  });

  it('without config: the nearest flake.nix', async () => {
    const root = await tree({ 'flake.nix': '{}', 'a/b/x': '' });
    const project = await loadProject(join(root, 'a/b'));
    expect(project.root).toBe(root);
    expect(project.configFile).toBeUndefined();
    expect(project.config).toEqual(defaults);
  });

  it('without config nor flake: cwd', async () => {
    const root = await tree({ 'a/x': '' });
    expect((await loadProject(join(root, 'a'))).root).toBe(join(root, 'a'));
  });

  it('a cwd that does not exist', async () => {
    const error = await failure(loadProject(join(base, 'nope')));
    expect(error.code).toBe('NXC_PROJECT');
    expect(error.message).toMatch(/nope is not a directory \(ENOENT\)/);
  });
});

describe('loadProject on a shared machine: configs other users can write are never loaded', () => {
  // `nobody` stands for another user of the machine (the tests run as root, who can chown).
  const NOBODY = 65534;
  const evil = (marker: string) =>
    `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport default {};\n`;
  const asRoot = () => {
    if (process.getuid?.() !== 0) throw new Error('these tests need root (to chown files to nobody)');
  };

  it.each(['nxc.config.mjs', 'nxc.config.js', '.nxcrc.mjs', 'nxc.config.ts'])(
    "another user's %s in a parent folder does not run",
    async (name) => {
      asRoot();
      const root = await tree({ 'work/me/exp/x': '' });
      const marker = join(root, 'RAN');
      await writeFile(join(root, 'work', name), evil(marker));
      await chown(join(root, 'work', name), NOBODY, NOBODY);
      const error = await failure(loadProject(join(root, 'work/me/exp')));
      expect(error.code).toBe('NXC_CONFIG');
      expect(error.message).toBe(
        `${join(root, 'work', name)}: belongs to user nobody (uid ${NOBODY}): nxc does not load a config that another user can write (it would run as you)`,
      );
      expect(error.hint).toMatch(/own config .* or flake\.nix so the search stops there/);
      expect(existsSync(marker)).toBe(false);
    },
  );

  it.each([
    ['nxc.config.json', '{"plugins": ["./evil.mjs"]}'],
    ['.nxcrc', 'plugins: ["./evil.mjs"]\n'],
    ['package.json', '{"nxc": {"plugins": ["./evil.mjs"]}}'],
    ['nxc.json', '{"composition": "/tmp/evil.nix"}'],
  ])("another user's data config %s (naming plugins or files) is refused too", async (name, content) => {
    asRoot();
    const root = await tree({ [`shared/${name}`]: content, 'shared/me/x': '' });
    await chown(join(root, 'shared', name), NOBODY, NOBODY);
    const error = await failure(loadProject(join(root, 'shared/me')));
    expect(error.code).toBe('NXC_CONFIG');
    expect(error.message).toMatch(/: belongs to user nobody \(uid 65534\): nxc does not load a config/);
  });

  it('a config of yours that others can write is refused; a private group may write it', async () => {
    asRoot();
    const root = await tree({ 'nxc.config.json': '{}' });
    await chmod(join(root, 'nxc.config.json'), 0o666);
    expect((await failure(loadProject(root))).message).toMatch(
      /nxc\.config\.json: can be changed by every user \(mode o\+w\)/,
    );
    await chmod(join(root, 'nxc.config.json'), 0o664);
    await chown(join(root, 'nxc.config.json'), 0, NOBODY);
    expect((await failure(loadProject(root))).message).toMatch(
      /can be changed by the members of group 65534 \(mode g\+w\)/,
    );
    // root's group has root alone as member here: a private group, as `umask 002` systems give
    await chown(join(root, 'nxc.config.json'), 0, 0);
    expect((await loadProject(root)).configFile).toBe(join(root, 'nxc.config.json'));
  });

  it('a config in a folder others can write (not sticky) is refused; sticky like /tmp is fine', async () => {
    asRoot();
    const root = await tree({ 'open/nxc.config.json': '{}', 'sticky/nxc.config.json': '{}' });
    await chmod(join(root, 'open'), 0o777);
    await chmod(join(root, 'sticky'), 0o1777);
    expect((await failure(loadProject(join(root, 'open')))).message).toMatch(
      /open\/nxc\.config\.json: its folder .*open can be changed by every user/,
    );
    expect((await loadProject(join(root, 'sticky'))).configFile).toBe(join(root, 'sticky/nxc.config.json'));
  });

  it("the search does not enter another user's folder", async () => {
    asRoot();
    const root = await tree({ 'nxc.config.mjs': evil(join(base, 'NEVER')), 'bob/alice/exp/x': '' });
    await chown(join(root, 'bob'), NOBODY, NOBODY);
    const project = await loadProject(join(root, 'bob/alice/exp'));
    expect(project.root).toBe(join(root, 'bob/alice/exp'));
    expect(project.configFile).toBeUndefined();
  });

  it("a project's flake.nix stops the search before a parent's config", async () => {
    asRoot();
    const root = await tree({ 'exp/flake.nix': '{}', 'exp/sub/x': '' });
    const marker = join(root, 'RAN');
    await writeFile(join(root, 'nxc.config.mjs'), evil(marker));
    await chown(join(root, 'nxc.config.mjs'), NOBODY, NOBODY);
    expect((await loadProject(join(root, 'exp/sub'))).root).toBe(join(root, 'exp'));
    expect(existsSync(marker)).toBe(false);
  });
});

describe('loadProject: config errors name the file and the key', () => {
  it.each([
    ['nxc.config.json', '{"plugin": ["x"]}', /nxc.config.json: unknown key "plugin"$/],
    ['nxc.config.yaml', 'nix:\n  flag: []\n', /nxc.config.yaml: nix: unknown key "flag"$/],
    ['.nxcrc.json', '{"plugins": "x"}', /.nxcrc.json: plugins: expected array, got string$/],
    ['nxc.config.json', '{"plugins": [""]}', /plugins\[0\]: a plugin name cannot be empty$/],
    [
      'nxc.config.json',
      '{"flavourOptions": {"docker": 3}}',
      /flavourOptions.docker: expected object, got number$/,
    ],
    ['nxc.config.json', '[1]', /nxc.config.json: expected an object \(the config\), got a list$/],
    ['package.json', '{"nxc": {"plugins": [], "colour": 1}}', /package.json: nxc: unknown key "colour"$/],
    ['package.json', '{"nxc": 3}', /package.json: nxc: expected an object/],
    ['nxc.config.json', '{"plugins": [', /nxc.config.json: cannot load it: /],
    ['nxc.config.yaml', 'plugins: [\n', /nxc.config.yaml: cannot load it: unexpected end of the stream/],
    ['nxc.config.mjs', '\nexport default {;\n', /nxc.config.mjs: cannot load it: \S/],
    ['nxc.config.ts', 'const x: = 1;\nexport default {};\n', /nxc.config.ts:1: /],
    ['nxc.json', '{"composition": 3}', /nxc.json: composition: expected string, got number$/],
    ['nxc.json', '{"composition": ', /nxc.json: not valid JSON/],
  ])('%s %s', async (name, content, expected) => {
    const root = await tree({ [name]: content });
    const error = await failure(loadProject(root));
    expect(error.code).toBe('NXC_CONFIG');
    expect(error.message).toMatch(expected);
    expect(error.message).not.toContain('\n');
    expect(error.hint).toBeTruthy();
  });

  it.each([
    [
      '{"flavour": "docker"}',
      'did you mean "defaultFlavour"? known keys: plugins, composition, defaultFlavour, nix {flags, overrideInputs}, flavourOptions',
    ],
    ['{"default_flavour": "docker"}', /^did you mean "defaultFlavour"\?/],
    ['{"plugin": []}', /^did you mean "plugins"\?/],
    ['{"colour": 1}', /^known keys: plugins/],
    ['{"nix": {"flag": []}}', 'did you mean "flags"? known keys: flags, overrideInputs'],
  ])('unknown key %s -> hint', async (content, hint) => {
    const error = await failure(loadProject(await tree({ 'nxc.config.json': content })));
    if (typeof hint === 'string') expect(error.hint).toBe(hint);
    else expect(error.hint).toMatch(hint);
  });
});

describe('loadProject: two configs in one folder', () => {
  it.each([
    [{ 'nxc.config.ts': 'export default {};\n', 'nxc.config.json': '{}' }, 'nxc.config.ts, nxc.config.json'],
    [
      { '.nxcrc.yaml': 'plugins: []\n', 'nxc.config.mjs': 'export default {};\n' },
      '.nxcrc.yaml, nxc.config.mjs',
    ],
    [
      { 'package.json': '{"name": "x", "nxc": {}}', '.nxcrc.json': '{}' },
      'package.json ("nxc" key), .nxcrc.json',
    ],
  ])('%o is refused, naming both', async (files, named) => {
    const root = await tree(files);
    const error = await failure(loadProject(root));
    expect(error.code).toBe('NXC_CONFIG');
    expect(error.message).toBe(
      `${root}: two nxc configs in one folder (${named}); nxc would read only the first`,
    );
    expect(error.hint).toMatch(/^keep one of them/);
  });

  it('nxc.json beside one config, or a package.json without an "nxc" key, is not a second config', async () => {
    const root = await tree({
      'package.json': '{"name": "x"}',
      'nxc.json': '{"composition": "c.nix"}',
      'nxc.config.json': '{"defaultFlavour": "docker"}',
    });
    const project = await loadProject(root);
    expect(project.config).toMatchObject({ composition: 'c.nix', defaultFlavour: 'docker' });
  });
});

describe('nixOverrideInputArgs', () => {
  it.each([
    [{ nxc: '../nxc' }, ['--override-input', 'nxc', 'path:/p/nxc']],
    [{ nxc: './vendor/nxc' }, ['--override-input', 'nxc', 'path:/p/proj/vendor/nxc']],
    [{ nxc: '/abs/nxc' }, ['--override-input', 'nxc', 'path:/abs/nxc']],
    [
      { nixpkgs: 'github:NixOS/nixpkgs/nixos-24.05' },
      ['--override-input', 'nixpkgs', 'github:NixOS/nixpkgs/nixos-24.05'],
    ],
    [{ a: 'path:/x', b: '.' }, ['--override-input', 'a', 'path:/x', '--override-input', 'b', 'path:/p/proj']],
  ])('%j', (inputs, expected) => {
    expect(nixOverrideInputArgs('/p/proj', inputs)).toEqual(expected);
  });
});
