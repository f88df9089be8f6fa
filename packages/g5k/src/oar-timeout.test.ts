/**
 * OAR commands are bounded: a frontend whose OAR server does not answer (here: a real
 * `oarstat` on PATH that sleeps) fails with NXC_TIMEOUT naming the command, and the hung
 * command is killed rather than left behind. A runner that cannot kill is bounded too.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Oar, localRunner } from './oar.js';

let bin: string;
let marker: string;
const savedPath = process.env.PATH;

beforeAll(async () => {
  bin = await mkdtemp(join(tmpdir(), 'nxc-hung-oar-'));
  // the marker names the sleeping process, to check it is gone afterwards
  marker = `${Math.floor(Math.random() * 1e9) + 1000}`;
  await writeFile(join(bin, 'oarstat'), `#!/bin/sh\nexec sleep ${marker}\n`);
  await chmod(join(bin, 'oarstat'), 0o755);
  process.env.PATH = `${bin}:${savedPath}`;
});
afterAll(async () => {
  process.env.PATH = savedPath;
  await rm(bin, { recursive: true, force: true });
});

const sleeping = () => {
  try {
    return execFileSync('pgrep', ['-f', `sleep ${marker}`], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};

describe('OAR commands that do not answer', () => {
  it('oarstat hanging: NXC_TIMEOUT naming it within the bound, and the process is killed', async () => {
    const t0 = Date.now();
    const error = await new Oar({ timeoutMs: 700 }).job(42).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(error).toMatchObject({
      code: 'NXC_TIMEOUT',
      message: '`oarstat -J -j 42` did not answer within 0.7 s',
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(sleeping()).toBe('');
  });

  it('a runner that ignores the bound is cut off a little after it', async () => {
    const never = () => new Promise<never>(() => {});
    const t0 = Date.now();
    await expect(new Oar({ runner: never, timeoutMs: 200 }).activeJobs()).rejects.toMatchObject({
      code: 'NXC_TIMEOUT',
      message: '`oarstat -J -u` did not answer within 0.2 s',
    });
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('the local runner reports the timeout itself', async () => {
    const r = await localRunner(['oarstat', '-J'], { timeoutMs: 300 });
    expect(r).toMatchObject({ timedOut: true, exitCode: 124 });
  });
});
