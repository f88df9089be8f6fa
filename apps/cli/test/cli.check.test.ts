/**
 * `nxc check` through the real binary and real Nix on a copy of examples/demo (built against
 * the offline test OS): every problem reported at once with exit 2, a clean check exits 0, a
 * Nix evaluation error is one line naming the file, and nothing is built. Each role of the
 * copy carries a nonce, so its system cannot already be in the store from another run: after
 * the checks, neither the compose info nor the role systems named by its derivation are valid
 * store paths, and no build/ out-link exists. Also: `nxc build` refuses a bad flavour option
 * of the config before Nix runs. Needs Nix; no docker, no QEMU.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFLINE_NIX_FLAGS, demoProject } from '../../../test/fixtures/demo-project.mjs';
import { assertBuilt, runNxc } from './helpers.js';

const NIX = ['--extra-experimental-features', 'nix-command flakes'];
const env = { NXC_NIX_FLAGS: OFFLINE_NIX_FLAGS };
let demo: { dir: string; cleanup: () => void; commit: (message: string) => void };
let drvPath: string | undefined;
const nonce = `check-${process.pid}-${Date.now()}`;

const nxc = (...args: string[]) => runNxc(demo.dir, args, env, 120_000);
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('error:'));

/** True when `storePath` is a valid (realised) store path. */
function valid(storePath: string): boolean {
  try {
    execFileSync('nix-store', ['--check-validity', storePath], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The outputs of `drv` and of the role systems (`testos-system-*`) it depends on. */
function outputsOf(drv: string): { composeInfo: string[]; systems: string[] } {
  const shown = JSON.parse(
    execFileSync('nix', [...NIX, 'show-derivation', drv], { encoding: 'utf8' }),
  ) as Record<string, { outputs: Record<string, { path: string }>; inputDrvs: Record<string, string[]> }>;
  const entry = shown[drv];
  if (!entry) throw new Error(`nix show-derivation ${drv}: no entry`);
  const systemDrvs = Object.keys(entry.inputDrvs).filter((d) =>
    /-testos-system-(server|client)\.drv$/.test(d),
  );
  const systems = systemDrvs.flatMap((d) =>
    execFileSync('nix-store', ['-q', '--outputs', d], { encoding: 'utf8' }).trim().split('\n'),
  );
  return { composeInfo: Object.values(entry.outputs).map((o) => o.path), systems };
}

beforeAll(() => {
  assertBuilt();
  demo = demoProject('nxc-check-');
  const file = path.join(demo.dir, 'composition.nix');
  const text = readFileSync(file, 'utf8')
    .replace(
      'networking.firewall.allowedTCPPorts = [ 80 ];',
      `networking.firewall.allowedTCPPorts = [ 80 ];\n        environment.etc."nxc-check-nonce".text = "${nonce}";`,
    )
    .replace(
      'client = { pkgs, ... }: {',
      `client = { pkgs, ... }: {\n      environment.etc."nxc-check-nonce".text = "${nonce}";`,
    );
  if (!text.includes(`${nonce}";\n      environment.systemPackages`))
    throw new Error('demo composition changed');
  writeFileSync(file, text);
  demo.commit('nonce');
});
afterAll(() => demo?.cleanup());

describe('nxc check on the demo (real Nix)', () => {
  it('a clean check exits 0 with one line saying what was checked', async () => {
    const r = await nxc('check', '-f', 'docker');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^ok: composition::docker \(client, server\) evaluated without building; checked Nix evaluation, role distribution, flavour options\n$/,
    );
    const json = await nxc('check', '-f', 'docker', '-r', 'client=2', '-p', 'client2.rate=3', '--json');
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out).toMatchObject({ ok: true, problems: [], flavour: 'docker' });
    expect(out.targets[0].nodes.map((n: { host: string }) => n.host)).toEqual([
      'client1',
      'client2',
      'server',
    ]);
    expect(out.targets[0].drvPath).toMatch(/^\/nix\/store\/.*-compose-info-composition-docker\.json\.drv$/);
    drvPath = out.targets[0].drvPath;
  });

  it('an unknown role in the distribution exits 2 naming it, and nothing is built', async () => {
    const r = await nxc('check', '-f', 'docker', '-r', 'sever=2');
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([
      'error: -r sever=2: role "sever" is not in the composition (roles: client, server)',
    ]);
    expect(r.stderr).toContain('hint: did you mean "server"?');
    expect(r.stdout).toBe('');
    // not built: no out-link, and neither the compose info nor the role systems are realised
    expect(existsSync(path.join(demo.dir, 'build'))).toBe(false);
    expect(drvPath).toBeDefined();
    const drv = drvPath as string;
    expect(valid(drv)).toBe(true); // the derivation was instantiated (the proof's control)
    const { composeInfo, systems } = outputsOf(drv);
    expect(composeInfo).toHaveLength(1);
    expect(systems).toHaveLength(2);
    for (const p of [...composeInfo, ...systems])
      expect({ path: p, valid: valid(p) }).toEqual({ path: p, valid: false });
  });

  it('several problems are all reported: unknown role, bad -O, too few machines, misrouted -p', async () => {
    const machines = path.join(demo.dir, 'machines.txt');
    writeFileSync(machines, 'node-1\nnode-1\n');
    const r = await nxc(
      'check',
      '-f',
      'docker',
      '-r',
      'clinet=1',
      '-O',
      'concurency=4',
      '-m',
      machines,
      '-p',
      'sevrer.port=80',
    );
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([
      expect.stringMatching(
        /^error: flavour docker: unknown option "concurency" \(in -O\); did you mean "concurrency"\?$/,
      ),
      'error: -r clinet=1: role "clinet" is not in the composition (roles: client, server)',
      'error: the role distribution needs 2 machines but only 1 is available',
      expect.stringMatching(/^error: parameter "sevrer.port": "sevrer" is neither a role nor a node/),
    ]);
    const json = await nxc(
      'check',
      '-f',
      'docker',
      '-r',
      'clinet=1',
      '-O',
      'concurency=4',
      '-m',
      machines,
      '--json',
    );
    expect(json.code).toBe(2);
    const out = JSON.parse(json.stdout);
    expect(out.ok).toBe(false);
    expect(out.problems.map((p: { code: string }) => p.code)).toEqual([
      'NXC_USAGE',
      'NXC_DISTRIBUTION',
      'NXC_MACHINES',
    ]);
    expect(existsSync(path.join(demo.dir, 'build'))).toBe(false);
  });

  it('a distribution file, -p and -P mistakes are reported with the others', async () => {
    const roles = path.join(demo.dir, 'roles.yaml');
    writeFileSync(roles, 'server: 0\nclinet: 2\n');
    const params = path.join(demo.dir, 'params.json');
    writeFileSync(params, '[1, 2]\n');
    const r = await nxc('check', '-f', 'docker', roles, '-p', 'novalue', '-P', params);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([
      expect.stringMatching(/params\.json: expected a JSON object of parameters$/),
      'error: -p novalue: expected KEY=VALUE',
      expect.stringMatching(/roles\.yaml: role "server": count 0 is not a positive integer$/),
      expect.stringMatching(
        /roles\.yaml: role "clinet" is not in the composition \(roles: client, server\)$/,
      ),
    ]);
    expect(r.stderr).toContain('hint: did you mean "client"?');
  });

  it('a syntax error in the composition is one error naming the file and line, exit 2', async () => {
    const file = path.join(demo.dir, 'composition.nix');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.replace('client = { pkgs, ... }: {', 'client = { pkgs, ... }: {{'));
    demo.commit('syntax error');
    try {
      const r = await nxc('check', '-f', 'docker', '-r', 'sever=1');
      expect(r.code).toBe(2);
      const errors = errorLines(r.stderr);
      expect(errors).toEqual([
        expect.stringMatching(
          /^error: evaluating composition::docker: syntax error, unexpected '\{' \(at .*composition\.nix:\d+:\d+\)$/,
        ),
      ]);
      expect(r.stderr.split('\n').filter((l) => l !== '')).toHaveLength(2); // error + hint
      // --show-trace: the same line, then Nix's trace under it
      const traced = await nxc('check', '-f', 'docker', '--show-trace');
      expect(traced.code).toBe(2);
      expect(errorLines(traced.stderr)).toEqual(errors);
      expect(traced.stderr).toMatch(/… (from call site|while evaluating)/);
    } finally {
      writeFileSync(file, good);
      demo.commit('fixed');
    }
  });
});

