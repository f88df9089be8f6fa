import { execFileSync } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NxcError } from '../errors.js';
import { makeProject } from '../project.js';
import { flakeMirrorDir, mirrorTree, prepareFlakeSource } from './flake-source.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'nxc-flake-source-'));
  dirs.push(dir);
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}

function listing(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of execFileSync('ls', ['-A', dir], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    const full = join(dir, name);
    if (lstatSync(full).isDirectory()) out.push(...listing(full, base));
    else out.push(relative(base, full));
  }
  return out.sort();
}

const project = (root: string) =>
  makeProject(root, { plugins: [], nix: { overrideInputs: {}, flags: [] }, flavourOptions: {} } as never);

describe('the mirror of a project outside git', () => {
  it("holds the project's sources and none of node_modules, .nxc, deploy, artifact, build", async () => {
    const root = tree({
      'flake.nix': '{}',
      'flake.lock': '{"version":7}',
      'composition.nix': '{}',
      'roles/server.nix': '{}',
      'node_modules/x/index.js': 'x',
      'roles/node_modules/y.js': 'y',
      '.nxc/ssh/id_ed25519': 'PRIVATE KEY',
      'deploy/composition::docker.json': '{}',
      'artifact/composition/docker/log': 'log',
      'build/keep': 'x',
    });
    symlinkSync('roles/server.nix', join(root, 'server-link.nix'));
    const source = await prepareFlakeSource(project(root));
    expect(source).toEqual({
      kind: 'mirror',
      ref: `path:${flakeMirrorDir(project(root))}`,
      root: join(root, '.nxc/source'),
    });
    expect(listing(source.root)).toEqual([
      'composition.nix',
      'flake.lock',
      'flake.nix',
      'roles/server.nix',
      'server-link.nix',
    ]);
    expect(readlinkSync(join(source.root, 'server-link.nix'))).toBe('roles/server.nix');
  });

  it('follows changes file by file and keeps mtimes (Nix hashes and caches by them)', async () => {
    const root = tree({ 'flake.nix': '{}', 'a.nix': 'a', 'old.nix': 'old', 'sub/b.nix': 'b' });
    const mirror = join(root, '.nxc/source');
    expect(await mirrorTree(root, mirror, true)).toBe(4);
    expect(await mirrorTree(root, mirror, true)).toBe(0);
    // to the millisecond (utimes' precision); Nix's lastModified counts seconds
    expect(
      Math.abs(statSync(join(mirror, 'a.nix')).mtimeMs - statSync(join(root, 'a.nix')).mtimeMs),
    ).toBeLessThan(1);
    writeFileSync(join(root, 'a.nix'), 'changed');
    utimesSync(join(root, 'a.nix'), new Date(), new Date(Date.now() + 5000));
    rmSync(join(root, 'old.nix'));
    rmSync(join(root, 'sub'), { recursive: true });
    writeFileSync(join(root, 'sub'), 'now a file');
    expect(await mirrorTree(root, mirror, true)).toBe(3);
    expect(readFileSync(join(mirror, 'a.nix'), 'utf8')).toBe('changed');
    expect(readFileSync(join(mirror, 'sub'), 'utf8')).toBe('now a file');
    expect(listing(mirror)).toEqual(['a.nix', 'flake.nix', 'sub']);
  });

  it('a dry run decides without writing', async () => {
    const root = tree({ 'flake.nix': '{}' });
    const source = await prepareFlakeSource(project(root), { dryRun: true });
    expect(source.kind).toBe('mirror');
    expect(() => statSync(source.root)).toThrow();
  });
});

describe('a project in a git work tree', () => {
  const git = (dir: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.email=t@nxc', '-c', 'user.name=t', ...args], {
      cwd: dir,
      stdio: 'ignore',
    });

  it('is read by Nix through git, from the project directory', async () => {
    const top = tree({
      'exp/flake.nix': '{}',
      'exp/.gitignore': 'node_modules\n',
      'exp/node_modules/x.js': 'x',
    });
    git(top, 'init', '-q');
    git(top, 'add', '-A');
    expect(await prepareFlakeSource(project(join(top, 'exp')))).toEqual({ kind: 'git', ref: '.', root: top });
  });

  it("checks the tracked files again only when git's index changed (a no-op build runs no git)", async () => {
    const root = tree({ 'flake.nix': '{}', '.gitignore': 'build\n', 'build/x': 'x' });
    git(root, 'init', '-q');
    git(root, 'add', '-A');
    const p = project(root);
    expect((await prepareFlakeSource(p)).kind).toBe('git');
    // the index is unchanged: no git needed (with none on the PATH, running it would fail)
    const path = process.env.PATH;
    process.env.PATH = mkdtempSync(join(tmpdir(), 'nxc-no-git-'));
    dirs.push(process.env.PATH);
    try {
      expect((await prepareFlakeSource(p)).kind).toBe('git');
    } finally {
      process.env.PATH = path;
    }
    // `git add -f build` rewrites the index: the next build looks again and refuses
    git(root, 'add', '-f', 'build/x');
    const error = await prepareFlakeSource(p).catch((e: unknown) => e);
    expect((error as NxcError).message).toMatch(/^build\/ is tracked by git/);
  });

  it.each([
    ['build/composition::docker', 'build'],
    ['.nxc/nixlib/flake.nix', '.nxc'],
    ['lib/node_modules/x/index.js', 'lib/node_modules'],
  ])('refuses to build while git tracks %s, with the command that untracks it', async (file, folder) => {
    const root = tree({ 'flake.nix': '{}', [file]: 'x' });
    git(root, 'init', '-q');
    git(root, 'add', '-A');
    const error = await prepareFlakeSource(project(root)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NxcError);
    expect((error as NxcError).code).toBe('NXC_PROJECT');
    expect((error as NxcError).message).toBe(
      `${folder}/ is tracked by git in ${root}: Nix would copy it into the store with the project's sources at every build`,
    );
    expect((error as NxcError).hint).toBe(
      `stop tracking it: git rm -r -q --cached ${folder} && echo '/${folder}/' >> .gitignore`,
    );
  });
});
