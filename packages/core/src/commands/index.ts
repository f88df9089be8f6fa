/** Orchestration: the functions that ARE the nxc commands (the CLI only parses and prints). */
export { start } from './start.js';
export type { StartOptions, StartSummary } from './start.js';
export { stop, status } from './stop.js';
export type { StopSummary, DeploymentStatus } from './stop.js';
export { exec } from './exec.js';
export type { ExecCommandOptions, NodeExecResult } from './exec.js';
export { connect, resolveConnectHosts } from './connect.js';
export type { ConnectOptions } from './connect.js';
export { logs } from './logs.js';
export type { LogsCommandOptions } from './logs.js';
export { listFlavours } from './flavours.js';
export type { FlavourInfo } from './flavours.js';
export { openDeployment } from './running.js';
export type { RunningOptions, OpenDeployment } from './running.js';
export { listBuilds, listDeployments, selectBuild, selectDeployment, parseSelector } from './select.js';
export type { StateEntry, Selector } from './select.js';
export { resolveTargets, deploymentNodes } from './targets.js';
export type { DeploymentNode } from './targets.js';
export {
  net,
  netApply,
  netHeal,
  netRestore,
  parseDelay,
  parseLoss,
  parseRate,
  readNetConditions,
} from './net.js';
export type { NetStatus, NetRequest } from './net.js';
export { netCheck, parsePing } from './net-check.js';
export type {
  NetCheckReport,
  NetCheckPair,
  NetCheckOptions,
  MeasuredPath,
  AskedConditions,
} from './net-check.js';
export { resolveDeclared, readNetworkFile } from './net-declared.js';
export type { DeclaredCondition } from './net-declared.js';
