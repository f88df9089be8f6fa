/**
 * The deployment record of a real start: the REAL demo built by real Nix, started on the real
 * Docker engine through the library. The record names store paths that exist, the two nodes
 * with the addresses the engine gave them and the times they were launched and ready, and
 * stays after stop.
 */
import { access, stat } from 'node:fs/promises';
import { listRecords, readRecord, start, stop } from '@nxc/core';
import { describe, expect, it } from 'vitest';
import { projectHash } from '../src/labels.js';
import { engineObjects, useBuiltDemo } from './harness.js';

const demo = useBuiltDemo('nxc-docker-record-');

describe('docker: the deployment record of the real demo', () => {
  it('names existing store paths and the two nodes with ready times, and outlives stop', async () => {
    const project = demo();
    const began = Date.now();
    const summary = await start(project, { flavour: 'docker', parameters: { rate: 5 } });
    expect(summary.recordFile).toBeDefined();
    const file = summary.recordFile as string;
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const { record } = await readRecord(project, file);
    expect(record).toEqual(summary.record);

    expect(record.composition).toBe('composition');
    expect(record.flavour).toBe('docker');
    expect(record.versions.plugin.name).toBe('@nxc/flavour-docker');
    expect(record.composeInfo.storePath).toMatch(/^\/nix\/store\/[0-9a-z]{32}-/);
    expect(Object.keys(record.composeInfo.roles).sort()).toEqual(['client', 'server']);
    expect(record.composeInfo.storePaths.length).toBeGreaterThanOrEqual(2);
    for (const p of [record.composeInfo.storePath as string, ...record.composeInfo.storePaths]) {
      await access(p); // throws (and fails the test) for a store path that does not exist
    }
    for (const role of Object.values(record.composeInfo.roles)) {
      expect(record.composeInfo.storePaths).toContain(role.init);
    }
    // the demo's overrides (its nixpkgs is the offline test OS) are what a rebuild needs
    expect(record.flake.overrideInputs?.nixpkgs).toBeDefined();
    expect(record.parameters).toEqual({ rate: 5 });

    expect(record.nodes.map((n) => [n.host, n.role, n.state]).sort()).toEqual([
      ['client', 'client', 'running'],
      ['server', 'server', 'running'],
    ]);
    expect(record.distribution).toEqual({ client: ['client'], server: ['server'] });
    const addresses = Object.keys(summary.deployment.deployment).sort();
    expect(record.nodes.map((n) => n.address).sort()).toEqual(addresses);
    // each node's identity, as the document gave it to the node
    for (const n of record.nodes) {
      const entry = summary.deployment.deployment[n.address];
      expect(n.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect([n.uuid, n.index, n.globalIndex]).toEqual([entry?.uuid, entry?.index, entry?.globalIndex]);
    }
    for (const n of record.nodes) {
      const launched = Date.parse(n.launchedAt as string);
      const ready = Date.parse(n.readyAt as string);
      expect(launched).toBeGreaterThanOrEqual(began);
      expect(ready).toBeGreaterThanOrEqual(launched);
      expect(ready).toBeLessThanOrEqual(Date.parse(record.endedAt));
    }

    await stop(project);
    expect(await engineObjects(projectHash(project.root))).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
    const { records, problems } = await listRecords(project);
    expect(problems).toEqual([]);
    expect(records.map((r) => [r.id, r.path, r.nodes])).toEqual([[record.id, file, 2]]);
  });
});
