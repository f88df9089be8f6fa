/**
 * The ONE place errors become output: an NxcError prints `error: <message>` and `hint: <hint>`
 * and exits with its code; anything else is an internal error with a bug-report hint. Stacks
 * only with --debug. Duck-typed so this module does not load @nxc/core.
 */
import pc from 'picocolors';

/** Exit codes; mirror of @nxc/core's ExitCode (kept here so `--help` does not load core). */
export const EXIT = { ok: 0, failure: 1, usage: 2, environment: 3, internal: 70, interrupted: 130 } as const;

interface NxcLike {
  name: 'NxcError';
  message: string;
  code: string;
  hint?: string;
  details?: string;
  exitCode: number;
  stack?: string;
}

function isNxcLike(e: unknown): e is NxcLike {
  return e instanceof Error && e.name === 'NxcError' && 'code' in e && 'exitCode' in e;
}

/** A usage error found by the CLI itself (bad flag combination) before any command runs. */
export class UsageError extends Error {
  override readonly name = 'NxcError';
  readonly code = 'NXC_USAGE';
  readonly exitCode: number = EXIT.usage;
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();

/**
 * The error as `nxc CMD --json` prints it on stdout, one line: the same shape as one of
 * `nxc check --json`'s problems, under `error`.
 */
export function errorJson(error: unknown, aborted: boolean): string {
  let body: { code: string; message: string; hint?: string; exitCode: number };
  if (isNxcLike(error)) {
    body = {
      code: error.code,
      message: oneLine(error.message),
      ...(error.hint ? { hint: oneLine(error.hint) } : {}),
      exitCode: error.exitCode,
    };
  } else if (aborted) {
    body = { code: 'NXC_INTERRUPTED', message: 'interrupted', exitCode: EXIT.interrupted };
  } else {
    body = {
      code: 'NXC_INTERNAL',
      message: oneLine(error instanceof Error ? error.message : String(error)),
      hint: 'this is a bug in nxc or a flavour plugin; rerun with --debug and report it',
      exitCode: EXIT.internal,
    };
  }
  return `${JSON.stringify({ ok: false, error: body })}\n`;
}

/**
 * Prints the error on stderr and returns the exit code. With `json` (the command was given
 * `--json`), the error also goes to that stream (stdout) as one JSON line, {@link errorJson}.
 */
export function reportError(
  error: unknown,
  stderr: NodeJS.WritableStream,
  debug: boolean,
  aborted: boolean,
  json?: NodeJS.WritableStream,
): number {
  if (json) json.write(errorJson(error, aborted));
  const color = (stderr as NodeJS.WriteStream).isTTY === true;
  const red = color ? pc.red : (s: string) => s;
  const dim = color ? pc.dim : (s: string) => s;
  if (isNxcLike(error)) {
    stderr.write(`${red('error:')} ${oneLine(error.message)}\n`);
    if (error.details) stderr.write(`${dim(error.details.trimEnd())}\n`);
    if (error.hint) stderr.write(`${dim('hint:')} ${oneLine(error.hint)}\n`);
    if (debug && error.stack) stderr.write(`${error.stack}\n`);
    return error.exitCode;
  }
  if (aborted) {
    stderr.write(`${red('error:')} interrupted\n`);
    if (debug && error instanceof Error && error.stack) stderr.write(`${error.stack}\n`);
    return EXIT.interrupted;
  }
  const message = error instanceof Error ? error.message : String(error);
  stderr.write(`${red('internal error:')} ${oneLine(message)}\n`);
  stderr.write(
    `${dim('hint:')} this is a bug in nxc or a flavour plugin; rerun with --debug and report it, with the output, to the maintainers of the plugin or of nxc\n`,
  );
  if (debug && error instanceof Error && error.stack) stderr.write(`${error.stack}\n`);
  return EXIT.internal;
}
