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
  NodeControl,
  Flavour,
  FlavourPlugin,
} from './transposition.js';
export type { ComposeInfo, RoleBuild, ReadComposeInfoOptions } from './compose-info.js';
export { readComposeInfo } from './compose-info.js';
export type {
  RoleDistributionSpec,
  RoleQuantity,
  DefaultRoleQuantity,
  ResolveNodesInput,
} from './role-distribution.js';
export {
  readRoleDistributionFile,
  parseRoleFlags,
  mergeRoleDistributions,
  resolveNodes,
  isValidHostname,
} from './role-distribution.js';
export { readMachineFile } from './machines.js';
export type {
  PlannedNode,
  DeployedNode,
  DeploymentDocument,
  BuildDeploymentInput,
  KernelEncodingOptions,
} from './deployment.js';
export {
  buildDeploymentDocument,
  writeDeploymentDocument,
  readDeploymentDocument,
  encodeDeploymentForKernel,
  decodeDeploymentParam,
  deploymentBody,
  DEFAULT_KERNEL_DEPLOY_BUDGET,
  DEPLOY_DIGEST_PARAM,
} from './deployment.js';
export type { CleanOptions, CleanResult, NameKind } from './state.js';
export {
  checkName,
  isSafeName,
  deploymentKey,
  composeInfoPath,
  deploymentPath,
  statePath,
  artifactDir,
  nxcDir,
  ensureNxcDir,
  userStateDir,
  projectStateDir,
  projectIdPath,
  sshDir,
  nixLibDir,
  clean,
} from './state.js';
export type { NodeCopy, NodeTreeSink } from './node-files.js';
export { receiveFromNode, isPlainFileName } from './node-files.js';
export type { Project } from './project.js';
export { loadProject, makeProject } from './project.js';
export type { Reporter, ProgressEvent } from './reporter.js';
export { silentReporter } from './reporter.js';
export type { SshIdentity, ProjectIdentityOptions, Ed25519KeyPair } from './ssh-identity.js';
export {
  ensureProjectIdentity,
  readIdentity,
  generateEd25519Identity,
  generateEd25519KeyPair,
} from './ssh-identity.js';
export type { FlavourRegistry, LoadedFlavour, PluginSource } from './plugins.js';
export { loadFlavours, installCommand, isFlavourPackageName, BUILTIN_FLAVOUR_PACKAGES } from './plugins.js';
export type { NxcConfig, NxcUserConfig } from './config.js';
export { defineConfig, nxcConfigSchema, nixOverrideInputArgs } from './config.js';
// Orchestration: the functions behind each nxc command (commands/).
export {
  start,
  stop,
  status,
  exec,
  connect,
  resolveConnectHosts,
  parseGeometry,
  tmuxLayout,
  logs,
  listFlavours,
  openDeployment,
  listBuilds,
  listDeployments,
  selectBuild,
  selectDeployment,
  parseSelector,
  resolveTargets,
  deploymentNodes,
  parseParameterFlags,
  readParameterFile,
} from './commands/index.js';
export type {
  StartOptions,
  StartSummary,
  StopSummary,
  DeploymentStatus,
  ExecCommandOptions,
  NodeExecResult,
  ConnectOptions,
  PaneStep,
  LogsCommandOptions,
  FlavourInfo,
  RunningOptions,
  OpenDeployment,
  StateEntry,
  Selector,
  DeploymentNode,
} from './commands/index.js';
// `nxc init`: project templates (init/).
export { init, listTemplates, defaultTemplatesDir, DEFAULT_TEMPLATE } from './init/index.js';
export type { InitOptions, InitResult, TemplateInfo } from './init/index.js';
// `nxc build`: Nix on the project's flake (build/).
export {
  build,
  listCompositions,
  currentSystem,
  checkNix,
  splitFlags,
  MIN_NIX_VERSION,
  bundledNixLibrary,
} from './build/index.js';
export type { BuildOptions, BuildResult, BuiltTarget, BuildStats, CompositionTarget } from './build/index.js';
