/**
 * Typed errors. Every user mistake is an {@link NxcError}: the CLI catches it in ONE place,
 * prints `error: <message>` (plus the hint on its own line) and exits with `exitCode`.
 * Anything else is an internal error: the CLI prints a bug-report hint (stack with `--debug`).
 */

/** Stable codes, assertable in tests and searchable by users. */
export type NxcErrorCode =
  | 'NXC_USAGE' // bad flags or arguments
  | 'NXC_CONFIG' // config file unreadable or invalid
  | 'NXC_PLUGIN_MISSING' // a flavour package named in the config is not installed
  | 'NXC_PLUGIN_INVALID' // a package does not export a valid flavour plugin
  | 'NXC_PLUGIN_API' // plugin built for another flavour API version
  | 'NXC_FLAVOUR_UNKNOWN' // no installed plugin provides that flavour
  | 'NXC_FLAVOUR_CONFLICT' // two plugins claim the same flavour
  | 'NXC_FLAVOUR_UNUSABLE' // usable() said no (daemon down, qemu missing, no OAR job...)
  | 'NXC_COMPOSE_INFO' // compose info missing or malformed
  | 'NXC_COMPOSITION_UNKNOWN' // -C names a composition the build does not have
  | 'NXC_DISTRIBUTION' // role distribution file or -r flags wrong
  | 'NXC_MACHINES' // machine file missing, empty or too short
  | 'NXC_DEPLOYMENT' // no deployment / deployment file malformed
  | 'NXC_NODE_UNKNOWN' // a node name that is not in the deployment
  | 'NXC_NODE_FAILED' // a node failed to start / exited / never came up
  | 'NXC_NODE_UNREACHABLE' // a node does not answer
  | 'NXC_NIX' // Nix missing, too old, or a Nix build/eval failure
  | 'NXC_NIX_ENV' // Nix is installed but cannot work here: build users, store, daemon, features, network
  | 'NXC_GIT_UNTRACKED' // a file the flake needs exists but git does not track it (Nix only sees tracked files)
  | 'NXC_PROJECT' // not an nxc project (no flake.nix, ...)
  | 'NXC_IO' // a file we must read/write is not accessible
  | 'NXC_TIMEOUT' // a daemon, tool or node did not answer in time
  | 'NXC_BUSY' // another nxc command is changing the same project (its lock is held)
  | 'NXC_INTERRUPTED'
  | 'NXC_TEST_FAILED'; // the test script failed

/** Exit codes, documented in the CLI's help. */
export const ExitCode = {
  ok: 0,
  /** A command ran but its job failed (test script failed, a node failed). */
  failure: 1,
  /** Bad usage or input: flags, files, config. Nothing was changed. */
  usage: 2,
  /** The environment is not ready: tool missing, daemon down, plugin not installed, project busy. */
  environment: 3,
  /** Internal error: a bug in nxc or a plugin. */
  internal: 70,
  /** Interrupted by the user (Ctrl-C); the CLI exits 128 + the signal's number (SIGTERM: 143). */
  interrupted: 130,
} as const;

const defaultExit: Partial<Record<NxcErrorCode, number>> = {
  NXC_PLUGIN_MISSING: ExitCode.environment,
  NXC_PLUGIN_INVALID: ExitCode.environment,
  NXC_PLUGIN_API: ExitCode.environment,
  NXC_FLAVOUR_UNUSABLE: ExitCode.environment,
  NXC_NIX: ExitCode.failure,
  NXC_NIX_ENV: ExitCode.environment,
  NXC_NODE_FAILED: ExitCode.failure,
  NXC_NODE_UNREACHABLE: ExitCode.failure,
  NXC_TIMEOUT: ExitCode.failure,
  NXC_BUSY: ExitCode.environment,
  NXC_TEST_FAILED: ExitCode.failure,
  NXC_INTERRUPTED: ExitCode.interrupted,
};

/** What an {@link NxcError} carries besides its code and message. */
export interface NxcErrorOptions {
  /** How to fix it, printed on its own line after the message. */
  hint?: string;
  /** Overrides the exit code derived from the error code. */
  exitCode?: number;
  cause?: unknown;
  /** Extra lines shown under the message (e.g. a log tail). Keep short. */
  details?: string;
}

/** An error the user can fix. `message` is ONE line: what is wrong and where. */
export class NxcError extends Error {
  readonly code: NxcErrorCode;
  readonly hint?: string;
  readonly exitCode: number;
  readonly details?: string;

  constructor(code: NxcErrorCode, message: string, options: NxcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NxcError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
    this.exitCode = options.exitCode ?? defaultExit[code] ?? ExitCode.usage;
  }
}

/** True for errors nxc raised on purpose (user mistakes, environment problems). */
export function isNxcError(error: unknown): error is NxcError {
  return (
    error instanceof NxcError || (error instanceof Error && error.name === 'NxcError' && 'code' in error)
  );
}
