import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ExperimentOptions, checkExperiment, experiment } from './experiment.js';

const scratch = await mkdtemp(join(tmpdir(), 'nxc-experiment-unit-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

const base = (extra: Partial<ExperimentOptions> = {}): ExperimentOptions => ({
  project: scratch,
  flavour: 'docker',
  results: join(scratch, 'results'),
  steps: [{ name: 'a', run: 'true' }],
  ...extra,
});

describe('checkExperiment: mistakes refused before anything is done (exit 2)', () => {
  it.each([
    [{ steps: [{ name: '../x', run: 'true' }] }, /step 1: name "\.\.\/x" cannot be a folder of the results/],
    [{ steps: [{ name: 'record.json', run: 'true' }] }, /name "record\.json" cannot be/],
    [
      {
        steps: [
          { name: 'a', run: 'true' },
          { name: 'a', collect: '/tmp/x' },
        ],
      },
      /step 2: the name "a" is used twice/,
    ],
    [{ steps: [{ name: 'a' }] }, /step 1 \(a\): says nothing to do/],
    [{ steps: [{ name: 'a', run: 'true', collect: '/x' }] }, /step 1 \(a\): has both run and collect/],
    [{ steps: [{ name: 'a', collect: 'tmp/x' }] }, /collect path "tmp\/x" is not absolute/],
    [{ oar: { name: 'j' }, start: { machineFile: 'm' } }, /both oar and start\.machineFile/],
    [{ steps: undefined }, /steps is not a list/],
    [{ steps: [{ name: 'a', call: 'echo' }] }, /step 1 \(a\): call is not a function/],
  ])('%#', async (extra, message) => {
    const opts = base(extra as Partial<ExperimentOptions>);
    const error = await checkExperiment(opts).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NXC_USAGE', exitCode: 2 });
    expect((error as Error).message).toMatch(message);
  });

  it('a results folder that is not empty is refused, and left as it was', async () => {
    const results = join(scratch, 'used');
    await mkdir(results);
    await writeFile(join(results, 'old.txt'), 'old');
    await expect(experiment(base({ results }))).rejects.toMatchObject({
      code: 'NXC_USAGE',
      message: `results folder ${results} is not empty`,
    });
    expect(await readdir(results)).toEqual(['old.txt']);
  });

  it('a new folder (or an empty one) is accepted, and not created by the check', async () => {
    const results = join(scratch, 'new');
    expect(await checkExperiment(base({ results }))).toBe(results);
    await expect(readdir(results)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
