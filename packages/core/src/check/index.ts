/** `nxc check`: a composition, its flavour and the start inputs checked without building. */
export { check } from './check.js';
export type { CheckOptions, CheckProblem, CheckResult, CheckedTarget } from './check.js';
