/**
 * @nxc/experiment: whole experiments from TypeScript, the counterpart of the execo scripts
 * Grid'5000 users write around nxc. One {@link experiment} call reserves or reuses the nodes
 * (an OAR job by name on Grid'5000; nothing to reserve for local flavours), builds, starts,
 * runs the steps (commands on nodes, copies from nodes, code using the driver's machine API),
 * stops, and always leaves the deployment record and a manifest of what ran in the results
 * folder.
 */
export { experiment, checkExperiment } from './experiment.js';
export type {
  ExperimentOptions,
  ExperimentResult,
  ExperimentManifest,
  ExperimentStep,
  StepBase,
  CommandStep,
  CollectStep,
  CallStep,
  StepContext,
  StepOutcome,
} from './experiment.js';
export { acquireJob } from './oar-job.js';
export type { OarJobSpec, ExperimentOarJob } from './oar-job.js';
