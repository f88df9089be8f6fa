/**
 * Progress reporting: long operations emit events; the CLI renders them (live on a TTY,
 * plain lines when piped, JSON lines with --json). Library users may pass their own.
 */
export type ProgressEvent =
  | { type: 'step'; message: string }
  /** `current` of `total` items done (nodes ready, derivations built). */
  | { type: 'progress'; task: string; current: number; total: number; detail?: string }
  | { type: 'node'; host: string; state: string; detail?: string }
  | { type: 'warn'; message: string }
  | { type: 'done'; message: string };

/** Receives the progress events of long operations (`start`, `build`, `stop`...). */
export interface Reporter {
  emit(event: ProgressEvent): void;
}

/** A reporter that drops everything (library default). */
export const silentReporter: Reporter = { emit() {} };
