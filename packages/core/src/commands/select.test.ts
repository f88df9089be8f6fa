import { lutimes, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Project } from '../project.js';
import { listDeployments, selectBuild, selectDeployment } from './select.js';

let root: string;
let project: Project;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'nxc-select-'));
  project = {
    root,
    buildDir: path.join(root, 'build'),
    deployDir: path.join(root, 'deploy'),
    artifactDir: path.join(root, 'artifact'),
    config: {
      plugins: [],
      composition: 'composition.nix',
      nix: { flags: [], overrideInputs: {} },
      flavourOptions: {},
    },
  };
});
afterEach(() => rm(root, { recursive: true, force: true }));

async function link(name: string, ageSeconds: number) {
  await mkdir(project.buildDir, { recursive: true });
  const p = path.join(project.buildDir, name);
  await symlink('/nix/store/does-not-matter', p);
  const t = new Date(Date.now() - ageSeconds * 1000);
  await lutimes(p, t, t);
}

describe('selectBuild', () => {
  it('says to build first when build/ is empty or missing', async () => {
    await expect(selectBuild(project, {})).rejects.toThrow('no build found in build/');
  });
  it('takes the most recent build, narrowed by -C/-f and the default flavour', async () => {
    await link('composition::docker', 30);
    await link('composition::vm-ramdisk', 10);
    await link('other::docker', 20);
    expect((await selectBuild(project, {})).flavour).toBe('vm-ramdisk');
    expect(await selectBuild(project, { flavour: 'docker' })).toMatchObject({
      composition: 'other',
      flavour: 'docker',
    });
    expect(await selectBuild(project, { composition: 'composition', flavour: 'docker' })).toMatchObject({
      composition: 'composition',
    });
    project.config.defaultFlavour = 'docker';
    expect((await selectBuild(project, {})).composition).toBe('other');
  });
  it('lists the builds there are when none matches', async () => {
    await link('composition::docker', 1);
    await expect(selectBuild(project, { flavour: 'vm' })).rejects.toThrow(
      'no build of flavour "vm" in build/ (builds: composition::docker)',
    );
  });
  it('uses the original all-in-one link ::flavour for a named composition', async () => {
    await link('::vm-ramdisk', 1);
    expect(await selectBuild(project, { composition: 'k3s' })).toMatchObject({
      composition: 'k3s',
      flavour: 'vm-ramdisk',
    });
  });
});

describe('selectDeployment', () => {
  async function deployment(name: string, ageSeconds: number) {
    await mkdir(project.deployDir, { recursive: true });
    const p = path.join(project.deployDir, name);
    await writeFile(p, '{}');
    const t = new Date(Date.now() - ageSeconds * 1000);
    await utimes(p, t, t);
  }
  it('picks the only one, ignores state files, refuses to guess among several', async () => {
    await expect(selectDeployment(project, {})).rejects.toThrow('no deployment in deploy/');
    await deployment('composition::docker.json', 5);
    await deployment('composition::docker.state.json', 5);
    expect((await listDeployments(project)).length).toBe(1);
    expect(await selectDeployment(project, {})).toMatchObject({
      composition: 'composition',
      flavour: 'docker',
    });
    await deployment('composition::vm.json', 1);
    await expect(selectDeployment(project, {})).rejects.toThrow(
      'several deployments match: composition::vm, composition::docker',
    );
    expect((await selectDeployment(project, { flavour: 'vm' })).flavour).toBe('vm');
    await expect(selectDeployment(project, { flavour: 'g5k-image' })).rejects.toThrow(
      'no deployment of flavour "g5k-image" (deployments: composition::vm, composition::docker)',
    );
  });
});
