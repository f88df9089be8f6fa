/**
 * SIGINT (Ctrl-C), SIGTERM (`timeout`, a cancelled CI job, `kill`) and SIGHUP (terminal
 * closed) all mean "stop and undo": the first aborts the running command, which removes what
 * it was creating; later ones never cut that cleanup short, except a third that quits at
 * once. Cleanup is bounded: past `NXC_CLEANUP_TIMEOUT` seconds (default 120) nxc quits and
 * says what to run. Exit code: 128 + the signal's number (130, 143, 129).
 */

/** The signals handled, with their numbers (exit code = 128 + number). */
export const HANDLED_SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
export type HandledSignal = keyof typeof HANDLED_SIGNALS;

/** Default bound on cleanup after the first signal, in seconds. */
export const DEFAULT_CLEANUP_TIMEOUT_S = 120;

/** What {@link installSignalHandlers} returns. */
export interface SignalHandling {
  /** The first signal received, if any. */
  received(): HandledSignal | undefined;
  /** 128 + the first signal's number, or undefined when none was received. */
  exitCode(): number | undefined;
  /** Removes the handlers (the command is over). */
  dispose(): void;
}

function cleanupTimeoutMs(env: NodeJS.ProcessEnv): number {
  const value = Number(env.NXC_CLEANUP_TIMEOUT);
  return (Number.isFinite(value) && value > 0 ? value : DEFAULT_CLEANUP_TIMEOUT_S) * 1000;
}

/**
 * Installs the handlers: the first signal calls `abort`, the second says cleanup goes on, the
 * third (or the cleanup bound) calls `quit` with the exit code.
 */
export function installSignalHandlers(options: {
  abort: () => void;
  stderr: NodeJS.WritableStream;
  /** Removes the live progress line before a notice. */
  clear?: () => void;
  quit?: (code: number) => void;
  env?: NodeJS.ProcessEnv;
}): SignalHandling {
  const quit = options.quit ?? ((code: number) => process.exit(code));
  const env = options.env ?? process.env;
  let first: HandledSignal | undefined;
  let count = 0;
  let watchdog: NodeJS.Timeout | undefined;
  const say = (text: string): void => {
    options.clear?.();
    try {
      options.stderr.write(text);
    } catch {
      // the terminal is gone (SIGHUP): nothing to tell
    }
  };
  const code = (): number => 128 + HANDLED_SIGNALS[first ?? 'SIGINT'];
  const leave = (why: string): void => {
    say(`error: ${why}; what is left is removed by \`nxc stop\`\n`);
    quit(code());
  };
  const handlers = new Map<HandledSignal, () => void>();
  for (const signal of Object.keys(HANDLED_SIGNALS) as HandledSignal[]) {
    const handler = (): void => {
      count++;
      if (count === 1) {
        first = signal;
        if (signal === 'SIGHUP') {
          // writes to a closed terminal fail asynchronously: they must not crash the cleanup
          for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
        }
        const key = signal === 'SIGINT' ? 'Ctrl-C' : signal;
        say(
          `\n${signal === 'SIGINT' ? 'interrupted' : `received ${signal}`}: cleaning up (${key} twice more to quit at once)\n`,
        );
        const ms = cleanupTimeoutMs(env);
        watchdog = setTimeout(() => leave(`cleanup did not finish within ${ms / 1000} s`), ms);
        watchdog.unref();
        options.abort();
      } else if (count === 2) {
        say('still cleaning up… (once more to quit at once)\n');
      } else {
        leave('quit before cleanup finished');
      }
    };
    handlers.set(signal, handler);
    process.on(signal, handler);
  }
  return {
    received: () => first,
    exitCode: () => (first === undefined ? undefined : code()),
    dispose() {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      if (watchdog) clearTimeout(watchdog);
    },
  };
}
