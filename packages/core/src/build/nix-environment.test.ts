import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { explainNixFailure, unreachableCacheWarning } from './nix-environment.js';

// Nix 2.8's own messages, as `--log-format internal-json` delivers them (ANSI removed).
const state = (errors: string[], logTail: string[] = [], warnings: string[] = []) => ({
  errors,
  logTail,
  warnings,
});
const ctx = { what: 'building composition::docker', projectRoot: '/p' };

describe('explainNixFailure', () => {
  it('a missing build users group: names the group and the commands that create it', () => {
    const e = explainNixFailure(
      state(["error: the group 'nixbld' specified in 'build-users-group' does not exist"]),
      ctx,
    );
    expect(e?.code).toBe('NXC_NIX_ENV');
    expect(e?.exitCode).toBe(3);
    expect(e?.message).toMatch(/^building composition::docker: .*group 'nixbld'.*does not exist$/);
    expect(e?.hint).toContain('groupadd -r nixbld && for i in $(seq 1 8); do useradd -r -g nixbld -G nixbld');
  });

  it('a feature turned off by a flag: names where the flag comes from', () => {
    const e = explainNixFailure(
      state([
        "error: experimental Nix feature 'flakes' is disabled; use '--extra-experimental-features flakes' to override",
      ]),
      {
        ...ctx,
        flagSources: [
          { name: '$NXC_NIX_FLAGS', flags: ['--option', 'experimental-features', 'nix-command'] },
        ],
      },
    );
    expect(e?.code).toBe('NXC_NIX_ENV');
    expect(e?.message).toContain("'flakes' is turned off");
    expect(e?.hint).toMatch(/remove `--option experimental-features …` from \$NXC_NIX_FLAGS/);
  });

  it('a feature turned off elsewhere: nix.conf', () => {
    const e = explainNixFailure(
      state([
        "error: experimental Nix feature 'nix-command' is disabled; use '--extra-experimental-features nix-command' to override",
      ]),
      ctx,
    );
    expect(e?.hint).toContain('experimental-features = nix-command flakes');
  });

  it('no daemon, or a store this user cannot write', () => {
    const d = explainNixFailure(
      state([
        "error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': No such file or directory",
      ]),
      ctx,
    );
    expect(d?.message).toMatch(
      /daemon does not answer at \/nix\/var\/nix\/daemon-socket\/socket \(No such file or directory\)$/,
    );
    expect(d?.hint).toContain('nix-setup-systemd');
    const w = explainNixFailure(
      state([
        "error: could not set permissions on '/nix/var/nix/profiles/per-user' to 755: Operation not permitted",
      ]),
      ctx,
    );
    expect(w?.code).toBe('NXC_NIX_ENV');
    expect(w?.message).toMatch(
      /may not write the Nix store \(\/nix\/var\/nix\/profiles\/per-user: Operation not permitted\)/,
    );
    const l = explainNixFailure(
      state(["error: opening lock file '/nix/var/nix/db/big-lock': Permission denied"]),
      ctx,
    );
    expect(l?.message).toContain('big-lock: Permission denied');
  });

  it('a permission error outside the store is the user code, not the store', () => {
    expect(
      explainNixFailure(state(["error: opening file '/home/u/secret.nix': Permission denied"]), ctx),
    ).toBeUndefined();
  });

  it('no network, for an input or inside a fetcher', () => {
    const i = explainNixFailure(
      state([
        "error: unable to download 'https://api.github.com/repos/NixOS/nixpkgs/commits/nixos-24.05': Couldn't resolve host name (6)",
      ]),
      ctx,
    );
    expect(i?.message).toBe(
      "building composition::docker: no network: Nix could not download https://api.github.com/repos/NixOS/nixpkgs/commits/nixos-24.05 (Couldn't resolve host name)",
    );
    expect(i?.hint).toContain('nix.overrideInputs');
    const f = explainNixFailure(
      state(
        [
          "error: builder for '/nix/store/515i8f3zld80injbrwq1hzc577q3ca4p-src.tar.gz.drv' failed with exit code 1",
        ],
        ["error: unable to download 'http://example.invalid/src.tar.gz': Couldn't resolve host name (6)"],
      ),
      ctx,
    );
    expect(f?.message).toContain('no network: Nix could not download http://example.invalid/src.tar.gz');
  });

  it('an HTTP error is not "no network"', () => {
    expect(
      explainNixFailure(state(["error: unable to download 'https://example.org/x': HTTP error 404"]), ctx),
    ).toBeUndefined();
  });

  it('an ordinary evaluation error is left to the caller (NXC_NIX)', () => {
    expect(explainNixFailure(state(["error: attribute 'doesNotExist' missing"]), ctx)).toBeUndefined();
  });
});

