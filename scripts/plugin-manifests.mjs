#!/usr/bin/env node
// Writes each workspace plugin's manifest (package.json `nxcPlugin`) from its built module, so
// that listing flavours imports no plugin code; `--check` only compares (exit 1 on a
// difference). test/plugin-manifests.test.ts fails when a manifest is stale.
// Needs the plugins and @nxc/core built (`pnpm -s build`).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

const repo = fileURLToPath(new URL('..', import.meta.url));
const { pluginManifest } = await import(pathToFileURL(join(repo, 'packages/core/dist/index.js')).href);
const check = process.argv.includes('--check');
let stale = 0;
for (const name of readdirSync(join(repo, 'plugins')).sort()) {
  const dir = join(repo, 'plugins', name);
  const file = join(dir, 'package.json');
  const text = readFileSync(file, 'utf8');
  const pkg = JSON.parse(text);
  const mod = await import(pathToFileURL(join(dir, pkg.exports['.'].import)).href);
  const plugin = typeof mod.default === 'function' ? await mod.default() : mod.default;
  const manifest = pluginManifest(plugin, dir);
  if (isDeepStrictEqual(pkg.nxcPlugin, manifest)) continue;
  stale++;
  if (check) {
    console.error(`${pkg.name}: package.json nxcPlugin is stale (run node scripts/plugin-manifests.mjs)`);
    continue;
  }
  // the manifest is kept as the file's last key; the rest of the file is left as written
  const at = text.indexOf(',\n  "nxcPlugin":');
  const head = (at >= 0 ? text.slice(0, at) : text.slice(0, text.lastIndexOf('\n}'))).trimEnd();
  const body = JSON.stringify(manifest, null, 2).replace(/\n/g, '\n  ');
  writeFileSync(file, `${head},\n  "nxcPlugin": ${body}\n}\n`);
  console.log(`${pkg.name}: manifest written`);
}
process.exit(check && stale > 0 ? 1 : 0);
