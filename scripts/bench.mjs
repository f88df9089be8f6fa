#!/usr/bin/env node
// `pnpm bench`: runs every benchmark script of the repository in turn and prints their figures.
// Benchmarks need the same machine as the tests (scripts/setup.sh): dockerd, nix, qemu.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2);

const benches = [
  join(root, 'scripts/bench-cli.mjs'),
  join(root, 'scripts/bench-check.mjs'),
  join(root, 'scripts/bench-build.mjs'),
  join(root, 'scripts/bench-boot.mjs'),
];
for (const group of ['plugins', 'packages']) {
  for (const pkg of readdirSync(join(root, group))) {
    const dir = join(root, group, pkg, 'bench');
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) if (/\.bench\.m?js$/.test(f)) benches.push(join(dir, f));
  }
}

let failed = 0;
for (const file of benches) {
  if (!existsSync(file)) continue;
  const name = file.slice(root.length + 1);
  if (only.length && !only.some((o) => name.includes(o))) continue;
  console.log(`\n=== ${name}`);
  const r = spawnSync(process.execPath, [file], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) {
    failed++;
    console.log(`!!! ${name} exited with ${r.status ?? r.signal}`);
  }
}
process.exit(failed ? 1 : 0);
