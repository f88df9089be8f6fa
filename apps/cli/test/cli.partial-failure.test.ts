/**
 * A start where the flavour keeps the healthy nodes but reports one as failed: `nxc start`
 * exits 1 naming it, the deployment stays, and `--retry-failed` is accepted on top of it
 * (no "already running" refusal, nothing cleaned up).
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, composeInfo, fakeFlavour, makeProject, runNxc } from './helpers.js';

let dir: string;
/** Node UUIDs by host after the first start. */
let firstUuids: Record<string, string>;

async function uuidsByHost(): Promise<Record<string, string>> {
  const doc = JSON.parse(await readFile(path.join(dir, 'deploy/composition::fake.json'), 'utf8'));
  return Object.fromEntries(
    Object.values(doc.deployment as Record<string, { host: string; uuid: string }>).map((n) => [
      n.host,
      n.uuid,
    ]),
  );
}

beforeAll(async () => {
  assertBuilt();
  dir = await makeProject(
    {
      'flake.nix': '{ outputs = _: { }; }\n',
      'nxc.config.json': { plugins: [fakeFlavour] },
      'ci.json': composeInfo({}),
    },
    { 'composition::fake': 'ci.json' },
  );
});
afterAll(async () => {
  await runNxc(dir, ['stop']);
  await rm(dir, { recursive: true, force: true });
});

describe('nxc start with a node that failed', () => {
  it('exits 1 naming the failed node; the deployment of the others stays', async () => {
    const r = await runNxc(dir, ['start', '-r', 'client=2'], { NXC_FAKE_LAST_NODE_EXITED: '1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: 1 of 3 node\(s\) failed: client2 \(exited: fake boot failure\)$/m);
    expect(r.stderr).toMatch(/^hint: .*--retry-failed/m);
    const doc = JSON.parse(await readFile(path.join(dir, 'deploy/composition::fake.json'), 'utf8'));
    expect(Object.values(doc.deployment).map((n) => (n as { host: string }).host)).toEqual([
      'server',
      'client1',
      'client2',
    ]);
    firstUuids = await uuidsByHost();
    expect(new Set(Object.values(firstUuids)).size).toBe(3);
  });

  it('a plain start again is refused while the others run', async () => {
    const r = await runNxc(dir, ['start', '-r', 'client=2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is already running/);
  });

  it("--retry-failed calls the flavour's retryFailed; --yes and the kexec-like flags reach its options typed", async () => {
    const r = await runNxc(
      dir,
      [
        'start',
        '-r',
        'client=2',
        '--retry-failed',
        '--yes',
        '--push-path',
        '/tmp/k',
        '--reuse',
        '--remote-deployment-info',
        '--port',
        '8099',
      ],
      {
        NXC_FAKE_LAST_NODE_EXITED: '1',
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const state = JSON.parse(await readFile(path.join(dir, 'deploy/composition::fake.state.json'), 'utf8'));
    expect(state.retried).toBe(true);
    // the same deployment: the redeployed node and the kept ones keep their UUIDs
    expect(await uuidsByHost()).toEqual(firstUuids);
    expect(state.options).toEqual({
      yes: true,
      pushPath: '/tmp/k',
      reuse: true,
      remoteDeploymentInfo: true,
      port: 8099,
    });
  });
});
