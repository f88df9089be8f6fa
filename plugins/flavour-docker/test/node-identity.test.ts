/**
 * Per-node identity on the real engine with the REAL demo built by real Nix: what
 * `nxc exec client2 -- cat /etc/nxc/node.json` shows (written by the boot script on the
 * node) is the role, indexes, UUID and resolved parameters of the deployment document.
 */
import { exec, start, stop } from '@nxc/core';
import { describe, expect, it } from 'vitest';
import { projectHash } from '../src/labels.js';
import { engineObjects, useBuiltDemo } from './harness.js';

const demo = useBuiltDemo('nxc-docker-identity-');

describe('docker: each node knows who it is', () => {
  it('node.json on client1 and client2 equals their entries in the deployment document', async () => {
    const project = demo();
    const summary = await start(project, {
      flavour: 'docker',
      roleFlags: ['client=2'],
      parameters: { rate: 5, 'client.rate': 10, 'client2.rate': 20, 'bench.name': 'x' },
    });
    const entries = Object.entries(summary.deployment.deployment);
    // roles in the compose info's order (Nix sorts attribute names), then the role's nodes
    expect(entries.map(([, n]) => n.host)).toEqual(['client1', 'client2', 'server']);
    const results = await exec(project, ['client1', 'client2'], ['cat', '/etc/nxc/node.json'], {
      flavour: 'docker',
    });
    for (const r of results) {
      expect(r.exitCode, r.stderr).toBe(0);
      const [address, entry] = entries.find(([, n]) => n.host === r.host)!;
      const onNode = JSON.parse(r.stdout);
      expect(onNode).toEqual({
        role: 'client',
        host: r.host,
        address,
        index: entry.index,
        globalIndex: entry.globalIndex,
        uuid: entry.uuid,
        composition: 'composition',
        flavour: 'docker',
        parameters: { 'bench.name': 'x', rate: r.host === 'client2' ? 20 : 10 },
      });
      expect(onNode.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    const byHost = Object.fromEntries(results.map((r) => [r.host, JSON.parse(r.stdout)]));
    expect([byHost.client1.index, byHost.client1.globalIndex]).toEqual([1, 0]);
    expect([byHost.client2.index, byHost.client2.globalIndex]).toEqual([2, 1]);
    expect(byHost.client1.uuid).not.toBe(byHost.client2.uuid);
    await stop(project, { flavour: 'docker' });
    expect(await engineObjects(projectHash(project.root))).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
  });
});
