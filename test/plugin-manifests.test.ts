/**
 * Every workspace plugin's package.json manifest (`nxcPlugin`) equals what its built module
 * defines (scripts/plugin-manifests.mjs --check): `nxc flavours`, `nxc start --help` and
 * `nxc build` read the manifests without importing the plugins, so a stale one would show
 * wrong flags (and fail with NXC_PLUGIN_INVALID once the plugin is imported).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO } from './support/user-project.js';

describe('plugin manifests', () => {
  it('are up to date with the built modules (else: node scripts/plugin-manifests.mjs)', async () => {
    const r = await promisify(execFile)('node', [join(REPO, 'scripts/plugin-manifests.mjs'), '--check']).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code?: number; stderr?: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
