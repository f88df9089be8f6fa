/**
 * Tests that run part of nxc as another user (`nobody` through setpriv) need that user to reach
 * the repository's code. A fresh machine's clone sits in root's 0700 home (/root/nxc), which
 * another user cannot traverse; this machine's /work happens to be 0755, which hid it.
 */
import { chmodSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { REPO } from './user-project.js';

/**
 * Runs `work` with every folder above the repository searchable by other users (o+x, never
 * readable), then restores their modes. Safe because end-to-end files run one at a time
 * (vitest.config.ts: `fileParallelism: false`); unit tests never run code as another user
 * from the repository.
 */
export async function withRepoReachable<T>(work: () => T | Promise<T>): Promise<T> {
  const changed: [string, number][] = [];
  for (let dir = dirname(REPO); ; dir = dirname(dir)) {
    const mode = statSync(dir).mode & 0o7777;
    if ((mode & 0o001) === 0) {
      changed.push([dir, mode]);
      chmodSync(dir, mode | 0o001);
    }
    if (dirname(dir) === dir) break;
  }
  try {
    return await work();
  } finally {
    for (const [dir, mode] of changed) chmodSync(dir, mode);
  }
}
