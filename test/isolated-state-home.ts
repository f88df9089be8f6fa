/**
 * Vitest global setup: every test run gets its own XDG_STATE_HOME (where nxc keeps project
 * SSH keys), removed at the end, so tests never read or litter the user's ~/.local/state/nxc.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'nxc-test-state-'));
  process.env.XDG_STATE_HOME = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
