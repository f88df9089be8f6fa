import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { makeProject } from '../project.js';
import type { Project } from '../project.js';
import { statePath } from '../state.js';
import type { FlavourDeployer } from '../transposition.js';
import { readState, writeState } from './running.js';

const stateSchema = z.object({ pids: z.array(z.number().int()) }).strict();
const deployer = { stateSchema } as unknown as FlavourDeployer;

let project: Project;
beforeEach(async () => {
  const root = await mkdtemp(join(tmpdir(), 'nxc-state-'));
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

describe('flavour state', () => {
  it('is written atomically and read back typed', async () => {
    await writeState(project, 'composition', 'vm', deployer, { pids: [12, 13] });
    expect(await readState(project, 'composition', 'vm', stateSchema)).toEqual({ pids: [12, 13] });
    expect(await readState(project, 'composition', 'docker', stateSchema)).toBeUndefined();
  });

  it('a state the schema refuses is a bug of the flavour when saved, one clear line when read back', async () => {
    await expect(writeState(project, 'composition', 'vm', deployer, { pids: ['x'] })).rejects.toThrow(
      /^flavour vm saved a state its stateSchema refuses: pids\[0\]: expected number, got string$/,
    );
    await mkdir(project.deployDir, { recursive: true });
    await writeFile(statePath(project, 'composition', 'vm'), JSON.stringify({ pids: [1], extra: true }));
    await expect(readState(project, 'composition', 'vm', stateSchema)).rejects.toMatchObject({
      code: 'NXC_DEPLOYMENT',
      message: expect.stringMatching(
        /composition::vm\.state\.json: not a state of flavour vm \(unknown key "extra"\)$/,
      ),
      hint: '`nxc stop -C composition::vm` removes its nodes without it',
    });
  });
});
