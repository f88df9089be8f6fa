/**
 * `nxc start --replay` when the recorded compose info is no longer in the Nix store, on the
 * real engine with real Nix: a copy of the demo gains a locked flake input (`extra`, a git
 * repository whose file ends up in every node's /etc), and that input moves on after the
 * record. The replay rebuilds with the recorded lock (the node gets the recorded file back,
 * from the same store paths); a record whose lock names another revision than the one its
 * store paths were built from is refused with the differences, before anything is created.
 */
import { execFileSync } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type DeploymentRecord,
  type Project,
  build,
  composeInfoPath,
  exec,
  isNxcError,
  loadProject,
  start,
  stop,
} from '@nxc/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFLINE_NIX_FLAGS, REPO, TESTOS, demoProject } from '../../../test/fixtures/demo-project.mjs';
import { projectHash } from '../src/labels.js';
import { engineObjects } from './harness.js';

const NIX = [
  '--extra-experimental-features',
  'nix-command flakes',
  '--option',
  'substituters',
  '',
  '--option',
  'sandbox',
  'false',
];
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=test@nxc', '-c', 'user.name=nxc-test', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();

let extraDir: string;
let demo: ReturnType<typeof demoProject>;
let project: Project;
const savedFlags = process.env.NXC_NIX_FLAGS;

/** The extra repository at a new commit holding `value`; returns the commit. */
function commitExtra(value: string): string {
  execFileSync('sh', ['-c', `printf '%s\\n' "$1" > value`, 'sh', value], { cwd: extraDir });
  git(extraDir, 'add', '-A');
  git(extraDir, 'commit', '-qm', value);
  return git(extraDir, 'rev-parse', 'HEAD');
}

