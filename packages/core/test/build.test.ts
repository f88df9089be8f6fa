/**
 * `build()` end to end with real Nix 2.8 on a git-initialised copy of examples/demo, built
 * against the offline test OS: every flavour of the five plugin packages, no-op rebuilds,
 * one-role rebuilds, and the user mistakes that must end in one clear NxcError.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, listCompositions } from '../src/build/index.js';
import { NxcError } from '../src/errors.js';
import { loadProject } from '../src/project.js';
import type { ProgressEvent } from '../src/reporter.js';
import { REPO, TEST_NIX_FLAGS, demoCopy, ensureTestOs } from './demo-project.js';

const FLAVOURS: Array<[string, string]> = [
  ['docker', 'docker'],
  ['vm-ramdisk', 'ramdisk'],
  ['vm', 'vm'],
  ['g5k-ramdisk', 'ramdisk'],
  ['g5k-nfs-store', 'remote-store'],
  ['g5k-image', 'tarball'],
];

let demo: ReturnType<typeof demoCopy>;
const savedFlags = process.env.NXC_NIX_FLAGS;

beforeAll(() => {
  ensureTestOs();
  process.env.NXC_NIX_FLAGS = TEST_NIX_FLAGS;
  demo = demoCopy();
});
afterAll(() => {
  demo?.cleanup();
  if (savedFlags === undefined) Reflect.deleteProperty(process.env, 'NXC_NIX_FLAGS');
  else process.env.NXC_NIX_FLAGS = savedFlags;
});

async function expectNxcError(p: Promise<unknown>, code: string, pattern: RegExp): Promise<NxcError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NxcError);
  const e = error as NxcError;
  expect(e.code).toBe(code);
  expect(e.message).toMatch(pattern);
  expect(e.message).not.toContain('\n');
  return e;
}

describe('every .nix file parses', () => {
  it('nix-instantiate --parse accepts the library, the test OS, the demo and the flavour modules', () => {
    const roots = ['nix', 'test/fixtures/testos', 'examples/demo', 'plugins'];
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.name === 'node_modules' || e.name.startsWith('.') || e.name === 'dist') continue;
        const full = join(dir, e.name);
        if (e.isDirectory()) walk(full);
        else if (e.name.endsWith('.nix')) files.push(full);
      }
    };
    for (const r of roots) if (existsSync(join(REPO, r))) walk(join(REPO, r));
    expect(files.length).toBeGreaterThan(15);
    const failures: string[] = [];
    for (const f of files) {
      try {
        execFileSync('nix-instantiate', ['--parse', f], { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (e) {
        failures.push(`${relative(REPO, f)}: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('build() on the demo, every flavour', () => {
  for (const [flavour, image] of FLAVOURS) {
    it(`builds composition::${flavour} (${image})`, async () => {
      const project = await loadProject(demo.dir);
      const events: ProgressEvent[] = [];
      const result = await build(project, { flavour, reporter: { emit: (e) => events.push(e) } });
      expect(result.composeInfoPath).toBe(join(demo.dir, 'build', `composition::${flavour}`));
      expect(lstatSync(result.composeInfoPath).isSymbolicLink()).toBe(true);
      const info = result.composeInfo;
      if (!info) throw new Error('no compose info');
      expect(info.format).toBe('nxc');
      expect(info.flavour).toMatchObject({ name: flavour, image });
      expect(Object.keys(info.roles).sort()).toEqual(['client', 'server']);
      for (const role of Object.values(info.roles)) {
        expect(existsSync(role.init)).toBe(true);
        expect(role.toplevel && existsSync(role.toplevel)).toBe(true);
      }
      expect(info.testScript && readFileSync(info.testScript, 'utf8')).toContain('wget -qO- http://server/');
      const artifacts: Record<string, string[]> = {
        docker: ['docker_image'],
        ramdisk: ['kernel', 'initrd', 'init'],
        vm: ['kernel', 'initrd', 'init'],
        'remote-store': ['kernel', 'initrd', 'init'],
        tarball: ['image', 'kernel', 'initrd', 'init'],
      };
      for (const key of artifacts[image] ?? [])
        expect(existsSync(info.all[key] ?? '/nonexistent'), key).toBe(true);
      if (image !== 'docker')
        expect(info.all.cmdline).toMatch(/^init=\/nix\/store\/\S+-nxc-init-composition/);
      expect(events.some((e) => e.type === 'done')).toBe(true);
    });
  }

  it('a second build with nothing changed does no Nix work', async () => {
    const project = await loadProject(demo.dir);
    const first = await build(project, { flavour: 'docker' });
    const again = await build(project, { flavour: 'docker' });
    expect(again.targets[0]?.stats?.built).toBe(0);
    expect(again.targets[0]?.outPath).toBe(first.targets[0]?.outPath);
  });

  it('changing one role rebuilds that role only', async () => {
    const project = await loadProject(demo.dir);
    const file = join(demo.dir, 'composition.nix');
    const before = readFileSync(file, 'utf8');
    const marker = `changed-${Date.now()}-${Math.random().toString(36).slice(2)}`; // new to the store
    writeFileSync(
      file,
      before.replace(
        'networking.firewall.allowedTCPPorts = [ 80 ];',
        `networking.firewall.allowedTCPPorts = [ 80 ];\n      environment.etc."demo-marker".text = "${marker}";`,
      ),
    );
    demo.commit('change the server');
    const events: ProgressEvent[] = [];
    const result = await build(project, { flavour: 'docker', reporter: { emit: (e) => events.push(e) } });
    const names = result.targets[0]?.stats?.builtNames ?? [];
    expect(names).toContain('testos-system-server');
    expect(names).not.toContain('testos-system-client');
    expect(names.length).toBeLessThanOrEqual(4);
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ total: names.length });
    expect(
      readFileSync(join(result.composeInfo?.roles.server?.toplevel ?? '', 'etc/demo-marker'), 'utf8'),
    ).toBe(marker);
  });

  it("carries the original's docker attributes (extraVolumes, dockerPorts) into extra.docker", async () => {
    const copy = demoCopy('nxc-demo-docker-attrs-');
    try {
      const file = join(copy.dir, 'composition.nix');
      writeFileSync(
        file,
        readFileSync(file, 'utf8').replace(
          '  roles = {',
          '  extraVolumes = [ "/tmp/nxc-shared:/shared" ];\n  dockerPorts = { server = [ "8080:80" ]; };\n  roles = {',
        ),
      );
      copy.commit('docker attributes');
      const project = await loadProject(copy.dir);
      const { composeInfo } = await build(project, { flavour: 'docker' });
      expect(composeInfo.extra.docker).toMatchObject({
        extraVolumes: ['/tmp/nxc-shared:/shared'],
        dockerPorts: { server: ['8080:80'] },
      });
    } finally {
      copy.cleanup();
    }
  });

  it('lists the composition::flavour outputs (-L)', async () => {
    const project = await loadProject(demo.dir);
    const targets = await listCompositions(project);
    expect(targets.map((t) => `${t.composition}::${t.flavour}`).sort()).toEqual(
      FLAVOURS.map(([f]) => `composition::${f}`).sort(),
    );
  });

  it('--dry-run returns the exact command and builds nothing', async () => {
    const project = await loadProject(demo.dir);
    const result = await build(project, {
      composition: 'composition::vm',
      dryRun: true,
      showTrace: true,
      nixFlags: '--impure',
    });
    const t = result.targets[0];
    expect(t?.argv.slice(0, 4)).toEqual([
      'nix',
      '--extra-experimental-features',
      'nix-command flakes',
      'build',
    ]);
    expect(t?.argv).toContain('--show-trace');
    expect(t?.argv.at(-1)).toMatch(/^\.#packages\.[a-z0-9_]+-linux\."composition::vm"$/);
    expect(t?.command).toContain(`--override-input nxc path:${join(demo.dir, '.nxc/nixlib')}`);
    expect(t?.command).toContain("--option substituters ''");
    expect(t?.command.indexOf('--impure')).toBeGreaterThan(t?.command.indexOf('substituters') ?? 0);
    expect(t?.composeInfo).toBeUndefined();
  });
});

describe('build() errors: one line each', () => {
  it('no flake.nix', async () => {
    const project = await loadProject(demo.dir);
    await expectNxcError(
      build({ ...project, root: join(demo.dir, 'build') }, { flavour: 'docker' }),
      'NXC_PROJECT',
      /no flake\.nix/,
    );
  });

  it('unknown flavour', async () => {
    const project = await loadProject(demo.dir);
    await expectNxcError(build(project, { flavour: 'dockre' }), 'NXC_FLAVOUR_UNKNOWN', /dockre/);
  });

  it('unknown composition', async () => {
    const project = await loadProject(demo.dir);
    const e = await expectNxcError(
      build(project, { composition: 'nope::docker' }),
      'NXC_COMPOSITION_UNKNOWN',
      /nope.*compositions: composition/,
    );
    expect(e.hint).toContain('-C composition::docker');
  });

  it('a Nix evaluation error is shown trimmed, not as a wall of log', async () => {
    const copy = demoCopy('nxc-demo-broken-');
    try {
      const file = join(copy.dir, 'composition.nix');
      writeFileSync(
        file,
        readFileSync(file, 'utf8').replace(
          'roles = {',
          'roles = { broken = { pkgs, ... }: { environment.systemPackages = [ pkgs.doesNotExist ]; };',
        ),
      );
      copy.commit('broken');
      const project = await loadProject(copy.dir);
      const e = await expectNxcError(
        build(project, { flavour: 'docker' }),
        'NXC_NIX',
        /building composition::docker: .*doesNotExist/,
      );
      expect((e.details ?? '').split('\n').length).toBeLessThanOrEqual(12);
    } finally {
      copy.cleanup();
    }
  });

  it('abort (Ctrl-C): Nix is stopped, NXC_INTERRUPTED, no nix process left', async () => {
    const project = await loadProject(demo.dir);
    const file = join(demo.dir, 'composition.nix');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        'hello from the nxc demo server',
        `hello ${Date.now()} ${Math.random()}`,
      ),
    );
    demo.commit('new page');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    await expectNxcError(
      build(project, { flavour: 'vm-ramdisk', signal: controller.signal }),
      'NXC_INTERRUPTED',
      /interrupted/,
    );
    await new Promise((r) => setTimeout(r, 2500));
    const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(demo.dir) && l.includes('nix'));
    expect(left).toEqual([]);
  });

  it('Nix missing', async () => {
    const project = await loadProject(demo.dir);
    const e = await expectNxcError(
      build(project, { flavour: 'docker', nixBin: '/nonexistent/nix' }),
      'NXC_NIX',
      /Nix is not installed/,
    );
    expect(e.hint).toMatch(/2\.8/);
  });
});
