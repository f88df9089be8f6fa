/**
 * Options and `nxc start` flags of the kexec flavours (g5k-ramdisk, g5k-nfs-store), declared
 * once for core to validate before anything is created. A separate entry
 * (`@nxc/g5k/options`) so that a plugin's light module reads them without loading SSH.
 */
import type { FlavourFlag } from '@nxc/core/flavour';
import { z } from 'zod';

const oneOrMany = z.union([z.string(), z.array(z.string())]);

/** What every kexec flavour accepts. */
export const kexecOptionsShape = {
  /** Folder on the nodes receiving kernel and initrd (default: a temporary folder). */
  pushPath: z.string().min(1).optional(),
  /** Reuse kernel and initrd already on the nodes (same checksums) instead of pushing them. */
  reuse: z.boolean().default(false),
  /** Serve the deployment over HTTP instead of putting it on the kernel command line. */
  remoteDeploymentInfo: z.boolean().default(false),
  /** Port of that HTTP server (default: any free port). */
  port: z.number().int().min(1).max(65535).optional(),
  /** Private keys that log into the machines before kexec (default: ~/.ssh's). */
  nodeKeys: oneOrMany.optional(),
  /** known_hosts files holding the machines' keys (a comma-separated string or a list). */
  knownHosts: oneOrMany.optional(),
  /** How long a machine may take to answer SSH before kexec, in ms. */
  reachTimeoutMs: z.number().int().positive().optional(),
  /**
   * How kernel and initrd reach the machines: `auto` (from the shared home when a machine sees
   * the same bytes there, else relayed between machines, the frontend sending one copy) or
   * `direct` (the frontend pushes to every machine).
   */
  distribution: z.enum(['auto', 'direct']).default('auto'),
};

/** Options of g5k-ramdisk. */
export const kexecOptionsSchema = z.object(kexecOptionsShape).strict();
/** Options every kexec flavour accepts, parsed. */
export type KexecOptions = z.infer<typeof kexecOptionsSchema>;

/** Options of g5k-nfs-store: the kexec ones, and where the nodes mount the store from. */
export const nfsStoreOptionsSchema = z
  .object({
    ...kexecOptionsShape,
    /** `nfs_store=` value (`server:/export/nix/store`); default computed from the frontend (or `$NFS_STORE`). */
    nfsStore: z.string().min(1).optional(),
    /** NFS server exporting the store (default: the frontend's). */
    nfsServer: z.string().min(1).optional(),
    /** Other store locations to look for on the frontend. */
    alternativeStores: z.array(z.string()).optional(),
  })
  .strict();
/** Options of g5k-nfs-store, parsed. */
export type NfsStoreFlavourOptions = z.infer<typeof nfsStoreOptionsSchema>;

/** The `nxc start` flags of the kexec flavours (the original nxc's spellings). */
export const kexecFlags: FlavourFlag[] = [
  {
    flag: '--push-path <dir>',
    option: 'pushPath',
    type: 'string',
    description: 'folder on the nodes receiving kernel and initrd',
  },
  {
    flag: '--reuse',
    option: 'reuse',
    type: 'boolean',
    description: 'reuse kernel and initrd already on the nodes',
  },
  {
    flag: '--remote-deployment-info',
    option: 'remoteDeploymentInfo',
    type: 'boolean',
    description: 'serve the deployment over HTTP, not on the kernel command line',
  },
  { flag: '--port <port>', option: 'port', type: 'number', description: 'port of that HTTP server' },
  {
    flag: '--distribution <mode>',
    option: 'distribution',
    type: 'string',
    description: 'how kernel and initrd reach the machines: auto (shared home, then relay) or direct',
  },
];
