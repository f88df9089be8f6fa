/**
 * The Grid'5000 flavours' `usable()` pre-checks: is nxc running where they can work (a site
 * frontend, or inside an OAR job) and are the tools they call there? Cheap, creates nothing,
 * and each "no" says in one line what to do. The deploy side checks the rest (the job's
 * type and state, the machines, SSH) with its own messages.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { Unusable } from '@nxc/core/flavour';

const ON_A_FRONTEND =
  "run nxc on a Grid'5000 site frontend (e.g. `ssh rennes.g5k`) and reserve nodes there: `oarsub -I -t deploy -l nodes=N,walltime=1`";

/**
 * Where an executable would be run from: `command` itself when it holds a `/` (resolved
 * against `cwd`), else the first executable regular file named so in `$PATH`, as a shell
 * finds it (empty `$PATH` entries are skipped, not read as the current folder).
 * @returns the path, or undefined when there is none.
 */
export async function findExecutable(
  command: string,
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<string | undefined> {
  const env = options.env ?? process.env;
  const candidates = command.includes('/')
    ? [isAbsolute(command) ? command : resolve(options.cwd ?? process.cwd(), command)]
    : (env.PATH ?? '')
        .split(delimiter)
        .filter((dir) => dir !== '')
        .map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      if (!(await stat(candidate)).isFile()) continue;
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // missing or not executable: the next one
    }
  }
  return undefined;
}

/** What {@link kexecUsable} looks at (defaults: this process). */
export interface KexecUsableInput {
  /** Environment (`$OAR_NODEFILE`, `$OAR_NODE_FILE`, `$PATH`); default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/**
 * g5k-ramdisk and g5k-nfs-store boot machines listed by `-m FILE` or the OAR job's node file:
 * usable inside an OAR job (`$OAR_NODEFILE` set) or on a frontend (`oarstat` on `$PATH`, where
 * `-m` / `-W -m` name the machines). Elsewhere there is no machine to deploy to.
 */
export async function kexecUsable(input: KexecUsableInput = {}): Promise<Unusable | undefined> {
  const env = input.env ?? process.env;
  if (env.OAR_NODEFILE || env.OAR_NODE_FILE) return undefined;
  if (await findExecutable('oarstat', { env })) return undefined;
  return {
    reason:
      "not on a Grid'5000 frontend (no oarstat on PATH) nor inside an OAR job ($OAR_NODEFILE is not set)",
    hint: ON_A_FRONTEND,
  };
}

/** What {@link kadeployUsable} looks at (defaults: this process, the flavour's defaults). */
export interface KadeployUsableInput {
  /** Environment (`$PATH`, `$OAR_JOB_ID`); default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** The Kadeploy command (the `kadeploy` flavour option); default `kadeploy3`. */
  kadeploy?: string;
  /** The OAR job given as an option (`oarJobId`) instead of `$OAR_JOB_ID`. */
  oarJobId?: string | number;
  /** `skipOarCheck`: no OAR job is looked for, so neither `oarstat` nor a job is needed. */
  skipOarCheck?: boolean;
}

/**
 * g5k-image deploys with Kadeploy, which only Grid'5000 frontends have, onto the nodes of an
 * OAR job of type deploy: usable when `kadeploy3` (or the configured command) can be run and,
 * unless the OAR check is skipped, `oarstat` is on `$PATH` and a job is named (`$OAR_JOB_ID`
 * or `oarJobId`). Whether that job is Running and of type deploy is checked at start.
 */
export async function kadeployUsable(input: KadeployUsableInput = {}): Promise<Unusable | undefined> {
  const env = input.env ?? process.env;
  const kadeploy = input.kadeploy ?? 'kadeploy3';
  if (!(await findExecutable(kadeploy, { env }))) {
    return {
      reason: kadeploy.includes('/')
        ? `the Kadeploy command ${kadeploy} (flavour option kadeploy) is not an executable file`
        : `${kadeploy} is not on PATH: g5k-image deploys with Kadeploy, which Grid'5000 frontends have`,
      hint: kadeploy.includes('/') ? 'fix the kadeploy option, or remove it to use kadeploy3' : ON_A_FRONTEND,
    };
  }
  if (input.skipOarCheck) return undefined;
  if (!(await findExecutable('oarstat', { env }))) {
    return {
      reason: "oarstat is not on PATH: g5k-image checks its OAR job with it, as on a Grid'5000 frontend",
      hint: ON_A_FRONTEND,
    };
  }
  const jobId = input.oarJobId ?? env.OAR_JOB_ID;
  if (jobId === undefined || String(jobId).trim() === '') {
    return {
      reason:
        'not inside an OAR job ($OAR_JOB_ID is not set): Kadeploy deploys only the nodes of a job of type deploy',
      hint: 'reserve nodes for deployment: `oarsub -I -t deploy -l nodes=N,walltime=2` (or enter your job with `oarsub -C <id>`), then run nxc from that shell',
    };
  }
  return undefined;
}
