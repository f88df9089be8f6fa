/**
 * Run folders on a shared machine (real QEMU, real users through setpriv): another user
 * (uid 4242) creates, before the deployment, folders with the names a run folder could take
 * (the old predictable `nxc-qemu-<id>-*` and the per-user base `nxc-<uid>`) in the temporary
 * folder. Starting and stopping a deployment, as `nobody` and as root, must work, keep its run
 * folder private, and leave the other user's folders alone.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withRepoReachable } from '../../../test/support/repo-reachable.js';
import { findQemus } from '../src/processes.js';
import { deploymentId } from '../src/vm-spec.js';
import { buildDemo } from './demo-build.mjs';

const SQUATTER = 4242;
const CHILD = join(import.meta.dirname, 'start-stop.mjs');

let composeInfo: string;
let scratch: string;

function as(
  uid: number,
  argv: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const cmd =
    uid === 0 ? argv : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...argv];
  const run = () =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(cmd[0]!, cmd.slice(1), { env, timeout: 120_000, cwd: '/' }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  // the other user runs the product's code from this repository
  return uid === 0 ? run() : withRepoReachable(run);
}

beforeAll(() => {
  composeInfo = buildDemo('vm-ramdisk');
  scratch = mkdtempSync(join(tmpdir(), 'nxc-run-folders-'));
  chmodSync(scratch, 0o755);
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('qemu run folders on a shared machine', () => {
  for (const [who, uid] of [
    ['nobody', 65534],
    ['root', 0],
  ] as const) {
    it(`${who}: another user's folders named like run folders block neither start nor stop, and stay theirs`, async () => {
      // a temporary folder like /tmp (sticky, world-writable), so the test does not touch /tmp itself
      const tmp = join(scratch, `tmp-${who}`);
      mkdirSync(tmp);
      chmodSync(tmp, 0o1777);
      const root = join(scratch, `project-${who}`);
      mkdirSync(join(root, '.nxc/ssh'), { recursive: true });
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(root, '.nxc/ssh/id_ed25519')]);
      execFileSync('chown', ['-R', `${uid}:${uid}`, root]);
      const id = deploymentId(root, 'composition', 'vm-ramdisk');
      const squats = [join(tmp, `nxc-qemu-${id}-squat`), join(tmp, `nxc-${uid}`)];
      const squat = await as(
        SQUATTER,
        ['sh', '-c', squats.map((d) => `mkdir -m 755 ${d} && touch ${d}/keep`).join(' && ')],
        { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      );
      expect(squat.code, squat.stderr).toBe(0);

      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: tmp, HOME: '/' };
      const r = await as(uid, [process.execPath, CHILD, composeInfo, root], env);
      expect(r.stderr).toBe('');
      const out = JSON.parse(r.stdout) as { start: string; stop: string; runDir?: string };
      expect(out).toMatchObject({ start: 'ok', stop: 'ok', runDirOwner: uid, runDirMode: 0o700 });
      // the run folder was private to the deploying user and is gone
      expect(out.runDir).toBeDefined();
      for (const s of squats) expect(out.runDir!.startsWith(`${s}/`)).toBe(false);
      expect(existsSync(out.runDir!)).toBe(false);
      // the other user's folders are untouched
      for (const s of squats) {
        expect(statSync(s).uid).toBe(SQUATTER);
        expect(readdirSync(s)).toEqual(['keep']);
      }
      expect(findQemus(`nxc-${id}-`)).toEqual([]);
    });
  }
});
