/**
 * Options and `nxc start` flags of g5k-image, declared once for core to validate before
 * anything is created. Light on purpose: read by `nxc start --help`.
 */
import type { FlavourFlag } from '@nxc/core/flavour';
import { z } from '@nxc/core/flavour';

/** Options of g5k-image. */
export const g5kImageOptionsSchema = z
  .object({
    /** Answer yes to Kadeploy's confirmation (it wipes the nodes' disks). */
    yes: z.boolean().default(false),
    /** Kadeploy binary. */
    kadeploy: z.string().min(1).default('kadeploy3'),
    /** URL Kadeploy fetches the image from (default: `local://` path on the frontend). */
    imageUrl: z.string().min(1).optional(),
    /** Copy the image into this public HTTP folder (default ~/public with `publicHttp`). */
    publicDir: z.string().min(1).optional(),
    /** Publish the image over the site's public HTTP server (in ~/public). */
    publicHttp: z.boolean().default(false),
    /** Base URL of the public folder (default http://public.<site>.grid5000.fr/~<user>). */
    publicUrl: z.string().min(1).optional(),
    /** OAR job to check (default `$OAR_JOB_ID`). */
    oarJobId: z.union([z.string().min(1), z.number().int().positive()]).optional(),
    /** Do not check the OAR job (type deploy) before deploying. */
    skipOarCheck: z.boolean().default(false),
    /** Bound on `oarstat`, in ms. */
    oarTimeoutMs: z.number().int().positive().optional(),
    /** Serve the deployment over HTTP instead of putting it on the kernel command line. */
    remoteDeploymentInfo: z.boolean().default(false),
    /** Port of that HTTP server (default: any free port). */
    port: z.number().int().min(1).max(65535).optional(),
    /**
     * Private keys that log into the machines' standard environment as root to check the
     * reserved disks before Kadeploy (`nxc.disks` only; default: ~/.ssh's).
     */
    nodeKeys: z.union([z.string(), z.array(z.string())]).optional(),
    /** known_hosts files holding the machines' keys (a comma-separated string or a list). */
    knownHosts: z.union([z.string(), z.array(z.string())]).optional(),
  })
  .strict();

/** Options of g5k-image, parsed. */
export type G5kImageOptions = z.infer<typeof g5kImageOptionsSchema>;

/** The `nxc start` flags of g5k-image. */
export const g5kImageFlags: FlavourFlag[] = [
  {
    flag: '-y, --yes',
    option: 'yes',
    type: 'boolean',
    description: "answer yes to Kadeploy's confirmation (it wipes the nodes' disks)",
  },
  {
    flag: '--remote-deployment-info',
    option: 'remoteDeploymentInfo',
    type: 'boolean',
    description: 'serve the deployment over HTTP, not on the kernel command line',
  },
  { flag: '--port <port>', option: 'port', type: 'number', description: 'port of that HTTP server' },
];
