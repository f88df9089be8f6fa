/**
 * `nxc build` on a machine whose Nix cannot build, each case reproduced for real with
 * Nix 2.8 (a nix.conf naming a group that does not exist, features turned off, no daemon,
 * a store the user may not write, no network, a file git does not track): the real `nxc`
 * exits non-zero with one `error:` line saying what is wrong and one `hint:` line with the fix.
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  lchownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withRepoReachable } from './support/repo-reachable.js';
import {
  OFFLINE_NIX_FLAGS,
  REPO,
  type UserProject,
  messages,
  prerequisites,
  runNxc,
  userProject,
} from './support/user-project.js';

const projects: UserProject[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'nxc-nix-env-'));
const project = (opts: Parameters<typeof userProject>[0] = {}) => {
  const p = userProject(opts);
  projects.push(p);
  return p;
};

beforeAll(() => prerequisites());
afterAll(() => {
  for (const p of projects) p.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

/** The two lines a user sees, and nothing else (no stack, no Nix log). */
function expectOneError(stderr: string, error: RegExp, hint: RegExp): void {
  const lines = messages(stderr);
  expect(lines, stderr).toHaveLength(2);
  expect(lines[0]).toMatch(error);
  expect(lines[1]).toMatch(hint);
}

describe('the machine: build users, features, store, daemon', () => {
  it('build-users-group names a group that does not exist: one line naming the group, the hint creates it', async () => {
    const p = project({ git: true });
    p.touch(); // something to build: Nix checks the group only when it builds
    const group = `nxc-nogroup-${process.pid}`;
    const confDir = join(scratch, 'conf');
    mkdirSync(confDir, { recursive: true });
    writeFileSync(join(confDir, 'nix.conf'), `build-users-group = ${group}\n`);
    const r = await runNxc(p.dir, ['build', '-f', 'docker'], {
      NIX_CONF_DIR: confDir,
      NXC_NIX_FLAGS: "--option substituters ''",
    });
    expect(r.code).toBe(3);
    expectOneError(
      r.stderr,
      new RegExp(
        `^error: building composition::docker: Nix builds as the users of group '${group}' .*does not exist$`,
      ),
      new RegExp(
        `^hint: create the group and its build users as root: groupadd -r ${group} && for i in \\$\\(seq 1 8\\); do useradd -r -g ${group} -G ${group} `,
      ),
    );
    // nothing half-created: not even the empty build/ this build made
    expect(existsSync(join(p.dir, 'build'))).toBe(false);
  });

  it("flakes turned off by the project's nix.flags: the hint names that config file", async () => {
    const p = project({ git: true });
    const file = join(p.dir, 'package.json');
    const pkg = JSON.parse(readFileSync(file, 'utf8'));
    pkg.nxc.nix.flags = ['--option', 'experimental-features', 'nix-command'];
    writeFileSync(file, JSON.stringify(pkg));
    p.git('commit', '-qam', 'flags');
    const r = await runNxc(p.dir, ['build', '-f', 'docker'], { NXC_NIX_FLAGS: OFFLINE_NIX_FLAGS });
    expect(r.code).toBe(3);
    expectOneError(
      r.stderr,
      /^error: building composition::docker: Nix's experimental feature 'flakes' is turned off/,
      new RegExp(`^hint: remove \`--option experimental-features …\` from nix\\.flags in ${file}`),
    );
  });

  it('no Nix daemon answers: say so, and how to get one', async () => {
    const p = project({ git: true });
    const socket = join(scratch, 'no-daemon.sock');
    const r = await runNxc(p.dir, ['build', '-f', 'docker'], {
      NIX_REMOTE: `unix://${socket}`,
      NXC_NIX_FLAGS: OFFLINE_NIX_FLAGS,
    });
    expect(r.code).toBe(3);
    expectOneError(
      r.stderr,
      new RegExp(
        `^error: listing the compositions: the Nix daemon does not answer at ${socket} \\(No such file or directory\\)$|^error: building composition::docker: the Nix daemon does not answer at ${socket}`,
      ),
      /^hint: start the Nix daemon .*nix-setup-systemd/,
    );
  });

  it('a user who may not write the store, without a daemon', async () => {
    if (process.getuid?.() !== 0)
      throw new Error('this test switches to an unprivileged user: run it as root (as CI does)');
    const p = project({ git: false });
    const home = join(scratch, 'home');
    mkdirSync(home, { recursive: true });
    chmodSync(scratch, 0o755); // the user's HOME is in it
    for (const d of [p.dir, home]) {
      chownSync(d, 65534, 65534);
      chmodSync(d, 0o755);
    }
    for (const f of readdirSync(p.dir)) lchownSync(join(p.dir, f), 65534, 65534); // not the linked node_modules
    const r = await withRepoReachable(() =>
      runNxc(
        p.dir,
        ['build', '-f', 'docker'],
        { HOME: home, NXC_NIX_FLAGS: OFFLINE_NIX_FLAGS, NIX_REMOTE: '' },
        ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
      ),
    );
    expect(r.code).toBe(3);
    expectOneError(
      r.stderr,
      /^error: building composition::docker: user (nobody|65534) may not write the Nix store \(\/nix\/\S+: (Permission denied|Operation not permitted)\) and no Nix daemon is in use$/,
      /^hint: start the Nix daemon and let your user use it/,
    );
  });
});

