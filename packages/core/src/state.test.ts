import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject } from './project.js';
import {
  artifactDir,
  clean,
  composeInfoPath,
  deploymentPath,
  nixLibDir,
  sshDir,
  statePath,
} from './state.js';

const config = {
  plugins: [],
  composition: 'composition.nix',
  nix: { flags: [], overrideInputs: {} },
  flavourOptions: {},
};
let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'nxc-state-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('state paths', () => {
  const p = makeProject('/home/alice/exp', config);
  it.each([
    [composeInfoPath(p, 'composition', 'docker'), '/home/alice/exp/build/composition::docker'],
    [deploymentPath(p, 'foo', 'vm-ramdisk'), '/home/alice/exp/deploy/foo::vm-ramdisk.json'],
    [statePath(p, 'foo', 'vm-ramdisk'), '/home/alice/exp/deploy/foo::vm-ramdisk.state.json'],
    [artifactDir(p, 'foo', 'g5k-image'), '/home/alice/exp/artifact/foo/g5k-image'],
    [sshDir(p), '/home/alice/exp/.nxc/ssh'],
    [nixLibDir(p), '/home/alice/exp/.nxc/nixlib'],
  ])('%s', (actual, expected) => {
    expect(actual).toBe(expected);
  });
});

describe('clean', () => {
  async function populated(name: string) {
    const root = join(base, name);
    const project = makeProject(root, config);
    await mkdir(join(root, 'build'), { recursive: true });
    await symlink('/nix/store/x-compose-info.json', join(root, 'build/composition::docker'));
    await mkdir(join(root, 'deploy'), { recursive: true });
    await writeFile(deploymentPath(project, 'composition', 'docker'), '{}');
    await mkdir(artifactDir(project, 'composition', 'docker'), { recursive: true });
    await writeFile(join(artifactDir(project, 'composition', 'docker'), 'log'), 'x');
    await mkdir(sshDir(project), { recursive: true });
    await writeFile(join(sshDir(project), 'id_ed25519'), 'k');
    await writeFile(join(root, 'composition.nix'), '{}');
    return { root, project };
  }

  it('removes build links, deploy/ and artifact/, keeps .nxc/ and the sources', async () => {
    const { root, project } = await populated('a');
    const { removed } = await clean(project);
    expect(removed).toEqual([
      join(root, 'build/composition::docker'),
      join(root, 'build'),
      join(root, 'deploy'),
      join(root, 'artifact'),
    ]);
    expect((await readdir(root)).sort()).toEqual(['.nxc', 'composition.nix']);
  });

  it('with all, also .nxc/', async () => {
    const { root, project } = await populated('b');
    await clean(project, { all: true });
    expect(await readdir(root)).toEqual(['composition.nix']);
  });

  it('keeps user files in build/ (and build/ itself then)', async () => {
    const { root, project } = await populated('c');
    await writeFile(join(root, 'build/notes.txt'), 'mine');
    await clean(project);
    expect(await readdir(join(root, 'build'))).toEqual(['notes.txt']);
  });

  it('is a no-op on a clean project', async () => {
    const root = join(base, 'd');
    await mkdir(root);
    expect((await clean(makeProject(root, config), { all: true })).removed).toEqual([]);
  });
});
