/**
 * TEST HELPER: the demo project (examples/demo) built for real and set up as a user's
 * project would be after `nxc build -f FLAVOUR`: a throw-away copy of the project whose
 * node_modules holds the flavour plugin, and `build/composition::FLAVOUR` linking to the
 * compose info built by real Nix against the offline test OS.
 *
 * The build follows `nxc build`'s recipe (copy of nix/ with the plugin's Nix module in
 * `flavours/index.nix`, nixpkgs overridden with the test OS) until core exports build().
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const DEMO = path.join(REPO, 'examples/demo');

const FLAVOURS: Record<string, { plugin: string; image: string; module: string }> = {
  docker: { plugin: '@nxc/flavour-docker', image: 'docker', module: 'plugins/flavour-docker/nix/docker.nix' },
};

/** Builds examples/demo for `flavour` with real Nix; returns the compose info store path. */
export function buildDemo(flavour: string): string {
  const f = FLAVOURS[flavour];
  if (!f) throw new Error(`demo helper: no recipe for flavour ${flavour}`);
  execFileSync('sh', [path.join(REPO, 'test/fixtures/testos/setup.sh')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const nixlib = mkdtempSync(path.join(tmpdir(), 'nxc-driver-nixlib-'));
  try {
    cpSync(path.join(REPO, 'nix'), nixlib, { recursive: true });
    mkdirSync(path.join(nixlib, 'flavours'), { recursive: true });
    writeFileSync(
      path.join(nixlib, 'flavours/index.nix'),
      `{ ${flavour} = { name = "${flavour}"; image = "${f.image}"; description = "${flavour}"; module = ${path.join(REPO, f.module)}; }; }\n`,
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
        `path:${path.join(REPO, 'test/fixtures/testos')}`,
        '--override-input',
        'nxc',
        `path:${nixlib}`,
        `path:${DEMO}#"composition::${flavour}"`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return JSON.parse(out)[0].outputs.out as string;
  } finally {
    rmSync(nixlib, { recursive: true, force: true });
  }
}

/** A throw-away copy of the demo project, built for `flavour`; `remove()` deletes it. */
export function demoProject(flavour: string): { dir: string; composeInfo: string; remove(): void } {
  const f = FLAVOURS[flavour]!;
  const composeInfo = buildDemo(flavour);
  const dir = mkdtempSync(path.join(tmpdir(), `nxc-driver-demo-${flavour}-`));
  for (const file of ['composition.nix', 'flake.nix', 'nxc.json'])
    cpSync(path.join(DEMO, file), path.join(dir, file));
  writeFileSync(
    path.join(dir, 'package.json'),
    `${JSON.stringify({ name: 'driver-e2e-demo', private: true, nxc: { plugins: [f.plugin] } }, null, 2)}\n`,
  );
  mkdirSync(path.join(dir, 'node_modules/@nxc'), { recursive: true });
  symlinkSync(
    path.join(REPO, 'plugins', f.plugin.replace('@nxc/', '')),
    path.join(dir, 'node_modules', f.plugin),
  );
  mkdirSync(path.join(dir, 'build'));
  symlinkSync(composeInfo, path.join(dir, 'build', `composition::${flavour}`));
  return { dir, composeInfo, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