describe('the network', () => {
  // `.invalid` never resolves (RFC 2606): the same failure as a machine without network.
  const attempts = '--option download-attempts 1';

  it('an input Nix must download', async () => {
    const p = project({ git: true });
    const flake = join(p.dir, 'flake.nix');
    writeFileSync(
      flake,
      readFileSync(flake, 'utf8').replace(
        'inputs = {',
        'inputs = {\n    extra = { url = "https://nxc-offline.invalid/extra.tar.gz"; flake = false; };',
      ),
    );
    writeFileSync(
      flake,
      readFileSync(flake, 'utf8').replace('{ self, nixpkgs, nxc }', '{ self, nixpkgs, nxc, extra }'),
    );
    p.git('commit', '-qam', 'an input from the network');
    const r = await runNxc(p.dir, ['build', '-f', 'docker'], {
      NXC_NIX_FLAGS: `${OFFLINE_NIX_FLAGS} ${attempts}`,
    });
    expect(r.code).toBe(3);
    expectOneError(
      r.stderr,
      /^error: building composition::docker: no network: Nix could not download https:\/\/nxc-offline\.invalid\/extra\.tar\.gz \(Couldn't resolve host name\)$/,
      /^hint: connect this machine to the network .*nix\.overrideInputs/,
    );
  });

  it('a source a build must fetch', async () => {
    const p = project({ git: true });
    const file = join(p.dir, 'composition.nix');
    const fetched = `builtins.derivation { name = "src-${Date.now()}.tar.gz"; builder = "builtin:fetchurl"; system = "builtin"; url = "http://nxc-offline.invalid/src.tar.gz"; outputHashMode = "flat"; outputHashAlgo = "sha256"; outputHash = "1111111111111111111111111111111111111111111111111111"; }`;
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        'client = { pkgs, ... }: {',
        `client = { pkgs, ... }: {\n      environment.etc."src".source = ${fetched};`,
      ),
    );
    p.git('commit', '-qam', 'a fetched source');
    const r = await runNxc(p.dir, ['build', '-f', 'docker'], {
      NXC_NIX_FLAGS: `${OFFLINE_NIX_FLAGS} ${attempts}`,
    });
    expect(r.code).toBe(3);
    expectOneError(
      r.stderr,
      /^error: building composition::docker: no network: Nix could not download http:\/\/nxc-offline\.invalid\/src\.tar\.gz \(Couldn't resolve host name\)$/,
      /^hint: connect this machine to the network/,
    );
  });

  it('an unreachable binary cache: the build works and says once how to skip the cache', async () => {
    const p = project({ git: true });
    p.touch();
    const r = await runNxc(p.dir, ['build', '-f', 'docker'], {
      NXC_NIX_FLAGS: `--option substituters http://nxc-offline.invalid --option sandbox false ${attempts}`,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(messages(r.stderr).filter((l) => l.startsWith('warning:'))).toEqual([
      `warning: the binary cache http://nxc-offline.invalid is unreachable (Couldn't resolve host name); offline, pass --nix-flags "--option substituters ''" to skip it`,
    ]);
  });
});

describe('git', () => {
  it('composition.nix exists but is not tracked: `git add composition.nix`', async () => {
    const p = project({ git: true });
    p.git('rm', '-q', '--cached', 'composition.nix');
    const r = await runNxc(p.dir, ['build', '-f', 'docker'], { NXC_NIX_FLAGS: OFFLINE_NIX_FLAGS });
    expect(r.code).toBe(2);
    expectOneError(
      r.stderr,
      /^error: building composition::docker: composition\.nix is not tracked by git, and Nix only sees the files git tracks in /,
      /^hint: git add composition\.nix$/,
    );
  });

  it('a file in a subfolder, imported by the composition', async () => {
    const p = project({ git: true });
    mkdirSync(join(p.dir, 'roles'));
    writeFileSync(
      join(p.dir, 'roles/client.nix'),
      '{ pkgs, ... }: { environment.systemPackages = [ pkgs.busybox ]; }\n',
    );
    const file = join(p.dir, 'composition.nix');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        /client = \{ pkgs, \.\.\. \}: \{[^}]*\};/,
        'client = import ./roles/client.nix;',
      ),
    );
    p.git('commit', '-qam', 'client in its own file, not added');
    const r = await runNxc(p.dir, ['build', '-f', 'docker'], { NXC_NIX_FLAGS: OFFLINE_NIX_FLAGS });
    expect(r.code).toBe(2);
    expectOneError(
      r.stderr,
      /^error: building composition::docker: roles\/client\.nix is not tracked by git/,
      /^hint: git add roles\/client\.nix$/,
    );
  });
});
