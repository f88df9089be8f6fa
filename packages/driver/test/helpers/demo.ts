/**
 * TEST HELPER: a throw-away, git-initialised copy of the demo project (examples/demo) as a
 * user would have it, with only the flavour plugin under test installed (node_modules link
 * to the workspace package) and nixpkgs overridden with the offline test OS; built for
 * real by core's build() (`nxc build -f FLAVOUR`).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as core from '@nxc/core';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const DEMO = path.join(REPO, 'examples/demo');
const TESTOS = path.join(REPO, 'test/fixtures/testos');

/** Offline Nix flags (no binary cache, no sandbox here). */
const TEST_NIX_FLAGS = "--option substituters '' --option sandbox false";

const PLUGINS: Record<string, string> = {
  docker: 'flavour-docker',
  'vm-ramdisk': 'flavour-qemu',
  vm: 'flavour-qemu',
};

export interface DemoProject {
  dir: string;
  project: core.Project;
  remove(): void;
}

/** Copies the demo, installs the flavour's plugin and runs core's build() for it. */
export async function demoProject(flavour: string): Promise<DemoProject> {
  const plugin = PLUGINS[flavour];
  if (!plugin) throw new Error(`demo helper: no plugin known for flavour ${flavour}`);
  execFileSync('sh', [path.join(TESTOS, 'setup.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const dir = mkdtempSync(path.join(tmpdir(), `nxc-driver-demo-${flavour}-`));
  try {
    for (const file of ['composition.nix', 'flake.nix', 'nxc.json'])
      cpSync(path.join(DEMO, file), path.join(dir, file));
    const pkg = {
      name: 'driver-e2e-demo',
      private: true,
      nxc: { plugins: [`@nxc/${plugin}`], nix: { overrideInputs: { nixpkgs: TESTOS } } },
    };
    writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
    writeFileSync(path.join(dir, '.gitignore'), 'node_modules\nbuild\ndeploy\nartifact\n.nxc\n');
    mkdirSync(path.join(dir, 'node_modules/@nxc'), { recursive: true });
    symlinkSync(path.join(REPO, 'plugins', plugin), path.join(dir, 'node_modules/@nxc', plugin));
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.email=test@nxc', '-c', 'user.name=nxc-test', ...args], {
        cwd: dir,
        stdio: 'ignore',
      });
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'demo');
    const project = await core.loadProject(dir);
    await core.build(project, { flavour, nixFlags: TEST_NIX_FLAGS });
    return { dir, project, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
