/**
 * The docker flavour's options (config `flavourOptions.docker`, `-O key=value`), declared once:
 * core validates what users give against this schema before anything is created, and the
 * deployer receives them parsed. Light on purpose: read by `nxc start --help`.
 */
import { z } from '@nxc/core/flavour';

/** Default number of containers created at once (the engine serializes beyond a few). */
export const DEFAULT_CONCURRENCY = 16;
/** Default bound on one Engine API call (option `apiTimeoutMs`). */
export const DEFAULT_API_TIMEOUT_MS = 60_000;
/** Default host address of published ports: only this machine reaches them. */
export const DEFAULT_PUBLISH_ADDRESS = '127.0.0.1';

/** Options of the `docker` flavour. */
export const dockerOptionsSchema = z
  .object({
    /** Containers created at once. */
    concurrency: z.number().int().positive().default(DEFAULT_CONCURRENCY),
    /** Bound on one Engine API call, in ms (streams and waits are not bounded). */
    apiTimeoutMs: z.number().positive().default(DEFAULT_API_TIMEOUT_MS),
    /**
     * Host address published ports bind when the composition names none: `127.0.0.1` (this
     * machine only) or `0.0.0.0` (every interface, reachable from other machines).
     */
    publishAddress: z
      .string()
      .regex(/^\d{1,3}(\.\d{1,3}){3}$/, 'expected an IPv4 address such as 127.0.0.1 or 0.0.0.0')
      .default(DEFAULT_PUBLISH_ADDRESS),
    /**
     * Run systemd nodes on engines where nxc cannot confine their cgroups (cgroup v2, or the
     * systemd driver): they get CAP_SYS_ADMIN and the host's /sys/fs/cgroup read-write.
     */
    unsafeCgroups: z.boolean().default(false),
  })
  .strict();

/** The docker flavour's options, parsed. */
export type DockerOptions = z.infer<typeof dockerOptionsSchema>;

/** The config's options for calls without a parsed context (leftovers): the defaults when invalid. */
export function configuredDockerOptions(config: unknown): DockerOptions {
  const parsed = dockerOptionsSchema.safeParse(config ?? {});
  return parsed.success ? parsed.data : dockerOptionsSchema.parse({});
}
