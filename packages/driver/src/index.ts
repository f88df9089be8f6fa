/**
 * @nxc/driver: drive a running nxc deployment from tests.
 *
 * - {@link runTestScript}: runs a NixOS-test-style Python `testScript` (`nxc driver`,
 *   `nxc start -t`) through the shim shipped in `python/nxc_driver`, every command going
 *   through the flavour's transport; optional JUnit report and interactive REPL.
 * - {@link attach}: the same machine API in TypeScript, for a user's own vitest suite.
 */
export { runTestScript, pythonName, PYTHON_DIR } from './run-test-script.js';
export type { RunTestScriptOptions, TestScriptResult } from './run-test-script.js';
export { attach, consoleOf, nodeControlOf, projectNetwork } from './attach.js';
export { driverCommand, composeTestScript } from './command.js';
export type { DriverCommandOptions } from './command.js';
export type { AttachTarget, AttachOptions, AttachedDeployment } from './attach.js';
export { Machine, CommandError, DEFAULT_TIMEOUT_S, formatOutput } from './machine.js';
export type {
  NodeControl,
  NodeConsole,
  NetworkHandle,
  MachineSession,
  MachineNode,
  MachineDisk,
  CommandOptions,
  CommandResult,
} from './machine.js';
export { junitXml, writeJunit } from './junit.js';
export { keyForChar, pythonRegex } from './keys.js';
export type { JunitReport, SubtestResult } from './junit.js';
