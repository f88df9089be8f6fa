/**
 * `@nxc/core/flavour`: the API for writing a flavour plugin (see docs/writing-a-flavour.md):
 * the Transposition interface and its contexts, and the helpers flavours share so that no
 * two plugins write them twice: errors, progress events, the deployment document, atomic
 * writes, node file copies, SSH identities, machine files, state paths, shell quoting.
 */

// The contract.
export { FLAVOUR_API_VERSION, defineFlavourPlugin, defineFlavour } from '../transposition.js';
export type {
  FlavourFlag,
  Schema,
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
  NodeMonitor,
  NetworkControl,
  NetworkCondition,
  NetworkEnd,
  Flavour,
  FlavourPlugin,
  LeftoversContext,
  RemovedLeftovers,
} from '../transposition.js';
export type { Project } from '../project.js';

// Typed options and state: schemas are written with core's zod, options resolved as start does.
/**
 * zod (third-party, re-exported whole): flavours build their options and state schemas with it,
 * so their schemas and core's checks use one copy, and `z.infer<typeof schema>` names a schema's
 * type without a second install of zod. Documented at https://zod.dev.
 */
export { z } from 'zod';
export { resolveFlavourOptions, configuredOptions, flagSpelling } from '../flavour-options.js';
export type { FlavourOptionsInput, FlagSpelling } from '../flavour-options.js';

// Errors and progress events.
export { NxcError, isNxcError, ExitCode } from '../errors.js';
export type { NxcErrorCode, NxcErrorOptions } from '../errors.js';
export { silentReporter } from '../reporter.js';
export type { Reporter, ProgressEvent } from '../reporter.js';

// The launch phase of a local deployer: bounded concurrency, readiness, first failure cancels.
export { launchNodes } from '../launch-nodes.js';
export type { LaunchNodesOptions, LaunchNodesResult, NodeFailure } from '../launch-nodes.js';

// What the build produced, and the deployment document nodes read.
export { readComposeInfo } from '../compose-info.js';
export type { ComposeInfo, RoleBuild, RoleDisk, ReadComposeInfoOptions } from '../compose-info.js';
export {
  buildDeploymentDocument,
  writeDeploymentDocument,
  readDeploymentDocument,
  encodeDeploymentForKernel,
  decodeDeploymentParam,
  deploymentBody,
  nodeIdentities,
  DEFAULT_KERNEL_DEPLOY_BUDGET,
  DEPLOY_DIGEST_PARAM,
} from '../deployment.js';
export type {
  PlannedNode,
  DeployedNode,
  DeploymentDocument,
  DeploymentEntry,
  NodeIdentity,
  NodeDisk,
  BuildDeploymentInput,
  KernelEncodingOptions,
} from '../deployment.js';
export { readMachineFile } from '../machines.js';
// Block devices (`nxc.disks`): whether their files fit where the flavour creates them.
export { checkDisksFit } from '../disk-support.js';

// Files: where they live, writing them safely, copying them from nodes.
export { statePath, deploymentPath, artifactDir, userStateDir, isSafeName, checkName } from '../state.js';
export type { NameKind } from '../state.js';
export { writeFileAtomic, writeJsonAtomic } from '../atomic-file.js';
export type { AtomicWriteOptions } from '../atomic-file.js';
export { pathExists } from '../path-exists.js';
export type { PathExistsOptions } from '../path-exists.js';
export { receiveFromNode } from '../node-files.js';
export type { NodeCopy, NodeTreeSink } from '../node-files.js';

// Reaching nodes.
export { generateEd25519KeyPair } from '../ssh-identity.js';
export type { SshIdentity, Ed25519KeyPair } from '../ssh-identity.js';
export { shellQuote } from '../shell-quote.js';
// Network conditions applied inside the nodes over the flavour's transport (QEMU, Grid'5000).
export { guestNetwork, guestNetScript, guestSetting, NXC_NET_MARK } from '../guest-network.js';
export type { GuestNetSetting } from '../guest-network.js';
