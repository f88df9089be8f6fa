/**
 * Where g5k-nfs-store nodes mount their Nix store from: `nfs_store=<server>:/export<store>`,
 * the frontend's store as the site's NFS server exports it (on Grid'5000 the `nfs` host
 * exports users' homes under /export). `NFS_STORE` (or the `nfsStore` option) overrides it.
 */
import { lookup } from 'node:dns/promises';
import { isIPv4 } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { NxcError, pathExists } from '@nxc/core/flavour';

export interface NfsStoreOptions {
  /** `host:/path` given explicitly (option `nfsStore`); wins over everything. */
  nfsStore?: string;
  /** Environment (default `process.env`): `NFS_STORE`. */
  env?: NodeJS.ProcessEnv;
  /**
   * NFS server (default `nfs`, the site's NFS server on Grid'5000). A name is resolved here,
   * on the frontend: the nodes' initrd mounts before it has any name service.
   */
  server?: string;
  /**
   * Store prefixes tried before `/nix`, first existing `<prefix>/store` wins (default
   * `~/.nix`, where a user-level Nix keeps its store on a frontend).
   */
  alternativeStores?: string[];
}

/** The `nfs_store=...` kernel parameter for this frontend. */
export async function nfsStoreParam(options: NfsStoreOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const explicit = options.nfsStore ?? env.NFS_STORE;
  if (explicit) {
    if (!/^[^:\s]+:\/\S*$/.test(explicit)) {
      throw new NxcError('NXC_USAGE', `NFS store "${explicit}" is not host:/path`, {
        hint: 'e.g. NFS_STORE=nfs:/export/home/alice/.nix/store',
      });
    }
    return `nfs_store=${explicit}`;
  }
  const prefixes = [...(options.alternativeStores ?? [join(homedir(), '.nix')]), '/nix'];
  for (const prefix of prefixes) {
    const store = join(prefix, 'store');
    if (await pathExists(store)) {
      const server = options.server ?? 'nfs';
      let address = server;
      if (!isIPv4(server)) {
        try {
          address = (await lookup(server, { family: 4 })).address;
        } catch {
          throw new NxcError('NXC_DEPLOYMENT', `cannot resolve the NFS server "${server}" for nfs_store=`, {
            hint: 'set NFS_STORE=<address>:/export/path/to/store (or the nfsServer option)',
          });
        }
      }
      return `nfs_store=${address}:/export${store}`;
    }
  }
  throw new NxcError(
    'NXC_DEPLOYMENT',
    `no Nix store found (looked in ${prefixes.map((p) => join(p, 'store')).join(', ')})`,
    {
      hint: 'set NFS_STORE=host:/export/path/to/store',
    },
  );
}
