/**
 * Every action, in one module: the `nxc` binary loads it (one chunk, issue #17) once commander
 * has chosen the command, so `nxc --help` never loads it and any command loads one file more.
 */
export { buildAction } from './build.js';
export { checkAction } from './check.js';
export { connectAction } from './connect.js';
export { driverAction } from './driver.js';
export { execAction } from './exec.js';
export { flavoursAction } from './flavours.js';
export { cleanAction, initAction } from './init.js';
export {
  netCheckAction,
  netDelayAction,
  netHealAction,
  netLossAction,
  netPartitionAction,
  netRateAction,
  netRestoreAction,
  netShowAction,
} from './net.js';
export { recordsAction } from './records.js';
export { logsAction, statusAction, stopAction } from './running.js';
export { startAction } from './start.js';
export { addFlavourFlags } from '../flavour-flags.js';
