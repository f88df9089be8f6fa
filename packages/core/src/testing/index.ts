/**
 * @nxc/core/testing: the flavour conformance kit. `describeFlavour` registers vitest suites
 * that check a flavour against the Transposition contract on its real platform, through the
 * library verbs the CLI uses; `flavourHarness` builds the contexts core hands a deployer, for
 * flavour-specific tests below those verbs. Needs vitest (an optional peer dependency of
 * @nxc/core, for this entry only).
 */
export { describeFlavour } from './describe-flavour.js';
export type {
  BadOption,
  ConformanceCapabilities,
  ConformanceOptions,
  ConformanceProject,
  LeftoversProbeContext,
  NodeControlMember,
  SharedDeployment,
} from './describe-flavour.js';
export { flavourHarness, planNodes, throwAwayProject } from './harness.js';
export type { FlavourHarness, FlavourHarnessOptions, ThrowAwayProjectOptions } from './harness.js';
