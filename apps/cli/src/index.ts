/**
 * @nxc/cli: the `nxc` command line. Scripts should call @nxc/core directly; {@link run} is
 * exported for embedding the exact CLI behaviour (argument parsing, output, exit codes).
 */
export { run, buildProgram } from './main.js';
export type { Runtime } from './runtime.js';
export { EXIT } from './failure.js';