/** The demo's lock with `extra` locked at `rev` (as `nix flake lock` would write it). */
function lockAt(rev: string): { nodes: Record<string, { locked?: Record<string, unknown> }> } {
  const out = execFileSync(
    'nix',
    [
      ...NIX,
      'flake',
      'metadata',
      '--json',
      '--override-input',
      'nixpkgs',
      `path:${TESTOS}`,
      '--override-input',
      'nxc',
      `path:${join(REPO, 'nix')}`,
      '--override-input',
      'extra',
      `git+file://${extraDir}?rev=${rev}`,
    ],
    { cwd: demo.dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return JSON.parse(out).locks;
}

async function writeLock(rev: string, message: string): Promise<void> {
  await writeFile(join(demo.dir, 'flake.lock'), `${JSON.stringify(lockAt(rev), null, 2)}\n`);
  demo.commit(message);
}

async function etcExtra(): Promise<string> {
  const [r] = await exec(project, ['server'], ['cat', '/etc/demo-extra'], { flavour: 'docker' });
  expect(r?.exitCode, r?.stderr).toBe(0);
  return (r?.stdout ?? '').trim();
}

let revA: string;
let revB: string;
let first: DeploymentRecord;

beforeAll(async () => {
  process.env.NXC_NIX_FLAGS = OFFLINE_NIX_FLAGS;
  extraDir = await mkdtemp(join(tmpdir(), 'nxc-replay-extra-'));
  git(extraDir, 'init', '-q');
  revA = commitExtra('one');
  demo = demoProject('nxc-docker-replay-lock-');
  const flake = (await readFile(join(demo.dir, 'flake.nix'), 'utf8'))
    .replace(
      'nxc.url = "path:../../nix";',
      `nxc.url = "path:../../nix";\n    extra = { url = "git+file://${extraDir}"; flake = false; };`,
    )
    .replace('outputs = { self, nixpkgs, nxc }:', 'outputs = { self, nixpkgs, nxc, extra }:')
    .replace(
      'composition = ./composition.nix;',
      'composition = ./composition.nix;\n        extraModules = [ { environment.etc."demo-extra".text = builtins.readFile "${extra}/value"; } ];',
    );
  expect(flake).toContain('extraModules');
  await writeFile(join(demo.dir, 'flake.nix'), flake);
  await writeLock(revA, 'an extra input, locked');
  project = await loadProject(demo.dir);
  await build(project, { flavour: 'docker' });
});

afterAll(async () => {
  if (project) await stop(project).catch(() => {});
  demo?.cleanup();
  if (extraDir) await rm(extraDir, { recursive: true, force: true });
  if (savedFlags === undefined) Reflect.deleteProperty(process.env, 'NXC_NIX_FLAGS');
  else process.env.NXC_NIX_FLAGS = savedFlags;
});

describe('docker: replay of a record whose compose info left the store', () => {
  it('rebuilds with the recorded lock: same store paths and uuids, the input at its recorded revision', async () => {
    const started = await start(project, { flavour: 'docker', parameters: { rate: 3 } });
    first = started.record as DeploymentRecord;
    expect(first.flake.inputs.extra?.rev).toBe(revA);
    expect(await etcExtra()).toBe('one');
    await stop(project, { flavour: 'docker' });

    // the input moves on, and the project's lock with it
    revB = commitExtra('two');
    await writeLock(revB, 'extra moves on');
    // the recorded compose info leaves the store (nothing roots it once build/ is gone)
    const storePath = first.composeInfo.storePath as string;
    await rm(composeInfoPath(project, 'composition', 'docker'), { force: true });
    execFileSync('nix-store', ['--delete', storePath], { stdio: ['ignore', 'ignore', 'pipe'] });
    await expect(access(storePath)).rejects.toThrow();

    const replay = await start(project, { replay: first.id });
    const rec = replay.record as DeploymentRecord;
    expect(rec.replayOf).toBe(first.id);
    expect(rec.composeInfoOrigin).toBe('rebuilt');
    expect(rec.composeInfo.storePath).toBe(storePath);
    expect(rec.composeInfo.roles).toEqual(first.composeInfo.roles);
    expect(rec.nodes.map((n) => [n.host, n.uuid])).toEqual(first.nodes.map((n) => [n.host, n.uuid]));
    expect(rec.parameters).toEqual({ rate: 3 });
    // the node has the file of the recorded revision, not of the project's lock now
    expect(await etcExtra()).toBe('one');
    await stop(project, { flavour: 'docker' });
  });

  it('refuses, with the differences, a rebuild that gives other store paths', async () => {
    if (!first || !revB) throw new Error('runs after the first test');
    // the project's lock back at A; a record that says `extra` was locked at B while its store
    // paths are A's, and whose compose info is gone
    await writeLock(revA, 'extra back to one');
    const lockB = lockAt(revB);
    const tampered = structuredClone(first) as DeploymentRecord & { flake: { lock: typeof lockB } };
    tampered.id = '20261201T000000Z-0000beef';
    tampered.composeInfo.storePath = '/nix/store/00000000000000000000000000000000-compose-info-gone.json';
    tampered.flake.lock = lockB;
    const lockedB = lockB.nodes.extra?.locked as Record<string, unknown>;
    tampered.flake.inputs = { ...first.flake.inputs, extra: { ...first.flake.inputs.extra, ...lockedB } };
    const file = join(project.artifactDir, 'composition', 'docker', 'records', `${tampered.id}.json`);
    await writeFile(file, JSON.stringify(tampered), { mode: 0o600 });

    const error = await start(project, { replay: '0000beef' }).catch((e: unknown) => e);
    if (!isNxcError(error)) throw error;
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(
      /^--replay: rebuilding composition::docker with the lock of record 20261201T000000Z-0000beef gives other store paths \(\d+ differences\)$/,
    );
    const lines = (error.details ?? '').split('\n');
    expect(lines[0]).toMatch(
      /^compose info: \/nix\/store\/0{32}-compose-info-gone\.json \(recorded\) -> \/nix\/store\/\S+ \(rebuilt\)$/,
    );
    for (const role of ['client', 'server']) {
      expect(
        lines.some((l) =>
          l.startsWith(`role ${role} system: ${first.composeInfo.roles[role]?.toplevel} -> `),
        ),
      ).toBe(true);
    }
    const input = lines.find((l) => l.startsWith('input extra: '));
    expect(input).toMatch(
      new RegExp(
        `^input extra: type=git url=file://${extraDir}.* rev=${revB.slice(0, 12)} narHash=\\S+ \\(recorded\\) -> type=git url=file://${extraDir}.* rev=${revA.slice(0, 12)} narHash=\\S+ \\(now\\); the rebuild used the recorded one$`,
      ),
    );
    // nothing was created
    expect(await engineObjects(projectHash(project.root))).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
    await expect(access(join(project.deployDir, 'composition::docker.json'))).rejects.toThrow();
  });
});
