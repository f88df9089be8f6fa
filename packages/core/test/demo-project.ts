/**
 * Test helpers: the offline test OS (downloaded once by its setup.sh) and throw-away,
 * git-initialised copies of examples/demo whose Nix overrides are absolute paths; shared
 * with the flavours' tests (test/fixtures/demo-project.mjs).
 */
import {
  DEMO,
  OFFLINE_NIX_FLAGS,
  REPO,
  TESTOS,
  demoProject,
  ensureTestOs,
} from '../../../test/fixtures/demo-project.mjs';

export { DEMO, REPO, TESTOS, ensureTestOs };

/** Offline-safe Nix flags for tests (no binary cache here). */
export const TEST_NIX_FLAGS: string = OFFLINE_NIX_FLAGS;

/** A git-initialised copy of examples/demo in a temp dir; `cleanup()` removes it. */
export function demoCopy(prefix = 'nxc-demo-'): {
  dir: string;
  cleanup: () => void;
  commit: (msg: string) => void;
} {
  return demoProject(prefix);
}
