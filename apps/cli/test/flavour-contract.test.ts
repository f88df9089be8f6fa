/**
 * Flavour contract v2 through the real `nxc` binary: options and flags belong to a flavour and
 * are checked with its schema before anything exists (no deploy/ file, no .nxc/ identity, no
 * docker object); a missing capability is refused up front; a corrupt state is one line and
 * `nxc stop` still recovers. Part runs on the fake flavours (pure logic), part on the real
 * docker and qemu plugins with the real dockerd (run under the e2e lock).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunResult,
  assertBuilt,
  composeInfo,
  fakeFlavour,
  makeProject,
  pluginFixture,
  repoRoot,
  runNxc,
  stateListing,
} from './helpers.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) {
    await runNxc(dir, ['stop']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
});

async function project(
  files: Record<string, string | object>,
  builds: Record<string, string>,
): Promise<string> {
  const dir = await makeProject({ 'flake.nix': '{ outputs = _: { }; }\n', ...files }, builds);
  dirs.push(dir);
  return dir;
}

/** Exactly one `error:` line and one `hint:` line, no stack; returns the error line. */
function oneLine(r: RunResult, code = 2): string {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(2);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[1]).toMatch(/^hint: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0]!.slice('error: '.length);
}

/** Nothing of a start: no deploy/ file, no project identity. */
async function untouched(dir: string, before: string[]): Promise<void> {
  expect(await stateListing(dir)).toEqual(before);
  expect(existsSync(path.join(dir, 'deploy'))).toBe(false);
  expect(existsSync(path.join(dir, '.nxc'))).toBe(false);
}

beforeAll(() => assertBuilt());

describe('flavour options and flags (fake flavours)', () => {
  let dir: string;
  let before: string[];
  beforeAll(async () => {
    dir = await project(
      {
        'nxc.config.json': { plugins: [fakeFlavour, pluginFixture('fakevm')] },
        'ci.json': composeInfo({}),
        'ci-vm.json': composeInfo({ flavour: { name: 'fakevm', image: 'vm' } }),
      },
      { 'composition::fake': 'ci.json' },
    );
    before = await stateListing(dir);
  });

  it('a flag of another flavour: one line naming the flavour that owns it, exit 2, nothing created', async () => {
    const message = oneLine(await runNxc(dir, ['start', '-f', 'fake', '--accel', 'kvm']));
    expect(message).toBe('--accel is an option of flavour fakevm, not of fake');
    await untouched(dir, before);
  });

  it('a flag of another flavour named with -f is refused before the build is looked for', async () => {
    const unbuilt = await project(
      { 'nxc.config.json': { plugins: [fakeFlavour, pluginFixture('fakevm')] } },
      {},
    );
    const listed = await stateListing(unbuilt);
    expect(oneLine(await runNxc(unbuilt, ['start', '-f', 'fake', '--accel', 'kvm']))).toBe(
      '--accel is an option of flavour fakevm, not of fake',
    );
    expect(oneLine(await runNxc(unbuilt, ['start', '-C', 'composition::fake', '-O', 'prot=8080']))).toBe(
      'flavour fake: unknown option "prot" (in -O); did you mean "port"?',
    );
    await untouched(unbuilt, listed);
  });

  it('an unknown -O option: did-you-mean', async () => {
    expect(oneLine(await runNxc(dir, ['start', '-O', 'prot=8080']))).toBe(
      'flavour fake: unknown option "prot" (in -O); did you mean "port"?',
    );
    await untouched(dir, before);
  });

  it('ill-typed values: from a flag and from -O', async () => {
    expect(oneLine(await runNxc(dir, ['start', '--port', 'eighty']))).toBe(
      '--port eighty: expected a number',
    );
    expect(oneLine(await runNxc(dir, ['start', '-O', 'reuse="yes"']))).toBe(
      'flavour fake: option reuse: expected boolean, got string (in -O)',
    );
    await untouched(dir, before);
  });

  it('a typo in the config flavourOptions: did-you-mean naming the config, exit 2, nothing created', async () => {
    const typo = await project(
      {
        'nxc.config.json': { plugins: [fakeFlavour], flavourOptions: { fake: { pushPth: '/tmp/k' } } },
        'ci.json': composeInfo({}),
      },
      { 'composition::fake': 'ci.json' },
    );
    const listing = await stateListing(typo);
    expect(oneLine(await runNxc(typo, ['start']))).toBe(
      'flavour fake: unknown option "pushPth" (in nxc.config.json, flavourOptions.fake); did you mean "pushPath"?',
    );
    await untouched(typo, listing);
  });

  it('--retry-failed on a flavour without that capability: refused before anything, naming who can', async () => {
    const r = await runNxc(dir, ['start', '--compose-info', 'ci-vm.json', '--retry-failed']);
    expect(oneLine(r)).toBe('flavour fakevm cannot --retry-failed');
    expect(r.stderr).toMatch(/^hint: stop and start again \(--retry-failed is for fake\)$/m);
    await untouched(dir, before);
  });

  it('`start -f FLAVOUR --help` lists that flavour’s flags only', async () => {
    const vm = await runNxc(dir, ['start', '-f', 'fakevm', '--help']);
    expect(vm.code).toBe(0);
    expect(vm.stdout).toMatch(/^\s+--accel <accel>\s+kvm, tcg or auto \(fake\)$/m);
    expect(vm.stdout).toMatch(/^\s+--memory <MiB>/m);
    expect(vm.stdout).not.toMatch(/--push-path/);
    expect(vm.stdout).toMatch(/Flavour fakevm \(nxc-flavour-fakevm\): options accel, memory/);
    const fake = await runNxc(dir, ['start', '-f', 'fake', '--help']);
    expect(fake.stdout).toMatch(/^\s+--push-path <dir>/m);
    expect(fake.stdout).not.toMatch(/--accel/);
    // no flavour selected: every flavour's flags, each naming its flavours
    const all = await runNxc(dir, ['start', '--help']);
    expect(all.stdout).toMatch(/^\s+--accel <accel>\s+kvm, tcg or auto \(fake\) \(fakevm\)$/m);
  });

  it('a corrupt state: one line naming the file and the field; `nxc stop` still removes the nodes', async () => {
    const r = await runNxc(dir, ['start', '--speed', '2']);
    expect(r.code, r.stderr).toBe(0);
    const stateFile = path.join(dir, 'deploy/composition::fake.state.json');
    const state = JSON.parse(await readFile(stateFile, 'utf8'));
    expect(state.options).toEqual({ speed: 2 });
    await writeFile(stateFile, JSON.stringify({ ...state, alive: 'yes' }));
    const status = await runNxc(dir, ['status']);
    expect(oneLine(status)).toBe(
      'deploy/composition::fake.state.json: not a state of flavour fake (alive: expected boolean, got string)',
    );
    expect(status.stderr).toMatch(/^hint: `nxc stop -C composition::fake` removes its nodes without it$/m);
    await writeFile(stateFile, '{ not json');
    expect(oneLine(await runNxc(dir, ['status']))).toBe(
      'deploy/composition::fake.state.json: flavour state is not valid JSON',
    );
    const stop = await runNxc(dir, ['stop']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stderr).toMatch(/flavour state is not valid JSON; stopping composition::fake without it/);
    expect(existsSync(stateFile)).toBe(false);
  });
});

