/**
 * Builds the real demo (examples/demo) for `vm-ramdisk` or `vm` with real Nix against nxc's
 * offline test OS, the way `nxc build -f FLAVOUR` does: a copy of the Nix library with this
 * plugin's Nix modules registered as flavours, `nixpkgs` overridden with the test OS.
 * (Same recipe as the docker plugin's; kept here until core's build() is used by tests.)
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '../../..');
export const DEMO = join(REPO, 'examples/demo');
const NIX = join(REPO, 'plugins/flavour-qemu/nix');

/**
 * Returns the store path of the demo's compose info for `flavour`.
 * @param {'vm-ramdisk' | 'vm'} flavour
 * @returns {string}
 */
export function buildDemo(flavour) {
  execFileSync('sh', [join(REPO, 'test/fixtures/testos/setup.sh')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const nixlib = mkdtempSync(join(tmpdir(), 'nxc-qemu-nixlib-'));
  try {
    cpSync(join(REPO, 'nix'), nixlib, { recursive: true });
    // the flavour modules go inside the library's copy, as `nxc build` puts them: a flake
    // evaluates purely and reads no path outside its inputs
    mkdirSync(join(nixlib, 'flavours'), { recursive: true });
    cpSync(NIX, join(nixlib, 'flavours/qemu'), { recursive: true });
    writeFileSync(
      join(nixlib, 'flavours/index.nix'),
      `{
  vm-ramdisk = { name = "vm-ramdisk"; image = "ramdisk"; description = "vm-ramdisk"; module = ./qemu/vm-ramdisk.nix; };
  vm = { name = "vm"; image = "vm"; description = "vm"; module = ./qemu/vm.nix; };
}\n`,
    );
    const out = execFileSync(
      'nix',
      [
        '--extra-experimental-features',
        'nix-command flakes',
        '--option',
        'substituters',
        '',
        '--option',
        'sandbox',
        'false',
        'build',
        '--no-link',
        '--json',
        '--no-write-lock-file',
        '--override-input',
        'nixpkgs',
        `path:${join(REPO, 'test/fixtures/testos')}`,
        '--override-input',
        'nxc',
        `path:${nixlib}`,
        `path:${DEMO}#"composition::${flavour}"`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 },
    );
    return JSON.parse(out)[0].outputs.out;
  } finally {
    rmSync(nixlib, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  console.log(buildDemo(process.argv[2] ?? 'vm-ramdisk'));
