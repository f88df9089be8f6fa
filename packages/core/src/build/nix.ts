/**
 * Running Nix: finding it, checking its version, the flags every command gets, and a
 * runner that streams `--log-format internal-json` progress and turns failures into
 * one-line NxcErrors.
 */
import { NxcError } from '../errors.js';
import { NixProgress, type NixProgressState, summarizeNixError } from './nix-progress.js';

/** Oldest Nix nxc supports (flakes with `--override-input path:`, `build --json`). */
export const MIN_NIX_VERSION = '2.8.0';

/** Flags every nix command gets (flakes are experimental in the Nix versions nxc supports). */
export const NIX_BASE_FLAGS = ['--extra-experimental-features', 'nix-command flakes'];

/**
 * Splits a flags string as a shell would (spaces separate, single/double quotes group,
 * `''` is an empty argument): `--option substituters ''` -> ['--option','substituters',''].
 */
export function splitFlags(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote)
    throw new NxcError('NXC_USAGE', `nix flags: unterminated ${quote} quote in "${text}"`, {
      hint: 'close the quote',
    });
  if (inWord) out.push(cur);
  return out;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * execa, imported when Nix is first run: it takes ~100 ms to load, which every command that
 * does not run Nix (status, exec, stop…) would otherwise pay.
 */
async function loadExeca(): Promise<typeof import('execa').execa> {
  return (await import('execa')).execa;
}

const versionCache = new Map<string, Promise<string>>();

/**
 * The installed Nix version; NxcError `NXC_NIX` when Nix is missing or older than
 * {@link MIN_NIX_VERSION}. Cached per binary for the process.
 */
export function checkNix(nixBin = 'nix'): Promise<string> {
  let cached = versionCache.get(nixBin);
  if (!cached) {
    cached = (async () => {
      let stdout: string;
      try {
        ({ stdout } = await (await loadExeca())(nixBin, ['--version']));
      } catch (error) {
        versionCache.delete(nixBin);
        const code = (error as { code?: string }).code;
        if (code === 'ENOENT')
          throw new NxcError('NXC_NIX', `Nix is not installed (no \`${nixBin}\` on the PATH)`, {
            hint: `install Nix ${MIN_NIX_VERSION} or newer (Debian: apt-get install nix-bin; elsewhere: https://nixos.org/download)`,
            exitCode: 3,
          });
        throw new NxcError(
          'NXC_NIX',
          `\`${nixBin} --version\` failed: ${(error as Error).message.split('\n')[0]}`,
          {
            hint: 'check your Nix installation',
            exitCode: 3,
          },
        );
      }
      const version = /(\d+\.\d+(?:\.\d+)?)/.exec(stdout)?.[1];
      if (!version || compareVersions(version, MIN_NIX_VERSION) < 0)
        throw new NxcError(
          'NXC_NIX',
          `Nix ${version ?? `(unknown version: ${stdout.trim()})`} is too old: nxc needs Nix ${MIN_NIX_VERSION} or newer`,
          {
            hint: 'upgrade Nix (https://nixos.org/download)',
            exitCode: 3,
          },
        );
      return version;
    })();
    versionCache.set(nixBin, cached);
  }
  return cached;
}

/** Options of {@link runNix}. */
export interface RunNixOptions {
  cwd: string;
  /** Called whenever the visible progress changes. */
  onProgress?: (state: NixProgressState) => void;
  signal?: AbortSignal;
  nixBin?: string;
  /** What is being done, for error messages ("building composition::docker"). */
  what: string;
  /**
   * Recognises a failure that has a better explanation than Nix's message (the machine's Nix
   * setup, an untracked file): returns the error to throw instead of `NXC_NIX`.
   */
  explain?: (state: NixProgressState) => NxcError | undefined;
}

/** Result of a successful {@link runNix}. */
export interface RunNixResult {
  stdout: string;
  progress: NixProgressState;
}

/**
 * Runs `nix ARGS` (ARGS should include `--log-format internal-json -v` for progress).
 * Failure -> what `options.explain` makes of it, else NxcError `NXC_NIX`: "<what>: <Nix's
 * error line>", details = a few lines.
 * Abort -> NxcError `NXC_INTERRUPTED` (Nix is killed).
 */
export async function runNix(args: string[], options: RunNixOptions): Promise<RunNixResult> {
  const progress = new NixProgress();
  const execa = await loadExeca();
  const child = execa(options.nixBin ?? 'nix', args, {
    cwd: options.cwd,
    reject: false,
    stdin: 'ignore',
    buffer: { stdout: true, stderr: false },
    ...(options.signal ? { cancelSignal: options.signal } : {}),
    forceKillAfterDelay: 2000,
  });
  let pending = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    pending += chunk;
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (progress.line(line)) options.onProgress?.(progress.state);
      nl = pending.indexOf('\n');
    }
  });
  const result = await child;
  if (pending) progress.line(pending);
  if (options.signal?.aborted || result.isCanceled) {
    throw new NxcError('NXC_INTERRUPTED', `${options.what}: interrupted`, {
      hint: 'run the command again to resume',
    });
  }
  if (result.failed) {
    const code = (result as { code?: string }).code;
    if (code === 'ENOENT')
      throw new NxcError('NXC_NIX', `Nix is not installed (no \`${options.nixBin ?? 'nix'}\` on the PATH)`, {
        hint: `install Nix ${MIN_NIX_VERSION} or newer`,
        exitCode: 3,
      });
    const explained = options.explain?.(progress.state);
    if (explained) throw explained;
    const { message, details } = summarizeNixError(progress.state.errors, progress.state.logTail);
    const error = new NxcError('NXC_NIX', `${options.what}: ${message}`, {
      hint: 'fix the Nix error above (add --show-trace for the evaluation trace)',
      details,
    });
    (error as NxcError & { nixErrors?: string[] }).nixErrors = progress.state.errors;
    throw error;
  }
  return { stdout: String(result.stdout ?? ''), progress: progress.state };
}
