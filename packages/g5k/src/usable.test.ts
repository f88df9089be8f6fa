import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExecutable, kadeployUsable, kexecUsable } from './usable.js';

// PATH variants: folders with and without stub executables named like the frontend's tools
let root: string;
let empty: string;
let oar: string;
let kadeploy: string;
let decoys: string;
const path = (...dirs: string[]) => dirs.join(delimiter);

async function stub(dir: string, name: string, mode = 0o755): Promise<void> {
  await writeFile(join(dir, name), '#!/bin/sh\nexit 0\n');
  await chmod(join(dir, name), mode);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nxc-g5k-usable-'));
  [empty, oar, kadeploy, decoys] = ['empty', 'oar', 'kadeploy', 'decoys'].map((d) => join(root, d)) as [
    string,
    string,
    string,
    string,
  ];
  for (const d of [empty, oar, kadeploy, decoys]) await mkdir(d);
  await stub(oar, 'oarstat');
  await stub(kadeploy, 'kadeploy3');
  await stub(decoys, 'oarstat', 0o644); // not executable
  await mkdir(join(decoys, 'kadeploy3')); // a folder
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('findExecutable', () => {
  it('finds the first executable file of that name on PATH, skipping folders and non-executables', async () => {
    expect(await findExecutable('oarstat', { env: { PATH: path(empty, decoys, oar) } })).toBe(
      join(oar, 'oarstat'),
    );
    expect(await findExecutable('oarstat', { env: { PATH: path(empty, decoys) } })).toBeUndefined();
    expect(await findExecutable('kadeploy3', { env: { PATH: path(decoys) } })).toBeUndefined();
    expect(await findExecutable('oarstat', { env: {} })).toBeUndefined();
  });

  it('does not read an empty PATH entry as the current folder; takes a path as it is', async () => {
    expect(
      await findExecutable('oarstat', { env: { PATH: `${delimiter}${empty}` }, cwd: oar }),
    ).toBeUndefined();
    expect(await findExecutable(join(kadeploy, 'kadeploy3'), { env: { PATH: '' } })).toBe(
      join(kadeploy, 'kadeploy3'),
    );
    expect(await findExecutable('./kadeploy3', { env: { PATH: '' }, cwd: kadeploy })).toBe(
      join(kadeploy, 'kadeploy3'),
    );
    expect(await findExecutable(join(decoys, 'oarstat'), { env: {} })).toBeUndefined();
  });
});

describe('kexecUsable (g5k-ramdisk, g5k-nfs-store)', () => {
  it('refuses off a frontend and outside a job, in one line saying what to do', async () => {
    expect(await kexecUsable({ env: { PATH: path(empty, decoys) } })).toEqual({
      reason:
        "not on a Grid'5000 frontend (no oarstat on PATH) nor inside an OAR job ($OAR_NODEFILE is not set)",
      hint: "run nxc on a Grid'5000 site frontend (e.g. `ssh rennes.g5k`) and reserve nodes there: `oarsub -I -t deploy -l nodes=N,walltime=1`",
    });
  });

  it('is usable inside an OAR job ($OAR_NODEFILE or $OAR_NODE_FILE) or on a frontend (oarstat)', async () => {
    expect(await kexecUsable({ env: { PATH: empty, OAR_NODEFILE: '/var/lib/oar/42' } })).toBeUndefined();
    expect(await kexecUsable({ env: { PATH: empty, OAR_NODE_FILE: '/var/lib/oar/42' } })).toBeUndefined();
    expect(await kexecUsable({ env: { PATH: path(empty, oar) } })).toBeUndefined();
  });
});

describe('kadeployUsable (g5k-image)', () => {
  it('needs kadeploy3, then oarstat, then a job, each refusal saying what to do', async () => {
    const noKadeploy = await kadeployUsable({ env: { PATH: path(oar, decoys), OAR_JOB_ID: '7' } });
    expect(noKadeploy?.reason).toBe(
      "kadeploy3 is not on PATH: g5k-image deploys with Kadeploy, which Grid'5000 frontends have",
    );
    expect(noKadeploy?.hint).toMatch(/ssh rennes\.g5k/);
    const noOarstat = await kadeployUsable({ env: { PATH: path(kadeploy, decoys), OAR_JOB_ID: '7' } });
    expect(noOarstat?.reason).toBe(
      "oarstat is not on PATH: g5k-image checks its OAR job with it, as on a Grid'5000 frontend",
    );
    const noJob = await kadeployUsable({ env: { PATH: path(kadeploy, oar) } });
    expect(noJob?.reason).toBe(
      'not inside an OAR job ($OAR_JOB_ID is not set): Kadeploy deploys only the nodes of a job of type deploy',
    );
    expect(noJob?.hint).toMatch(/oarsub -I -t deploy/);
    expect(await kadeployUsable({ env: { PATH: path(kadeploy, oar), OAR_JOB_ID: '' } })).toEqual(noJob);
  });

  it('is usable on a frontend inside a job, or with the options that replace them', async () => {
    expect(await kadeployUsable({ env: { PATH: path(kadeploy, oar), OAR_JOB_ID: '7' } })).toBeUndefined();
    expect(await kadeployUsable({ env: { PATH: path(kadeploy, oar) }, oarJobId: 7 })).toBeUndefined();
    expect(await kadeployUsable({ env: { PATH: kadeploy }, skipOarCheck: true })).toBeUndefined();
    expect(
      await kadeployUsable({ env: { PATH: oar, OAR_JOB_ID: '7' }, kadeploy: join(kadeploy, 'kadeploy3') }),
    ).toBeUndefined();
  });

  it('names a configured Kadeploy command that cannot run', async () => {
    const bad = await kadeployUsable({
      env: { PATH: path(kadeploy, oar) },
      kadeploy: join(decoys, 'oarstat'),
    });
    expect(bad?.reason).toBe(
      `the Kadeploy command ${join(decoys, 'oarstat')} (flavour option kadeploy) is not an executable file`,
    );
  });
});
