/**
 * Reads Nix's `--log-format internal-json -v` stream (`@nix {...}` lines on stderr) into
 * build progress: derivations built / to build, the current activity, the error messages
 * and the last build log lines (for a trimmed failure report).
 */

/** Nix activity types (src/libutil/logging.hh, Nix 2.8). */
const ACT_BUILDS = 104;
const ACT_BUILD = 105;
const ACT_COPY_PATH = 100;
const ACT_FILE_TRANSFER = 101;
/** Nix result types. */
const RES_BUILD_LOG_LINE = 101;
const RES_PROGRESS = 105;

/** What a Nix run did, as far as its log tells. */
export interface NixProgressState {
  /** Derivations built so far (finished Build activities). */
  built: number;
  /** Derivations Nix expects to build in this run (0 when nothing to do). */
  total: number;
  /** Names of the derivations this run started building (`foo.drv` without hash). */
  builtNames: string[];
  /** The current activity, e.g. `building testos-system-server`. */
  current?: string;
  /** Error messages (level 0), ANSI codes removed. */
  errors: string[];
  /** Warnings (level 1). */
  warnings: string[];
  /** The last build log lines (any derivation), newest last. */
  logTail: string[];
}

interface NixEvent {
  action: 'start' | 'stop' | 'result' | 'msg' | 'setPhase';
  id?: number;
  type?: number;
  level?: number;
  text?: string;
  msg?: string;
  fields?: unknown[];
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/** Removes terminal colour codes. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** `/nix/store/<hash>-name.drv` -> `name`. */
export function derivationName(path: string): string {
  const base = path.replace(/^.*\/nix\/store\/[a-z0-9]{32}-/, '');
  return base.replace(/\.drv'?$/, '').replace(/'$/, '');
}

/** Incremental parser: feed it stderr lines; non-`@nix` lines are kept as log lines. */
export class NixProgress {
  readonly state: NixProgressState = {
    built: 0,
    total: 0,
    builtNames: [],
    errors: [],
    warnings: [],
    logTail: [],
  };
  private readonly builds = new Map<number, string>();
  private readonly activities = new Map<number, string>();
  private readonly buildsActivities = new Set<number>();
  private readonly tailSize: number;

  constructor(options: { tailSize?: number } = {}) {
    this.tailSize = options.tailSize ?? 40;
  }

  /** Parses one line; returns true when the visible progress changed. */
  line(raw: string): boolean {
    if (!raw.startsWith('@nix ')) {
      if (raw.trim() !== '') this.pushLog(stripAnsi(raw));
      return false;
    }
    let event: NixEvent;
    try {
      event = JSON.parse(raw.slice(5)) as NixEvent;
    } catch {
      return false;
    }
    const s = this.state;
    switch (event.action) {
      case 'start': {
        const text = event.text ?? '';
        if (event.type === ACT_BUILDS && event.id !== undefined) {
          this.buildsActivities.add(event.id);
          return false;
        }
        if (event.type === ACT_BUILD && event.id !== undefined) {
          const drv = typeof event.fields?.[0] === 'string' ? (event.fields[0] as string) : text;
          const name = derivationName(drv);
          this.builds.set(event.id, name);
          s.builtNames.push(name);
          s.current = `building ${name}`;
          return true;
        }
        if (
          (event.type === ACT_COPY_PATH || event.type === ACT_FILE_TRANSFER) &&
          event.id !== undefined &&
          text
        ) {
          this.activities.set(event.id, stripAnsi(text));
          s.current = stripAnsi(text);
          return true;
        }
        if (text && event.id !== undefined) {
          this.activities.set(event.id, stripAnsi(text));
          s.current = stripAnsi(text);
          return true;
        }
        return false;
      }
      case 'stop': {
        if (event.id === undefined) return false;
        if (this.builds.delete(event.id)) {
          s.built += 1;
          s.current = this.latestActivity();
          return true;
        }
        if (this.activities.delete(event.id)) {
          s.current = this.latestActivity();
          return true;
        }
        return false;
      }
      case 'result': {
        if (
          event.type === RES_PROGRESS &&
          Array.isArray(event.fields) &&
          event.id !== undefined &&
          this.buildsActivities.has(event.id)
        ) {
          // Progress of the Builds activity: [done, expected, running, failed]; `expected`
          // grows while Nix plans and shrinks when it finds outputs already valid.
          const [, expected] = event.fields as number[];
          if (typeof expected === 'number' && expected !== s.total) {
            s.total = expected;
            return true;
          }
          return false;
        }
        if (event.type === RES_BUILD_LOG_LINE && typeof event.fields?.[0] === 'string') {
          this.pushLog(stripAnsi(event.fields[0] as string));
        }
        return false;
      }
      case 'msg': {
        const msg = stripAnsi(event.msg ?? '');
        if (event.level === 0) s.errors.push(msg);
        else if (event.level === 1) s.warnings.push(msg);
        else if (msg.trim() !== '' && (event.level ?? 9) <= 3) this.pushLog(msg);
        return false;
      }
      default:
        return false;
    }
  }

  private latestActivity(): string | undefined {
    const builds = [...this.builds.values()];
    if (builds.length > 0) return `building ${builds[builds.length - 1]}`;
    const acts = [...this.activities.values()];
    return acts[acts.length - 1];
  }

  private pushLog(line: string): void {
    this.state.logTail.push(line);
    if (this.state.logTail.length > this.tailSize) this.state.logTail.shift();
  }
}

/**
 * The useful part of a Nix failure: the error message itself (first line, without the
 * `error:` prefix) and a few lines of detail (the builder's last log lines Nix quotes, or
 * the evaluation trace's last frames), not the whole log.
 */
export function summarizeNixError(
  errors: string[],
  logTail: string[],
  maxDetail = 12,
): { message: string; details: string } {
  // "N dependencies of derivation … failed to build" only says that a build failed earlier:
  // the builder failure (with the log lines Nix quotes) is the error worth reading.
  const builderFailure = errors.find((e) => /builder for '[^']+' failed/.test(e));
  const consequence =
    errors.length > 0 &&
    /dependencies of derivation .* failed to build/.test(errors[errors.length - 1] as string);
  const chosen = builderFailure && consequence ? [builderFailure] : errors;
  const text = chosen.length > 0 ? chosen.join('\n') : logTail.join('\n');
  const lines = text
    .split('\n')
    .map((l) => l.replace(/\s+$/, ''))
    .filter((l) => l.trim() !== '');
  // The last `error:` line is the most specific one (evaluation traces end with it).
  let idx = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (/^\s*error:/.test(lines[i] ?? '')) {
      idx = i;
      break;
    }
  }
  const headLine = idx >= 0 ? (lines[idx] ?? '') : (lines[0] ?? 'nix failed');
  let message = headLine.replace(/^\s*error:\s*/, '').trim();
  let rest = idx >= 0 ? lines.slice(idx + 1) : lines.slice(1);
  // `error: builder for '…drv' failed with exit code 1;` + `last 10 log lines:` + `> …`
  if (message === '' && rest.length > 0) {
    message = (rest[0] ?? '').trim();
    rest = rest.slice(1);
  }
  const details = rest
    .filter((l) => !/For full logs, run/.test(l))
    .slice(-maxDetail)
    .join('\n');
  return { message: message.replace(/;$/, ''), details };
}
