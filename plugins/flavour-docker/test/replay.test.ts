/**
 * `nxc start --replay` on the real engine with the REAL demo built by real Nix: start ->
 * stop -> replay brings up the same nodes from the same store paths, with the same
 * parameters and the same per-node UUIDs (read from `/etc/nxc/node.json` on the nodes); `-p`
 * on a replay makes a replication; a flag that conflicts with the record is refused before
 * anything is created.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { artifactDir, exec, isNxcError, readRecord, start, stop } from '@nxc/core';
import { describe, expect, it } from 'vitest';
import { projectHash } from '../src/labels.js';
import { engineObjects, useBuiltDemo } from './harness.js';

const demo = useBuiltDemo('nxc-docker-replay-');

async function nodeJson(project: ReturnType<typeof demo>, hosts: string[]) {
  const results = await exec(project, hosts, ['cat', '/etc/nxc/node.json'], { flavour: 'docker' });
  const out: Record<string, { uuid: string; index: number; globalIndex: number; parameters: unknown }> = {};
  for (const r of results) {
    expect(r.exitCode, r.stderr).toBe(0);
    out[r.host] = JSON.parse(r.stdout);
  }
  return out;
}

describe('docker: nxc start --replay', () => {
  it('start -> stop -> replay: same nodes, store paths, parameters and uuids; -p makes a replication', async () => {
    const project = demo();
    const first = await start(project, {
      flavour: 'docker',
      roleFlags: ['client=2'],
      parameters: { rate: 5, 'client2.rate': 20 },
    });
    const original = first.record;
    if (!original) throw new Error('the first start wrote no record');
    expect(original.identity).toEqual({ kind: 'project' });
    expect(original.replayOf).toBeUndefined();
    const before = await nodeJson(project, ['client1', 'client2', 'server']);
    const written = async () => ({
      document: await readFile(first.deploymentFile, 'utf8'),
      compose: await readFile(
        join(artifactDir(project, 'composition', 'docker'), 'docker-compose.json'),
        'utf8',
      ),
    });
    const firstFiles = await written();
    await stop(project, { flavour: 'docker' });

    const again = await start(project, { replay: original.id.slice(-8) });
    const replayed = again.record;
    if (!replayed) throw new Error('the replay wrote no record');
    expect(replayed.id).not.toBe(original.id);
    expect(replayed.replayOf).toBe(original.id);
    expect(replayed.replication).toBe(false);
    expect(replayed.composeInfoOrigin).toBe('recorded');
    expect(replayed.composeInfo.storePath).toBe(original.composeInfo.storePath);
    expect(replayed.composeInfo.storePaths).toEqual(original.composeInfo.storePaths);
    expect(replayed.composeInfo.roles).toEqual(original.composeInfo.roles);
    expect(replayed.distribution).toEqual(original.distribution);
    expect(replayed.parameters).toEqual({ rate: 5, 'client2.rate': 20 });
    expect(replayed.flavourOptions).toEqual(original.flavourOptions);
    const ident = (r: typeof original) =>
      r.nodes.map((n) => [n.host, n.role, n.index, n.globalIndex, n.uuid]);
    expect(ident(replayed)).toEqual(ident(original));
    const after = await nodeJson(project, ['client1', 'client2', 'server']);
    for (const host of ['client1', 'client2', 'server']) {
      expect(after[host]?.uuid).toBe(before[host]?.uuid);
      expect(after[host]?.parameters).toEqual(before[host]?.parameters);
    }
    expect(after.client2?.parameters).toEqual({ rate: 20 });
    // determinism: with the same inputs, what nxc wrote is byte-identical (the deployment
    // document the nodes read, the docker-compose file of the engine objects)
    expect(await written()).toEqual(firstFiles);
    // the replay's record is a record like any other (listed, readable by its id)
    expect((await readRecord(project, replayed.id)).record).toEqual(replayed);
    await stop(project, { flavour: 'docker' });

    // -p on a replay: a replication, and its record says which parameter changed
    const replication = await start(project, { replay: original.id, parameters: { rate: 7 } });
    expect(replication.record?.replayOf).toBe(original.id);
    expect(replication.record?.replication).toBe(true);
    expect(replication.record?.changedParameters).toEqual(['rate']);
    expect(replication.record?.parameters).toEqual({ rate: 7, 'client2.rate': 20 });
    const varied = await nodeJson(project, ['client1', 'client2']);
    expect(varied.client1?.parameters).toEqual({ rate: 7 });
    expect(varied.client2?.parameters).toEqual({ rate: 20 });
    expect(varied.client2?.uuid).toBe(before.client2?.uuid);
    await stop(project, { flavour: 'docker' });

    // a flag that deploys something else is refused before anything is created
    const refused = await start(project, { replay: original.id, flavour: 'vm' }).catch((e: unknown) => e);
    expect(isNxcError(refused) && [refused.exitCode, refused.message]).toEqual([
      2,
      `--replay: -f vm conflicts with the record (record ${original.id} deployed composition::docker)`,
    ]);
    const roles = await start(project, { replay: original.id, roleFlags: ['client=3'] }).catch(
      (e: unknown) => e,
    );
    expect(isNxcError(roles) && roles.exitCode).toBe(2);
    expect(await engineObjects(projectHash(project.root))).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
  });
});
