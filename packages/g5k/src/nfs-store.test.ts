import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nfsStoreParam } from './nfs-store.js';

describe('nfs_store= parameter', () => {
  it('NFS_STORE (or the option) wins and is checked', async () => {
    await expect(nfsStoreParam({ env: { NFS_STORE: 'srv:/export/nix/store' } })).resolves.toBe(
      'nfs_store=srv:/export/nix/store',
    );
    await expect(nfsStoreParam({ nfsStore: 'a:/b', env: { NFS_STORE: 'srv:/x' } })).resolves.toBe(
      'nfs_store=a:/b',
    );
    await expect(nfsStoreParam({ env: { NFS_STORE: '/export/nix/store' } })).rejects.toMatchObject({
      code: 'NXC_USAGE',
    });
  });

  it("uses the first existing store, exported under /export by the site's nfs server (by address)", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nxc-nfs-'));
    try {
      await mkdir(join(dir, 'user', 'store'), { recursive: true });
      await expect(
        nfsStoreParam({
          env: {},
          server: 'localhost',
          alternativeStores: [join(dir, 'none'), join(dir, 'user')],
        }),
      ).resolves.toBe(`nfs_store=127.0.0.1:/export${dir}/user/store`);
      // /nix/store exists on this machine (Debian's nix)
      await expect(nfsStoreParam({ env: {}, alternativeStores: [], server: '10.0.0.5' })).resolves.toBe(
        'nfs_store=10.0.0.5:/export/nix/store',
      );
      // the initrd has no name service: a name that does not resolve here is an error, not a late boot failure
      await expect(
        nfsStoreParam({ env: {}, alternativeStores: [], server: 'nxc-no-such-nfs-host.invalid' }),
      ).rejects.toMatchObject({
        code: 'NXC_DEPLOYMENT',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
