/**
 * Kadeploy only deploys nodes of an OAR job of type `deploy`: the check done before anything
 * is written, with a one-line way out when it fails.
 */
import { NxcError } from '@nxc/core/flavour';
import { type CommandRunner, Oar } from '@nxc/g5k';

const HOW =
  'reserve nodes for deployment: `oarsub -I -t deploy -l nodes=N,walltime=2` (or enter your job with `oarsub -C <id>`), then run nxc from that shell';

/**
 * Checks that `jobId` (default `$OAR_JOB_ID`) names an OAR job of type deploy (`oarstat -J -j`).
 * Returns its id.
 */
export async function checkDeployJob(
  options: {
    jobId?: string | number;
    runner?: CommandRunner;
    env?: NodeJS.ProcessEnv;
    /** Bound on `oarstat` (default: the OAR client's). */
    timeoutMs?: number;
  } = {},
): Promise<number> {
  const raw = options.jobId ?? (options.env ?? process.env).OAR_JOB_ID;
  if (raw === undefined || String(raw).trim() === '') {
    throw new NxcError(
      'NXC_FLAVOUR_UNUSABLE',
      'g5k-image deploys with Kadeploy, which needs an OAR job of type deploy, and $OAR_JOB_ID is not set',
      { hint: HOW },
    );
  }
  if (!/^\d+$/.test(String(raw).trim())) {
    throw new NxcError('NXC_FLAVOUR_UNUSABLE', `$OAR_JOB_ID is "${raw}", not a job number`, { hint: HOW });
  }
  const id = Number(String(raw).trim());
  const oar = new Oar({
    ...(options.runner ? { runner: options.runner } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  const job = await oar.job(id);
  if (!job.types.includes('deploy')) {
    throw new NxcError(
      'NXC_FLAVOUR_UNUSABLE',
      `OAR job ${id} is not of type deploy (types: ${job.types.join(', ') || 'none'}); Kadeploy refuses its nodes`,
      { hint: HOW },
    );
  }
  if (job.state !== 'Running') {
    throw new NxcError('NXC_FLAVOUR_UNUSABLE', `OAR job ${id} is ${job.state}, not Running`, {
      hint: 'wait for it to start (`oarstat -j ID`) or reserve again',
    });
  }
  return id;
}
