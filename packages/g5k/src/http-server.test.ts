import { createHash } from 'node:crypto';
import type { DeploymentDocument } from '@nxc/core/flavour';
import { describe, expect, it } from 'vitest';
import { serveDeployment, sourceAddressFor } from './http-server.js';

const doc: DeploymentDocument = {
  deployment: { '127.0.0.1': { role: 'server', host: 'server' } },
  'ssh_key.pub': 'ssh-ed25519 AAAA nxc',
  composition: 'composition',
  flavour: 'g5k-ramdisk',
  user: 'alice',
};

describe('deployment HTTP server', () => {
  it('finds the local address routing to a node', async () => {
    await expect(sourceAddressFor('127.0.0.7')).resolves.toMatch(/^127\./);
  });

  it('serves the document on the given address, records who fetched it, and closes', async () => {
    const s = await serveDeployment(doc, { host: '127.0.0.1' });
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/deployment\.json$/);
    const res = await fetch(s.url);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(JSON.parse(bytes.toString('utf8'))).toEqual(doc);
    // the digest nodes get on their command line is the one of the exact bytes served
    expect(s.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect((await fetch(s.url.replace('deployment.json', 'other'))).status).toBe(404);
    expect(s.fetchedBy()).toEqual(['127.0.0.1']);
    await s.close();
    await expect(fetch(s.url)).rejects.toThrow();
  });

  it('a taken port is one clear error', async () => {
    const a = await serveDeployment(doc, { host: '127.0.0.1' });
    const port = Number(new URL(a.url).port);
    await expect(serveDeployment(doc, { host: '127.0.0.1', port })).rejects.toMatchObject({
      code: 'NXC_DEPLOYMENT',
      message: expect.stringContaining('EADDRINUSE'),
    });
    await a.close();
  });
});
