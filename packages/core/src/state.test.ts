import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject } from './project.js';
import {
  artifactDir,
  checkName,
  clean,
  composeInfoPath,
  deploymentPath,
  isSafeName,
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

describe('names that become paths', () => {
  const p = makeProject('/home/alice/exp', config);
  it.each([
    ['composition', () => deploymentPath(p, '../../x', 'docker')],
    ['composition', () => composeInfoPath(p, '/etc/passwd', 'docker')],
    ['composition', () => artifactDir(p, '..', 'docker')],
    ['composition', () => statePath(p, 'a::b', 'docker')],
    ['flavour', () => statePath(p, 'composition', '../docker')],
    ['flavour', () => artifactDir(p, 'composition', 'x/../../y')],
    ['flavour', () => deploymentPath(p, 'composition', '')],
  ])('a %s name escaping the state folders is refused with one line', (kind, make) => {
    let error: unknown;
    try {
      make();
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({
      code: 'NXC_USAGE',
      message: expect.stringMatching(new RegExp(`^${kind} name ".*" cannot be used in a file name`)),
    });
    expect((error as Error).message).not.toContain('\n');
  });

  it('accepts the names compositions use', () => {
    expect(checkName('composition', 'k3s_v1.2+x-y')).toBe('k3s_v1.2+x-y');
    expect(isSafeName('.hidden')).toBe(false);
    expect(isSafeName('-rf')).toBe(false);
  });
});
