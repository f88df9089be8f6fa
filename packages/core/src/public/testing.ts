/**
 * `@nxc/core/testing`: the flavour conformance kit. `describeFlavour` registers vitest suites
 * that check a flavour against the flavour contract on its real platform, through the library
 * verbs the CLI uses; `flavourHarness` builds the contexts core hands a deployer (options parsed
 * by the flavour's schema, state checked by its `stateSchema`), for flavour-specific tests below
 * those verbs. The only entry that imports vitest (an optional peer dependency of @nxc/core).
 */
export { describeFlavour } from '../testing/describe-flavour.js';
export type {
  BadOption,
  ConformanceCapabilities,
  ConformanceOptions,
  ConformanceProject,
  LeftoversProbeContext,
  NodeControlMember,
  SharedDeployment,
} from '../testing/describe-flavour.js';
export { flavourHarness, planNodes, throwAwayProject } from '../testing/harness.js';
export type {
  FlavourHarness,
  FlavourHarnessOptions,
  StartContextOverrides,
  ThrowAwayProjectOptions,
} from '../testing/harness.js';
