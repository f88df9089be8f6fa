/**
 * Deploy side of g5k-nfs-store, loaded lazily: the shared kexec engine of @nxc/g5k, with
 * `nfs_store=<server>:/export<store>` on the kernel command line so the nodes mount the
 * frontend's Nix store read-only (computed from the frontend's store location; `NFS_STORE`
 * or the `nfsStore` option override it; `nfsServer` names another NFS server).
 */
import type { FlavourDeployer } from '@nxc/core/flavour';
import { kexecFlavourDeployer, nfsStoreParam } from '@nxc/g5k';

/** The g5k-nfs-store deployer (start / status / transport / stop). */
export const deployer: FlavourDeployer = kexecFlavourDeployer({
  flavour: 'g5k-nfs-store',
  flavourParams: (ctx) => {
    const o = ctx.options;
    return nfsStoreParam({
      ...(typeof o.nfsStore === 'string' ? { nfsStore: o.nfsStore } : {}),
      ...(typeof o.nfsServer === 'string' ? { server: o.nfsServer } : {}),
      ...(Array.isArray(o.alternativeStores) ? { alternativeStores: o.alternativeStores.map(String) } : {}),
    });
  },
});
