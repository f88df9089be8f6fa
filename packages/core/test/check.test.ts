/**
 * `check()` as a library call on a copy of examples/demo: what it returns when Nix cannot run
 * (the other problems are still reported; exit code 2 wins over the environment's 3), and
 * that nothing it checks throws a user mistake.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check } from '../src/check/index.js';
import { loadProject } from '../src/project.js';
import { REPO, TEST_NIX_FLAGS, demoCopy, ensureTestOs } from './demo-project.js';

let demo: ReturnType<typeof demoCopy>;
const savedFlags = process.env.NXC_NIX_FLAGS;

beforeAll(() => {
  ensureTestOs();
  process.env.NXC_NIX_FLAGS = TEST_NIX_FLAGS;
  demo = demoCopy('nxc-check-lib-');
});
afterAll(() => {
  demo?.cleanup();
  if (savedFlags === undefined) Reflect.deleteProperty(process.env, 'NXC_NIX_FLAGS');
  else process.env.NXC_NIX_FLAGS = savedFlags;
});

describe('check() without a usable Nix', () => {
  it('reports Nix missing (exit 3) with the input problems, and exit code 2 overall', async () => {
    const project = await loadProject(demo.dir);
    const result = await check(project, {
      flavour: 'docker',
      nixBin: join(demo.dir, 'no-such-nix'),
      roleFlags: ['server=0'],
      options: { nosuch: 1 },
    });
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => [p.code, p.exitCode])).toEqual([
      ['NXC_DISTRIBUTION', 2],
      ['NXC_USAGE', 2],
      ['NXC_NIX', 3],
    ]);
    expect(result.problems[2]?.message).toMatch(/Nix is not installed/);
    expect(result.exitCode).toBe(2);
    expect(result.targets).toEqual([]);
    expect(existsSync(join(demo.dir, 'build'))).toBe(false);
  });

  it('Nix missing alone: exit code 3 (environment)', async () => {
    const project = await loadProject(demo.dir);
    const result = await check(project, { flavour: 'docker', nixBin: join(demo.dir, 'no-such-nix') });
    expect(result.problems.map((p) => p.code)).toEqual(['NXC_NIX']);
    expect(result.exitCode).toBe(3);
  });

  it('an unknown flavour is one problem, and the distribution is still checked for shape', async () => {
    const project = await loadProject(demo.dir);
    const result = await check(project, { flavour: 'dockr', roleFlags: ['client'] });
    expect(result.problems.map((p) => p.code)).toEqual(['NXC_USAGE', 'NXC_FLAVOUR_UNKNOWN']);
    expect(result.exitCode).toBe(2);
  });
});

describe('check() and nxc.disks (real Nix)', () => {
  it('a role with nxc.disks on a flavour without disk support is one problem among the others', async () => {
    const copy = demoCopy('nxc-check-disks-');
    try {
      // a local flavour plugin: docker's build side, no disk support declared
      writeFileSync(
        join(copy.dir, 'nodisks-flavour.mjs'),
        `export default {
  apiVersion: 2,
  name: 'nodisks-flavour',
  flavours: [{
    name: 'nodisks',
    description: 'docker build side, no nxc.disks',
    build: { image: 'docker', distribution: 'per-role', nixModule: ${JSON.stringify(join(REPO, 'plugins/flavour-docker/nix/docker.nix'))} },
    deployer: () => { throw new Error('not deployed in this test'); },
  }],
};
`,
      );
      const pkgFile = join(copy.dir, 'package.json');
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
      pkg.nxc.plugins.push('./nodisks-flavour.mjs');
      writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
      const file = join(copy.dir, 'composition.nix');
      const text = readFileSync(file, 'utf8').replace(
        'client = { pkgs, ... }: {\n',
        'client = { pkgs, ... }: {\n      nxc.disks = [ { size = "1G"; } ];\n',
      );
      expect(text).toContain('nxc.disks');
      writeFileSync(file, text);
      copy.commit('a local flavour without disks; the clients declare one');
      const project = await loadProject(copy.dir);
      const result = await check(project, {
        flavour: 'nodisks',
        roleFlags: ['client=2'],
        parameters: { 'clinet.rate': 3 },
      });
      expect(result.problems.map((p) => p.message)).toEqual([
        expect.stringMatching(/clinet/),
        'flavour nodisks does not support nxc.disks (role client declares disks)',
      ]);
      expect(result.problems[1]).toMatchObject({
        code: 'NXC_FLAVOUR_UNUSABLE',
        exitCode: 3,
        hint: expect.stringMatching(/remove nxc\.disks/),
      });
      expect(result.exitCode).toBe(2);
      // the same composition on a flavour with disks: no such problem
      const docker = await check(project, { flavour: 'docker', roleFlags: ['client=2'] });
      expect(docker.problems).toEqual([]);
    } finally {
      copy.cleanup();
    }
  }, 300_000);
});
