import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNxcError } from '@nxc/core/flavour';
import { describe, expect, it } from 'vitest';
import { checkDeployJob } from './oar-job.js';

const oarstat =
  (types: string[], state = 'Running') =>
  async (argv: string[]) => ({
    exitCode: 0,
    stdout: JSON.stringify({
      [argv[argv.length - 1]!]: {
        Job_Id: Number(argv[argv.length - 1]),
        state,
        types,
        owner: 'alice',
        assigned_network_address: ['node-1'],
      },
    }),
    stderr: '',
  });

async function error(p: Promise<unknown>): Promise<Error & { hint?: string; code?: string }> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(isNxcError(e)).toBe(true);
  return e as Error & { hint?: string };
}

describe('checkDeployJob', () => {
  it('no $OAR_JOB_ID: says how to get a deploy job', async () => {
    const e = await error(checkDeployJob({ env: {} }));
    expect(e.message).toBe(
      'g5k-image deploys with Kadeploy, which needs an OAR job of type deploy, and $OAR_JOB_ID is not set',
    );
    expect(e.hint).toMatch(/oarsub -I -t deploy/);
  });

  it('a job that is not of type deploy', async () => {
    const e = await error(
      checkDeployJob({ env: { OAR_JOB_ID: '42' }, runner: oarstat(['allow_classic_ssh']) }),
    );
    expect(e.message).toBe(
      'OAR job 42 is not of type deploy (types: allow_classic_ssh); Kadeploy refuses its nodes',
    );
  });

  it('a running deploy job passes', async () => {
    await expect(checkDeployJob({ env: { OAR_JOB_ID: '42' }, runner: oarstat(['deploy']) })).resolves.toBe(
      42,
    );
    await expect(checkDeployJob({ jobId: 7, env: {}, runner: oarstat(['deploy']) })).resolves.toBe(7);
  });
});

describe('checkDeployJob with an OAR that does not answer', () => {
  it('fails with NXC_TIMEOUT naming oarstat, within its bound', async () => {
    const bin = await mkdtemp(join(tmpdir(), 'nxc-hung-oarstat-'));
    await writeFile(join(bin, 'oarstat'), '#!/bin/sh\nexec sleep 600\n');
    await chmod(join(bin, 'oarstat'), 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      const t0 = Date.now();
      const e = await error(checkDeployJob({ jobId: 7, timeoutMs: 500 }));
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(e.code).toBe('NXC_TIMEOUT');
      expect(e.message).toBe('`oarstat -J -j 7` did not answer within 0.5 s');
    } finally {
      process.env.PATH = path;
      await rm(bin, { recursive: true, force: true });
    }
  });
});
