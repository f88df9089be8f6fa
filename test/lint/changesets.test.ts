/**
 * The changesets configuration must be one the release tool accepts: an `ignore` glob that
 * matches no workspace package makes every `changeset` command fail (it did: two globs named
 * test fixtures that are not workspace packages). Every pending changeset names a package, and
 * no package is planned for a major release that no changeset asked for.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('changesets', () => {
  it('`changeset status` accepts the config and the pending changesets', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nxc-changesets-'));
    try {
      const out = join(dir, 'status.json');
      const result = await run(join(repo, 'node_modules', '.bin', 'changeset'), ['status', '--output', out], {
        cwd: repo,
      }).catch((error: { stdout?: string; stderr?: string; code?: number }) => error);
      expect('code' in result ? result.code : 0, `${result.stdout}\n${result.stderr}`).toBe(0);
      const status = JSON.parse(await readFile(out, 'utf8')) as {
        changesets: { releases: { name: string; type: string }[] }[];
        releases: { name: string; type: string }[];
      };
      const { stdout } = await run('pnpm', ['ls', '-r', '--depth', '-1', '--json'], { cwd: repo });
      const workspace = new Set((JSON.parse(stdout) as { name: string }[]).map((p) => p.name));
      for (const release of status.releases) expect(workspace, release.name).toContain(release.name);
      // A major release only when a changeset asks for one: a 0.x core's minor release once planned
      // 1.0.0 for every plugin that has core as a peer.
      const askedMajor = new Set(
        status.changesets.flatMap((c) => c.releases.filter((r) => r.type === 'major').map((r) => r.name)),
      );
      expect(status.releases.filter((r) => r.type === 'major' && !askedMajor.has(r.name))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