describe('flavour options with the real docker and qemu plugins (real dockerd)', () => {
  let dir: string;
  let before: string[];
  const labelled = (): string[] => {
    const filter = `label=nxc.project.root=${dir}`;
    const list = (...args: string[]) =>
      execFileSync('docker', [...args, '-q', '--filter', filter], { encoding: 'utf8' }).split('\n');
    return [...list('ps', '-a'), ...list('network', 'ls'), ...list('volume', 'ls')].filter(Boolean);
  };
  beforeAll(async () => {
    dir = await project(
      {
        'nxc.config.json': {
          plugins: [
            path.join(repoRoot, 'plugins/flavour-docker'),
            path.join(repoRoot, 'plugins/flavour-qemu'),
          ],
        },
        'ci.json': composeInfo({ flavour: { name: 'docker', image: 'docker' } }),
      },
      { 'composition::docker': 'ci.json' },
    );
    before = await stateListing(dir);
  });

  it('`nxc start -f docker --accel kvm`: exit 2, one line, no file, no docker object', async () => {
    expect(oneLine(await runNxc(dir, ['start', '-f', 'docker', '--accel', 'kvm']))).toBe(
      '--accel is an option of flavours vm-ramdisk, vm, not of docker',
    );
    await untouched(dir, before);
    expect(labelled()).toEqual([]);
  });

  it('a flavourOptions typo for docker: exit 2, did-you-mean, no file, no docker object', async () => {
    await writeFile(
      path.join(dir, 'nxc.config.json'),
      JSON.stringify({
        plugins: [path.join(repoRoot, 'plugins/flavour-docker'), path.join(repoRoot, 'plugins/flavour-qemu')],
        flavourOptions: { docker: { concurency: 4 } },
      }),
    );
    try {
      expect(oneLine(await runNxc(dir, ['start']))).toBe(
        'flavour docker: unknown option "concurency" (in nxc.config.json, flavourOptions.docker); did you mean "concurrency"?',
      );
      await untouched(dir, before);
      expect(labelled()).toEqual([]);
    } finally {
      await writeFile(
        path.join(dir, 'nxc.config.json'),
        JSON.stringify({
          plugins: [
            path.join(repoRoot, 'plugins/flavour-docker'),
            path.join(repoRoot, 'plugins/flavour-qemu'),
          ],
        }),
      );
    }
  });

  it('`--retry-failed` on docker: refused before anything', async () => {
    expect(oneLine(await runNxc(dir, ['start', '--retry-failed']))).toBe(
      'flavour docker cannot --retry-failed',
    );
    await untouched(dir, before);
    expect(labelled()).toEqual([]);
  });

  it('`nxc start -f vm --help` lists the qemu flags (--accel, --memory, --cpus)', async () => {
    const r = await runNxc(dir, ['start', '-f', 'vm', '--help']);
    expect(r.code, r.stderr).toBe(0);
    for (const flag of ['--accel <accel>', '--memory <MiB>', '--cpus <n>', '--qemu <path>']) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toMatch(/Flavour vm \(@nxc\/flavour-qemu\): options accel, memory, cpus/);
  });

  it('a corrupt docker state: `nxc status` says it in one line; `nxc stop` recovers', async () => {
    const deploy = path.join(dir, 'deploy');
    await mkdir(deploy, { recursive: true });
    await writeFile(
      path.join(deploy, 'composition::docker.json'),
      JSON.stringify({
        deployment: { '172.30.0.2': { role: 'server', host: 'server' } },
        'ssh_key.pub': 'ssh-ed25519 AAAA x',
        composition: 'composition',
        flavour: 'docker',
        user: 'u',
      }),
    );
    await writeFile(path.join(deploy, 'composition::docker.state.json'), JSON.stringify({ deploymentId: 3 }));
    const status = await runNxc(dir, ['status']);
    expect(oneLine(status)).toMatch(
      /^deploy\/composition::docker\.state\.json: not a state of flavour docker \(deploymentId: expected string, got number/,
    );
    const stop = await runNxc(dir, ['stop']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(existsSync(path.join(deploy, 'composition::docker.state.json'))).toBe(false);
    expect(labelled()).toEqual([]);
  });
});
