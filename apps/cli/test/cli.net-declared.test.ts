/**
 * Declared network conditions at start, through the real CLI and loader with the fake plugin
 * flavour (which has no network capability): mistakes in `--net FILE` or in the composition's
 * `network` list, and a flavour that cannot apply them, are refused in one line before
 * anything is started (nothing in deploy/).
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, composeInfo, fakeFlavour, makeProject, runNxc, stateListing } from './helpers.js';

let dir: string;

beforeAll(async () => {
  assertBuilt();
  dir = await makeProject(
    {
      'flake.nix': '{ outputs = _: { }; }\n',
      'nxc.config.json': { plugins: [fakeFlavour] },
      'ci.json': composeInfo(),
      'declared.json': composeInfo({ network: [{ from: '@client', to: '@server', delay: '50ms' }] }),
    },
    { 'composition::fake': 'ci.json' },
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const deployFiles = async () => (await stateListing(dir)).filter((p) => p.startsWith('deploy/'));

describe('nxc start --net / a composition network list', () => {
  it.each([
    [
      'not-a-list.json',
      '{"from": "@client"}',
      /^error: --net .*not-a-list\.json: expected a list of conditions$/m,
    ],
    [
      'bad.json',
      '[{"from": "@client", "to": "@server", "speed": 1}]',
      /^error: --net .*bad\.json, entry 1: .*speed/m,
    ],
    ['syntax.json', '[{', /^error: --net .*syntax\.json: not valid JSON/m],
    [
      'role.yaml',
      '- { from: "@client", to: "@nobody", delay: 50ms }\n',
      /^error: no node has role "nobody" in the --net, entry 1: to/m,
    ],
    [
      'range.yaml',
      '- { from: "@client", to: "@server", loss: 120 }\n',
      /^error: --net, entry 1: nxc net loss: loss 120% is out of range$/m,
    ],
  ])('%s is refused in one line, exit 2, nothing started', async (name, text, message) => {
    await writeFile(path.join(dir, name), text);
    const r = await runNxc(dir, ['start', '--net', name]);
    expect(r.stderr).toMatch(message);
    expect(r.code, r.stderr).toBe(2);
    expect(await deployFiles()).toEqual([]);
  });

  it('a flavour without the capability refuses declared conditions before starting (exit 3)', async () => {
    await writeFile(path.join(dir, 'ok.json'), '[{"from": "@client", "to": "@server", "delay": "50ms"}]');
    const r = await runNxc(dir, ['start', '--net', 'ok.json']);
    expect(r.stderr).toMatch(
      /^error: network conditions are not supported by the fake flavour yet \(--net declares some\)$/m,
    );
    expect(r.code).toBe(3);
    expect(await deployFiles()).toEqual([]);
    const c = await runNxc(dir, ['start', '--compose-info', 'declared.json']);
    expect(c.stderr).toMatch(/\(composition composition: network declares some\)$/m);
    expect(c.code).toBe(3);
    expect(await deployFiles()).toEqual([]);
  });
});