describe('explainNixFailure: files git does not track', () => {
  const repo = mkdtempSync(join(tmpdir(), 'nxc-untracked-'));
  afterAll(() => rmSync(repo, { recursive: true, force: true }));
  execFileSync('git', ['init', '-q'], { cwd: repo });
  writeFileSync(join(repo, 'flake.nix'), '{}');
  writeFileSync(join(repo, 'composition.nix'), '{}');
  execFileSync('git', ['add', 'flake.nix'], { cwd: repo });
  const git = { ...ctx, projectRoot: repo, source: { kind: 'git' as const, ref: '.', root: repo } };
  const missing = (rel: string) =>
    `error: getting status of '/nix/store/lq6nsbqy4mnnzg0nl80cd3x7ir3g9xgd-source/${rel}': No such file or directory`;

  it('an untracked file: `git add` it', () => {
    const e = explainNixFailure(state([missing('composition.nix')]), git);
    expect(e?.code).toBe('NXC_GIT_UNTRACKED');
    expect(e?.message).toContain('composition.nix is not tracked by git');
    expect(e?.hint).toBe('git add composition.nix');
  });

  it('a folder none of whose files is tracked: the files are named', () => {
    mkdirSync(join(repo, 'roles'));
    writeFileSync(join(repo, 'roles/client.nix'), '{}');
    const e = explainNixFailure(state([missing('roles')]), git);
    expect(e?.message).toContain('roles/client.nix is not tracked by git');
    expect(e?.hint).toBe('git add roles/client.nix');
  });

  it('a file that does not exist at all: named in the project, NXC_PROJECT', () => {
    const e = explainNixFailure(state([missing('nope.nix')]), git);
    expect(e?.code).toBe('NXC_PROJECT');
    expect(e?.exitCode).toBe(2);
    expect(e?.message).toMatch(/: nope\.nix does not exist \(the flake reads it\)$/);
    expect(e?.hint).toMatch(/^create nope\.nix, or fix the path that names it/);
  });

  it('a missing file in a folder the project does not have is not blamed on it (another input)', () => {
    expect(explainNixFailure(state([missing('pkgs/top-level/x.nix')]), git)).toBeUndefined();
  });

  it('a tracked file is not blamed on git', () => {
    expect(explainNixFailure(state([missing('flake.nix')]), git)).toBeUndefined();
  });

  it('outside git (the mirror), a missing file is the user code', () => {
    expect(
      explainNixFailure(state([missing('composition.nix')]), {
        ...git,
        source: { kind: 'mirror', ref: 'path:/m', root: repo },
      }),
    ).toBeUndefined();
  });
});

describe('unreachableCacheWarning', () => {
  it('one line for an unreachable binary cache', () => {
    expect(
      unreachableCacheWarning([
        "unable to download 'https://cache.nixos.org/nix-cache-info': Couldn't resolve host name (6)",
      ]),
    ).toBe(
      `the binary cache https://cache.nixos.org is unreachable (Couldn't resolve host name); offline, pass --nix-flags "--option substituters ''" to skip it`,
    );
    expect(unreachableCacheWarning(['some other warning'])).toBeUndefined();
  });
});
