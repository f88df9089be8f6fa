// Deploy time of the kexec engine (g5k-ramdisk) to 1 and 3 Grid'5000 stand-in nodes, split
// into connect, push, kexec -l + kexec -e, and boot-to-ready; plus how many nodes' deployment
// fits the kernel command line. Needs root, qemu, nix (see scripts/setup.sh); ~3-6 minutes.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeResults } from '../../../scripts/bench-results.mjs';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const sim = (...args) => spawnSync(join(repo, 'test/g5k-sim/g5k-sim.sh'), args, { encoding: 'utf8' });
const core = await import(join(repo, 'packages/core/dist/index.js'));
const g5k = await import(join(repo, 'packages/g5k/dist/index.js'));

// 1. how many nodes fit the 2048-byte command line inline
const doc = (n) => ({
  deployment: Object.fromEntries(
    Array.from({ length: n }, (_, i) => [
      `172.16.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      // the identity nxc writes: a random UUID does not compress (~31 bytes a node)
      {
        role: i ? 'client' : 'server',
        host: i ? `client${i}` : 'server',
        index: i || 1,
        globalIndex: i,
        uuid: randomUUID(),
      },
    ]),
  ),
  'ssh_key.pub':
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDw0v1m1Zk3Kq0b8f6l2m1Pq0bq3x9yJH7rXo8ZcRkR1 nxc@project',
  composition: 'composition',
  flavour: 'g5k-ramdisk',
  user: 'alice',
});
let fit = 1;
while (
  g5k.inlineDeployment(doc(fit + 1), {
    flavourParams: 'init=/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nxc-init-composition',
  })
)
  fit++;
const fitLine = `deployment inline on the kernel command line: up to ${fit} nodes (goal: 32): ${fit >= 32 ? 'MET' : 'NOT MET'}`;
console.log(fitLine);
const summary = [`- ${fitLine}`];

// 2. deploy timings on the stand-in
const work = await mkdtemp(join(tmpdir(), 'nxc-g5k-bench-'));
try {
  const project = join(work, 'demo');
  await cp(join(repo, 'examples/demo'), project, {
    recursive: true,
    filter: (s) => !s.includes('node_modules'),
  });
  await symlink(join(repo, 'examples/demo/node_modules'), join(project, 'node_modules'));
  const pkgFile = join(project, 'package.json');
  await writeFile(
    pkgFile,
    (await readFile(pkgFile, 'utf8')).replace(
      '"../../test/fixtures/testos"',
      JSON.stringify(join(repo, 'test/fixtures/testos')),
    ),
  );
  execFileSync(
    'sh',
    ['-c', 'git init -q && git add -A && git -c user.email=b@e -c user.name=b commit -qm demo'],
    { cwd: project },
  );
  const { composeInfoPath } = await core.build(await core.loadProject(project), { flavour: 'g5k-ramdisk' });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'id')]);
  const identity = {
    privateKeyPath: join(work, 'id'),
    publicKey: (await readFile(join(work, 'id.pub'), 'utf8')).trim(),
  };
  sim('down');
  const up = sim('up', '3');
  if (up.status !== 0) throw new Error(`g5k-sim up failed: ${up.stderr}`);
  const env = Object.fromEntries(
    sim('env')
      .stdout.trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  for (const n of [1, 3]) {
    const machines = Array.from({ length: n }, (_, i) => `node-${i + 1}`);
    if (n === 3) {
      const reset = sim('reset', '1', '2', '3');
      if (reset.status !== 0) throw new Error(`reset failed: ${reset.stderr}`);
    }
    for (const m of machines) sim('ssh', m, 'rm -rf /tmp/nxc-kexec'); // measure a real push
    const reqFile = join(work, 'req.json');
    await writeFile(
      reqFile,
      JSON.stringify({
        repo,
        composeInfoFile: composeInfoPath,
        machines,
        identity,
        nodeKeys: [env.G5KSIM_ROOT_KEY],
      }),
    );
    const t0 = Date.now();
    const r = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        env.G5KSIM_NS,
        process.execPath,
        join(repo, 'packages/g5k/bench/kexec-child.mjs'),
        reqFile,
      ],
      { encoding: 'utf8' },
    );
    const total = Date.now() - t0;
    if (r.status !== 0) throw new Error(`deploy failed: ${r.stderr}`);
    const nodes = JSON.parse(r.stdout.trim().split('\n').pop());
    const max = (k) => Math.max(...nodes.map((x) => x.timings[k] ?? 0));
    const line = `${n} node(s): total ${(total / 1000).toFixed(1)} s | slowest node: connect ${max('connectMs')} ms, kernel + initrd ${max('pushMs')} ms (frontend sent ${nodes.reduce((s, x) => s + x.pushedBytes, 0)} bytes; ${nodes.map((x) => `${x.machine}:${x.source ?? '-'}`).join(' ')}), kexec ${max('kexecMs')} ms, boot-to-ready ${max('bootMs')} ms | ${nodes.map((x) => `${x.machine}:${x.status}`).join(' ')}`;
    console.log(line);
    summary.push(`- ${line}`);
  }
  writeResults(
    'kexec',
    "kexec deployment (g5k-ramdisk) on the Grid'5000 stand-in",
    'node packages/g5k/bench/kexec.bench.mjs',
    [
      'Deploy time to 1 and 3 stand-in nodes (QEMU VMs), split into connect, push, kexec and boot-to-ready.',
      '',
      ...summary,
    ],
  );
  console.log(
    `(load average: ${(await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')} on ${(await import('node:os')).cpus().length} cores)`,
  );
} finally {
  sim('down');
  await rm(work, { recursive: true, force: true });
}
