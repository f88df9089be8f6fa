/**
 * @nxc/core: the library behind the `nxc` CLI. Everything the CLI does is a call here
 * (or in a flavour plugin), so experiment scripts can drive deployments directly.
 */
export { NxcError, isNxcError, ExitCode } from './errors.js';
export type { NxcErrorCode, NxcErrorOptions } from './errors.js';
export { FLAVOUR_API_VERSION, defineFlavourPlugin } from './transposition.js';
export type {
  ImageKind,
  FlavourBuild,
  Unusable,
  FlavourContext,
  StartContext,
  RunningContext,
  StartResult,
  NodeStatus,
  ExecOptions,
  ExecResult,
  ShellOptions,
  ShellSession,
  Transport,
  LogsOptions,
  LogLine,
  FlavourDeployer,
  Flavour,
  FlavourPlugin,
} from './transposition.js';
export type { ComposeInfo, RoleBuild } from './compose-info.js';
export type { PlannedNode, DeployedNode, DeploymentDocument } from './deployment.js';
export type { Project } from './project.js';
export type { Reporter, ProgressEvent } from './reporter.js';
export { silentReporter } from './reporter.js';
export type { SshIdentity } from './ssh-identity.js';
export type { NxcConfig } from './config.js';
export { defineConfig } from './config.js';
