/**
 * The user's workflow on the docker flavour, through the real `nxc` binary, in a temp copy of
 * examples/demo: build (real Nix), start 1 server + 3 clients (real dockerd), exec, status,
 * connect through tmux, stop leaving no container behind.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, nxcBin, repoRoot, runNxc } from './helpers.js';

const demo = path.join(repoRoot, 'examples/demo');
const socket = `nxc-e2e-${process.pid}`;
let dir: string;

function tmux(...args: string[]): string {
  const { TMUX: _outer, ...env } = process.env;
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', env }).trim();
}

async function waitFor(pane: string, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let screen = '';
  while (Date.now() < deadline) {
    screen = tmux('capture-pane', '-p', '-t', pane);
    if (pattern.test(screen)) return screen;
    await sleep(150);
  }
  throw new Error(`pane ${pane} never showed ${pattern}; screen:\n${screen}`);
}

/** Containers and networks the docker flavour labelled with this project's root. */
function leftovers(): string[] {
  const filter = `label=nxc.project.root=${dir}`;
  const containers = execFileSync('docker', ['ps', '-aq', '--filter', filter], { encoding: 'utf8' });
  const networks = execFileSync('docker', ['network', 'ls', '-q', '--filter', filter], { encoding: 'utf8' });
  return [...containers.split('\n'), ...networks.split('\n')].filter(Boolean);
}

beforeAll(async () => {
  assertBuilt();
  if (!existsSync(demo)) throw new Error(`${demo} missing: the demo project is needed for this test`);
  dir = await mkdtemp(path.join(tmpdir(), 'nxc-demo-'));
  await cp(demo, dir, {
    recursive: true,
    filter: (src) =>
      !/\/(node_modules|build|deploy|artifact|\.nxc|result)(\/|$)/.test(src.slice(demo.length)),
  });
  // the project's flavour packages, as installed in the workspace
  await symlink(path.join(demo, 'node_modules'), path.join(dir, 'node_modules'));
  // relative override paths (the offline test OS) point back into the repository
  const pkgFile = path.join(dir, 'package.json');
  const pkg = JSON.parse(await readFile(pkgFile, 'utf8'));
  const inputs: Record<string, string> = pkg.nxc?.nix?.overrideInputs ?? {};
  for (const [name, p] of Object.entries(inputs)) if (p.startsWith('.')) inputs[name] = path.resolve(demo, p);
  await writeFile(pkgFile, JSON.stringify(pkg, null, 2));
  execFileSync('sh', [path.join(repoRoot, 'test/fixtures/testos/setup.sh')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}, 600_000);

afterAll(async () => {
  try {
    tmux('kill-server');
  } catch {
    // none
  }
  rmSync(path.join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.()}`, socket), { force: true });
  if (dir) {
    await runNxc(dir, ['stop'], {}, 120_000);
    await rm(dir, { recursive: true, force: true });
  }
});

describe('nxc on docker (examples/demo)', () => {
  it('builds', async () => {
    const r = await runNxc(dir, ['build', '-f', 'docker'], {}, 600_000);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(dir, 'build/composition::docker'))).toBe(true);
  }, 600_000);

  it('starts one server and three clients', async () => {
    const r = await runNxc(dir, ['start', '-r', 'client=3', '--json'], {}, 300_000);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.nodes.map((n: { host: string }) => n.host).sort()).toEqual([
      'client1',
      'client2',
      'client3',
      'server',
    ]);
  }, 300_000);

  it('execs a request from a client to the server', async () => {
    const r = await runNxc(dir, ['exec', 'client1', '--', 'wget -qO- http://server/'], {}, 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^client1 \| \S/m);
  });

  it('execs on @client: three per-node results, a failing node reported with its stderr', async () => {
    const r = await runNxc(dir, [
      'exec',
      '@client',
      '--json',
      '--',
      'if [ "$(hostname)" = client2 ]; then echo nope >&2; exit 4; fi; hostname',
    ]);
    expect(r.code).toBe(1);
    const { results } = JSON.parse(r.stdout);
    expect(results.map((x: { host: string; exitCode: number }) => [x.host, x.exitCode])).toEqual([
      ['client1', 0],
      ['client2', 4],
      ['client3', 0],
    ]);
    expect(results[1].stderr).toBe('nope\n');
    expect(results[0].stdout).toBe('client1\n');
  });

  it('runs a test script file with nxc driver', async () => {
    await writeFile(
      path.join(dir, 'check.py'),
      'start_all()\nserver.wait_for_open_port(80)\nfor c in [client1, client2, client3]:\n    assert "hello" in c.succeed("wget -qO- http://server/")\nclient2.fail("false")\n',
    );
    const r = await runNxc(dir, ['driver', 'check.py'], {}, 300_000);
    expect(r.code, r.stderr + r.stdout).toBe(0);
  }, 300_000);

  it("nxc driver -t: the demo's own testScript passes with 3 clients, one line per subtest", async () => {
    const r = await runNxc(dir, ['driver', '-t'], {}, 300_000);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/subtest ok: every client reaches the server by hostname/);
    expect(out).toMatch(/client3: must succeed: wget -qO- http:\/\/server\//);
  }, 300_000);

  it('nxc driver: a failing assertion names the script line, node and command; exit 1', async () => {
    await writeFile(
      path.join(dir, 'bad.py'),
      'start_all()\nserver.succeed("true")\nclient2.succeed("exit 3")\n',
    );
    const r = await runNxc(dir, ['driver', 'bad.py'], {}, 300_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: bad\.py line 3: client2: command `exit 3` failed \(exit code 3\)$/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 300_000);

  it('reports status as JSON', async () => {
    const r = await runNxc(dir, ['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [d] = JSON.parse(r.stdout).deployments;
    expect(d.flavour).toBe('docker');
    expect(d.nodes.every((n: { state: string }) => n.state === 'running')).toBe(true);
  });

  it('connects to the server in a tmux pane', async () => {
    tmux(
      'new-session',
      '-d',
      '-s',
      'c',
      '-x',
      '120',
      '-y',
      '30',
      '-c',
      dir,
      `${process.execPath} ${nxcBin} connect server; echo "NXC_EXIT=$?"; sleep 60`,
    );
    await sleep(1500);
    tmux('send-keys', '-t', 'c', 'echo "on-$(hostname)-$((6*7))"', 'Enter');
    await waitFor('c', /on-server-42/);
    tmux('send-keys', '-t', 'c', 'exit 3', 'Enter');
    await waitFor('c', /NXC_EXIT=3/);
  });

  it('connects to two hosts: two panes', async () => {
    tmux(
      'new-session',
      '-d',
      '-s',
      'd',
      '-x',
      '160',
      '-y',
      '40',
      '-c',
      dir,
      `${process.execPath} ${nxcBin} connect server client1; echo "NXC_EXIT=$?"; sleep 60`,
    );
    await waitFor('d:0', /NXC_EXIT=0/);
    const panes = tmux('list-panes', '-t', 'd:nxc', '-F', '#{pane_id}').split('\n');
    expect(panes).toHaveLength(2);
    await sleep(1500);
    tmux('send-keys', '-t', panes[1]!, 'echo "pane-$(hostname)"', 'Enter');
    await waitFor(panes[1]!, /pane-client1/);
  });

  it('stops, leaving no container', async () => {
    const r = await runNxc(dir, ['stop'], {}, 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(dir, 'deploy/composition::docker.json'))).toBe(false);
    expect(leftovers()).toEqual([]);
  }, 120_000);
});
