/**
 * `@nxc/core`: the library behind the `nxc` command. Everything the CLI does is one call
 * here, so experiment scripts drive builds and deployments directly: load a project, build,
 * start, exec, stop. Writing a flavour? See `@nxc/core/flavour`. What is not exported from a
 * public subpath is free to change.
 */

// Errors: one line, a hint, an exit code.
export { NxcError, isNxcError, ExitCode } from '../errors.js';
export type { NxcErrorCode, NxcErrorOptions } from '../errors.js';

// The project and its config.
export { loadProject, makeProject } from '../project.js';
export type { Project } from '../project.js';
export { defineConfig } from '../config.js';
export type { NxcConfig, NxcUserConfig } from '../config.js';

// Progress events.
export { silentReporter } from '../reporter.js';
export type { Reporter, ProgressEvent } from '../reporter.js';

// `nxc init`
export { init, listTemplates, DEFAULT_TEMPLATE } from '../init/index.js';
export type { InitOptions, InitResult, TemplateInfo } from '../init/index.js';

// `nxc build`
export { build, listCompositions, currentSystem, checkNix, MIN_NIX_VERSION } from '../build/index.js';
export type {
  BuildOptions,
  BuildResult,
  BuiltTarget,
  BuildStats,
  CompositionTarget,
} from '../build/index.js';

// `nxc check`: every problem of a composition, its flavour and the start inputs, without building.
export { check } from '../check/index.js';
export type { CheckOptions, CheckProblem, CheckResult, CheckedTarget } from '../check/index.js';

// The deployment commands.
export {
  start,
  stop,
  status,
  exec,
  connect,
  resolveConnectHosts,
  logs,
  listFlavours,
  openDeployment,
  listBuilds,
  listDeployments,
  selectBuild,
  selectDeployment,
  net,
  netApply,
  netHeal,
  netRestore,
  parseDelay,
  parseLoss,
  parseRate,
  netCheck,
  readNetworkFile,
} from '../commands/index.js';
export type {
  StartOptions,
  StartSummary,
  StopSummary,
  DeploymentStatus,
  ExecCommandOptions,
  NodeExecResult,
  ConnectOptions,
  LogsCommandOptions,
  FlavourInfo,
  RunningOptions,
  OpenDeployment,
  StateEntry,
  Selector,
  DeploymentNode,
  NetStatus,
  NetRequest,
  NetCheckReport,
  NetCheckPair,
  NetCheckOptions,
  MeasuredPath,
  AskedConditions,
  DeclaredCondition,
} from '../commands/index.js';
// The flavours the project's plugins provide (and the flags they add to `nxc start`).
export { loadFlavours, loadFlavour, describeFlavours, pluginManifest } from '../plugins.js';
export type {
  FlavourRegistry,
  LoadedFlavour,
  PluginSource,
  PluginManifest,
  FlavourManifest,
  FlavourDescription,
} from '../plugins.js';
export { clean } from '../state.js';
export type { CleanOptions, CleanResult } from '../state.js';

// Where a build and a deployment keep their files, and what they hold.
export { composeInfoPath, deploymentPath, artifactDir } from '../state.js';
export { readComposeInfo } from '../compose-info.js';
export type { ComposeInfo, RoleBuild, RoleDisk } from '../compose-info.js';
export { readDeploymentDocument, nodeIdentities } from '../deployment.js';
export type {
  DeploymentDocument,
  DeploymentEntry,
  DeployedNode,
  NodeDisk,
  NodeIdentity,
} from '../deployment.js';
// -p/-P per role and per node: how a key reaches the nodes.
export { routeParameters } from '../node-parameters.js';
export type { RoutedParameters, ParameterTarget } from '../node-parameters.js';
export { listRecords, readRecord, RECORD_VERSION, READABLE_RECORD_VERSIONS } from '../records.js';
export { planReplay, diffComposeInfo, diffLockedInputs, lockPins, lockedRef } from '../replay.js';
export type { ReplayPlan, ReplayRequest } from '../replay.js';
export type {
  DeploymentRecord,
  RecordedNode,
  RecordedFlake,
  RecordedIdentity,
  LockedInput,
  RecordSummary,
  RecordProblem,
  RecordList,
} from '../records.js';
export type { NodeStatus, ExecResult, LogLine } from '../transposition.js';
