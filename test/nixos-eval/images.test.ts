/**
 * nxc's image code built for real (images.nix, with the test OS's packages) where
 * evaluation cannot tell: the all-in-one init started as stage 1 starts it (`env -i`) finds
 * `ip` and `hostname` of a package that keeps them in sbin/ only, as nixpkgs' busybox does;
 * the g5k-image tarball keeps kernel parameters verbatim, has /init for boot loaders that
 * pass no init=, and carries its closure's Nix registration.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repo, suiteDir } from './harness.js';

function build(attr: string): string {
  return execFileSync(
    'nix-build',
    [
      '--option',
      'substituters',
      '',
      join(suiteDir, 'images.nix'),
      '--arg',
      'repo',
      `/. + ${JSON.stringify(resolve(repo))}`,
      '-A',
      attr,
      '--no-out-link',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 },
  ).trim();
}

beforeAll(() => {
  execFileSync(join(repo, 'test/fixtures/testos/setup.sh'), { stdio: ['ignore', 'ignore', 'inherit'] });
}, 600_000);

describe('the all-in-one init (finding 1)', () => {
  it('under env -i, finds ip and hostname in the sbin/ of a boot tool', () => {
    const init = build('init');
    const out = execFileSync('env', ['-i', init], { encoding: 'utf8' });
    const found = Object.fromEntries(
      out
        .split('\n')
        .filter((l) => /^(ip|hostname)=/.test(l))
        .map((l) => l.split('=') as [string, string]),
    );
    expect(found.ip, out).toMatch(/-busybox-sbin-shaped\/sbin\/ip$/);
    expect(found.hostname, out).toMatch(/-busybox-sbin-shaped\/sbin\/hostname$/);
  });
});

describe('the g5k-image tarball (finding 6)', () => {
  let root: string;
  beforeAll(() => {
    root = build('image');
  }, 600_000);

  it('writes the kernel command line verbatim (quotes, $)', () => {
    const cmdline = readFileSync(join(root, 'boot/cmdline'), 'utf8');
    expect(cmdline).toMatch(
      /^init=\/nix\/store\/\S+-nxc-init-probe console=ttyS0,115200 nxc\.note="two words" nxc\.home=\$HOME\n$/,
    );
  });

  it('has /init (and /sbin/init) for boot loaders that pass no init=', () => {
    const target = readlinkSync(join(root, 'init'));
    expect(target).toMatch(/-nxc-init-probe$/);
    expect(readlinkSync(join(root, 'sbin/init'))).toBe(target);
    expect(existsSync(join(root, target.slice(1))), 'the init is in the image').toBe(true);
  });

  it("carries its closure's Nix registration, loaded at first boot by the disk kind", () => {
    expect(existsSync(join(root, 'nix-path-registration'))).toBe(true);
    const store = readFileSync(join(root, 'boot/cmdline'), 'utf8').match(/init=(\S+)/)?.[1] ?? '';
    expect(existsSync(join(root, store.slice(1)))).toBe(true);
  });
});
