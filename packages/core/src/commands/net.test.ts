import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeProject } from '../project.js';
import type { Project } from '../project.js';
import { deploymentPath } from '../state.js';
import { netApply, netPath, parseDelay, readNetConditions } from './net.js';
import { listDeployments } from './select.js';

let project: Project;
beforeEach(async () => {
  const root = await mkdtemp(join(tmpdir(), 'nxc-net-'));
  project = makeProject(root, {
    plugins: [],
    composition: 'composition.nix',
    nix: { flags: [], overrideInputs: {} },
    flavourOptions: {},
  });
});
afterEach(async () => {
  await rm(project.root, { recursive: true, force: true });
});

describe('nxc net: input checks', () => {
  it('parses delays as users type them', () => {
    expect(parseDelay('50ms')).toBe(50);
    expect(parseDelay('1.5s')).toBe(1500);
    expect(parseDelay('20')).toBe(20);
    expect(() => parseDelay('fast')).toThrow(/^"fast" is not a delay$/);
  });

  it('refuses an empty side or an out-of-range value before opening anything', async () => {
    await expect(netApply(project, ['client1'], [], { kind: 'partition' })).rejects.toMatchObject({
      code: 'NXC_USAGE',
      exitCode: 2,
      message: 'nxc net partition: two sets of nodes are needed',
    });
    await expect(netApply(project, ['a'], ['b'], { kind: 'loss', percent: 140 })).rejects.toMatchObject({
      code: 'NXC_USAGE',
      message: 'nxc net loss: loss 140% is out of range',
    });
    await expect(netApply(project, ['a'], ['b'], { kind: 'delay', delayMs: 0 })).rejects.toMatchObject({
      code: 'NXC_USAGE',
    });
  });
});

describe('nxc net: the conditions file', () => {
  it('absent: no condition; corrupt: one line naming the file', async () => {
    expect(await readNetConditions(project, 'composition', 'docker')).toEqual([]);
    await mkdir(project.deployDir, { recursive: true });
    await writeFile(netPath(project, 'composition', 'docker'), '{"conditions": [{"kind": "jam"}]}');
    await expect(readNetConditions(project, 'composition', 'docker')).rejects.toMatchObject({
      code: 'NXC_DEPLOYMENT',
      message: expect.stringMatching(
        /composition::docker\.net\.json is not a network conditions file nxc wrote$/,
      ),
    });
  });

  it('is not mistaken for a deployment document', async () => {
    await mkdir(project.deployDir, { recursive: true });
    await writeFile(deploymentPath(project, 'composition', 'docker'), '{}');
    await writeFile(netPath(project, 'composition', 'docker'), '{"conditions": []}');
    expect((await listDeployments(project)).map((e) => `${e.composition}::${e.flavour}`)).toEqual([
      'composition::docker',
    ]);
  });
});