describe('a file the flake reads is missing (real Nix)', () => {
  it('a file the composition imports: one error naming it in the project, exit 2, for check and build', async () => {
    const file = path.join(demo.dir, 'composition.nix');
    const good = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      good.replace(
        'client = { pkgs, ... }: {',
        'client = { pkgs, ... }: {\n      imports = [ ./extra.nix ];',
      ),
    );
    demo.commit('import a missing file');
    try {
      const r = await nxc('check', '-f', 'docker');
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toBe(
        'error: evaluating composition::docker: extra.nix does not exist (the flake reads it)\n' +
          'hint: create extra.nix, or fix the path that names it (in flake.nix, or the file that imports it)\n',
      );
      const json = await nxc('check', '-f', 'docker', '--json');
      expect(JSON.parse(json.stdout).problems).toEqual([
        expect.objectContaining({ code: 'NXC_PROJECT', exitCode: 2 }),
      ]);
      const built = await nxc('build', '-f', 'docker');
      expect(built.code, built.stderr).toBe(2);
      expect(errorLines(built.stderr)).toEqual([
        'error: building composition::docker: extra.nix does not exist (the flake reads it)',
      ]);
      expect(existsSync(path.join(demo.dir, 'build'))).toBe(false);
    } finally {
      writeFileSync(file, good);
      demo.commit('fixed');
    }
  });

  it('the composition itself: one error naming it, exit 2', async () => {
    const file = path.join(demo.dir, 'composition.nix');
    const good = readFileSync(file, 'utf8');
    execFileSync('git', ['rm', '-q', 'composition.nix'], { cwd: demo.dir });
    demo.commit('no composition');
    try {
      const r = await nxc('check', '-f', 'docker');
      expect(r.code, r.stderr).toBe(2);
      expect(errorLines(r.stderr)).toEqual([
        'error: evaluating composition::docker: composition.nix does not exist (the flake reads it)',
      ]);
    } finally {
      writeFileSync(file, good);
      demo.commit('fixed');
    }
  });
});

describe('nxc build checks the flavour options before Nix', () => {
  it('a bad flavour option in the config: exit 2, one line, no build', async () => {
    const pkgFile = path.join(demo.dir, 'package.json');
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
    pkg.nxc.flavourOptions = { docker: { concurency: 4 } };
    writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
    demo.commit('bad option');
    const r = await nxc('build', '-f', 'docker');
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([
      expect.stringMatching(
        /^error: flavour docker: unknown option "concurency" \(in .*flavourOptions.*\); did you mean "concurrency"\?$/,
      ),
    ]);
    expect(existsSync(path.join(demo.dir, 'build'))).toBe(false);
  });
});
