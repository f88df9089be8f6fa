/**
 * scripts/check-real-nixos.sh cannot run its real check here (no nixpkgs, no network): its
 * arguments, its refusal without a nixpkgs, and its pipeline up to the first Nix build (with
 * the test OS standing in for nixpkgs, whose lack of `hello` fails the basic template's
 * build) are what is tested.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repo } from './harness.js';

const script = join(repo, 'scripts/check-real-nixos.sh');
const scratch = mkdtempSync(join(tmpdir(), 'nxc-check-real-nixos-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function check(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(script, args, {
    encoding: 'utf8',
    env: { ...process.env, NXC_CHECK_NIXPKGS: '' },
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('scripts/check-real-nixos.sh', () => {
  it('--help prints the usage and exits 0', () => {
    const r = check('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: scripts\/check-real-nixos\.sh/);
    expect(r.stdout).toContain('--nixpkgs REF');
  });

  it.each([
    [['--bogus'], /^check-real-nixos: unknown argument '--bogus' \(see --help\)$/],
    [['--nixpkgs'], /^check-real-nixos: --nixpkgs needs a value/],
    [
      ['--flavour', 'g5k-image'],
      /^check-real-nixos: --flavour g5k-image: this check runs the local flavours only \(docker vm-ramdisk vm\)$/,
    ],
    [
      ['--template', 'nope'],
      /^check-real-nixos: --template nope: no such template \(basic client-server dfs k3s nfs\)$/,
    ],
  ])('bad arguments %j: one line, exit 2', (args, message) => {
    const r = check(...args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
    expect(r.stdout).toBe('');
  });

  // Hermetic on purpose: with network access the default ref would really be fetched.
  it('no nixpkgs here ($NXC_CHECK_NIXPKGS, else --nixpkgs, cannot be had): one line, exit 3', () => {
    const r = check('--flavour', 'docker', '--nixpkgs', 'path:/nonexistent/nixpkgs');
    expect(r.status).toBe(3);
    expect(r.stderr.trim()).toMatch(
      /^check-real-nixos: no nixpkgs: cannot get path:\/nonexistent\/nixpkgs \(.+\); run this where it can be fetched, or pass --nixpkgs path:\/path\/to\/nixpkgs$/,
    );
    expect(r.stdout).toBe('');
    const fromEnv = spawnSync(script, ['--flavour', 'docker'], {
      encoding: 'utf8',
      env: { ...process.env, NXC_CHECK_NIXPKGS: 'path:/nonexistent/from-env' },
    });
    expect(fromEnv.status).toBe(3);
    expect(fromEnv.stderr).toContain('cannot get path:/nonexistent/from-env');
  });

  it('a folder that is not nixpkgs: exit 3', () => {
    const r = check('--nixpkgs', `path:${join(repo, 'test/nixos-eval/compositions')}`);
    expect(r.status).toBe(3);
    expect(r.stderr.trim()).toMatch(/^check-real-nixos: no nixpkgs: /);
  });

  it('with a nixpkgs-shaped flake it runs init and build through the real CLI and prints one line per flavour', () => {
    const work = join(scratch, 'work');
    const r = check(
      '--nixpkgs',
      `path:${join(repo, 'test/fixtures/testos')}`,
      '--template',
      'basic',
      '--work',
      work,
    );
    expect(r.status, r.stderr).toBe(1);
    const lines = r.stdout.split('\n').filter((l) => /^(PASS|FAIL) /.test(l));
    expect(lines.map((l) => l.split(/[ :]/)[1])).toEqual(['docker', 'vm-ramdisk', 'vm']);
    for (const l of lines)
      expect(l).toMatch(
        /^FAIL \S+: template basic: build: error: building composition::\S+: attribute 'hello' missing \(log: /,
      );
    expect(readFileSync(join(work, 'basic-docker.log'), 'utf8')).toContain('initialised');
  });
});
