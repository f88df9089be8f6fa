/**
 * Two projects starting at the same moment on one engine: each gets its own network with a
 * distinct subnet (the loser of a subnet race retries the next one), and stopping one does
 * not touch the other.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ComposeInfo } from '@nxc/core';
import type { FlavourDeployer } from '@nxc/core/flavour';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import plugin from '../src/index.js';
import { projectHash } from '../src/labels.js';
import { fakeBuild } from './fake-build.mjs';
import { engineObjects, harness, plan, removeProject, tempProject } from './harness.js';

let deployer: FlavourDeployer;
let info: ComposeInfo;
let buildDir: string;
const projects = [tempProject(), tempProject()];
const hs = projects.map((p) => harness(p));

beforeAll(async () => {
  deployer = await plugin.flavours[0]!.deployer();
  buildDir = mkdtempSync(join(tmpdir(), 'nxc-fake-build-'));
  info = fakeBuild(buildDir);
});

afterAll(async () => {
  for (const h of hs) await deployer?.stop(await h.runningContext()).catch(() => {});
  for (const p of projects) removeProject(p);
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
});

describe('docker flavour, two deployments at once', () => {
  it('gives each its own subnet and keeps them apart', async () => {
    const [a, b] = await Promise.all(
      hs.map((h) => deployer.start(h.startContext(info, plan({ server: 1, client: 1 })))),
    );
    const subnetOf = (address: string) => address.split('.').slice(0, 3).join('.');
    expect(subnetOf(a!.nodes[0]!.address)).not.toBe(subnetOf(b!.nodes[0]!.address));
    // same hostnames in both deployments, each resolves to its own server
    for (const [i, h] of hs.entries()) {
      const t = await deployer.transport(await h.runningContext());
      const r = await t.exec(
        'client',
        'wget -qO- http://server/ >/dev/null && ping -c1 -W1 server | head -1',
      );
      const server = (i === 0 ? a : b)!.nodes.find((n) => n.host === 'server')!;
      expect(r.stdout).toContain(`(${server.address})`);
    }
    await deployer.stop(await hs[0]!.runningContext());
    expect((await engineObjects(projectHash(projects[0]!.root))).containers).toEqual([]);
    expect((await engineObjects(projectHash(projects[1]!.root))).containers).toHaveLength(2);
    await deployer.stop(await hs[1]!.runningContext());
    expect(await engineObjects(projectHash(projects[1]!.root))).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
  });
});
