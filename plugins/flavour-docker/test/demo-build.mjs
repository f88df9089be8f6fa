/**
 * Builds the real demo (examples/demo, composition::docker) with real Nix against nxc's
 * offline test OS, the way `nxc build -f docker` does: a copy of the Nix library with this
 * plugin's Nix module registered as the `docker` flavour, `nixpkgs` overridden with the
 * test OS. Kept here until core's build() is available to the flavours' tests.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '../../..');
export const DEMO = join(REPO, 'examples/demo');
const PLUGIN_NIX = join(REPO, 'plugins/flavour-docker/nix/docker.nix');

/**
 * Returns the store path of the demo's docker compose info.
 * @returns {string}
 */
export function buildDemo() {
  execFileSync('sh', [join(REPO, 'test/fixtures/testos/setup.sh')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const nixlib = mkdtempSync(join(tmpdir(), 'nxc-docker-nixlib-'));
  try {
    cpSync(join(REPO, 'nix'), nixlib, { recursive: true });
    mkdirSync(join(nixlib, 'flavours'), { recursive: true });
    writeFileSync(
      join(nixlib, 'flavours/index.nix'),
      `{ docker = { name = "docker"; image = "docker"; description = "docker"; module = ${PLUGIN_NIX}; }; }\n`,
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
        `path:${DEMO}#"composition::docker"`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return JSON.parse(out)[0].outputs.out;
  } finally {
    rmSync(nixlib, { recursive: true, force: true });
  }
}
