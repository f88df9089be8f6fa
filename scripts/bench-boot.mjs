#!/usr/bin/env node
// What one node's boot costs against the size of the deployment (issue #17: node boot in O(1)
// per node). Runs the product's node boot script (nix/boot/nxc-boot.sh --setup-only, the same
// file every image runs) on a scratch root, with deployment documents of 1 to 1000 nodes, the
// node looked up being the last entry; CPU = user + sys of the script and everything it starts
// (via /usr/bin/time), median of NXC_BENCH_RUNS (default 20) fresh runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mdTable, writeResults } from './bench-results.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const script = join(root, 'nix/boot/nxc-boot.sh');
const runs = Number(process.env.NXC_BENCH_RUNS ?? 20);
const sizes = [1, 10, 100, 1000];
const shell = existsSync('/bin/dash') ? '/bin/dash' : '/bin/sh';
const timeBin = '/usr/bin/time';
if (!existsSync(timeBin)) {
  console.error('bench-boot: /usr/bin/time is missing (apt install time)');
  process.exit(1);
}

/** A deployment document of `n` nodes as nxc writes it (IP-keyed entries, identity, init). */
function documentOf(n) {
  const deployment = {};
  for (let i = 0; i < n; i++) {
    const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 255) + 1}`;
    const role = i === 0 ? 'server' : 'client';
    deployment[address] = {
      role,
      host: i === 0 ? 'server' : `client${i}`,
      init: '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-node/init',
      index: i === 0 ? 1 : i,
      globalIndex: i,
      uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    };
  }
  return {
    deployment,
    'ssh_key.pub': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchBenchBenchBenchBenchBenchBenchBenchBen nxc',
    composition: 'composition',
    flavour: 'docker',
    parameters: {},
  };
}

const work = mkdtempSync(join(tmpdir(), 'nxc-bench-boot-'));
const results = [];
try {
  for (const n of sizes) {
    const doc = documentOf(n);
    const last = Object.keys(doc.deployment).at(-1);
    const docFile = join(work, `deployment-${n}.json`);
    writeFileSync(docFile, JSON.stringify(doc));
    const cpu = [];
    for (let i = 0; i < runs; i++) {
      const nodeRoot = join(work, `root-${n}-${i}`);
      mkdirSync(join(nodeRoot, 'etc/nxc'), { recursive: true });
      writeFileSync(join(nodeRoot, 'etc/nxc/deployment.json'), JSON.stringify(doc));
      const r = spawnSync(timeBin, ['-f', 'NXC_BENCH_CPU %U %S', shell, script, '--setup-only'], {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          NXC_ROOT: nodeRoot,
          NXC_CMDLINE: '/dev/null',
          NXC_ADDRESSES: last,
          NXC_HOSTNAME: 'unset',
        },
      });
      const m = /NXC_BENCH_CPU ([\d.]+) ([\d.]+)/.exec(r.stderr);
      if (r.status !== 0 || !m) {
        console.error(`bench-boot: the boot script failed for ${n} nodes: ${(r.stdout + r.stderr).trim()}`);
        process.exit(1);
      }
      cpu.push((Number(m[1]) + Number(m[2])) * 1000);
      rmSync(nodeRoot, { recursive: true, force: true });
    }
    cpu.sort((a, b) => a - b);
    results.push({ n, median: cpu[Math.floor(cpu.length / 2)], bytes: JSON.stringify(doc).length });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const base = results.find((r) => r.n === 10);
const big = results.at(-1);
const perThousand = ((big.median - base.median) / (big.n - base.n)) * 1000;
console.log(`node boot script (${shell}), CPU per node, median of ${runs}:`);
for (const r of results)
  console.log(`  ${String(r.n).padStart(5)} nodes (${r.bytes} bytes): ${r.median.toFixed(0)} ms`);
console.log(
  `per node: ${(big.median / base.median).toFixed(2)} × at ${big.n} nodes against ${base.n}; +${perThousand.toFixed(0)} ms per 1000 nodes in the document`,
);
writeResults('boot', 'Node boot script against the size of the deployment', 'node scripts/bench-boot.mjs', [
  `The product's \`nix/boot/nxc-boot.sh --setup-only\` (${shell}) on a scratch root, the node looked up being`,
  "the document's last entry; CPU = user + sys of the script and what it starts, median of",
  `${runs} fresh runs. A docker host pays this once per node, all nodes sharing its CPU.`,
  '',
  ...mdTable(
    ['nodes in the document', 'document', 'CPU per node', 'against 10 nodes'],
    results.map((r) => [
      String(r.n),
      `${(r.bytes / 1024).toFixed(1)} KiB`,
      `${r.median.toFixed(0)} ms`,
      `${(r.median / base.median).toFixed(2)} ×`,
    ]),
    ['---:', '---:', '---:', '---:'],
  ),
  '',
  `- each node reads the whole document with one \`jq\`: +${perThousand.toFixed(0)} ms per 1000 nodes in the document, per node`,
]);
