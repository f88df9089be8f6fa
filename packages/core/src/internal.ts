/**
 * NOT public: built to dist/internal.js for this repository's own tests (child processes
 * that must run compiled code, e.g. the project lock's racing holders) and deliberately
 * absent from package.json `exports`, so no package can import it. Anything here may change
 * in any release.
 */
export { lockProject } from './project-lock.js';
