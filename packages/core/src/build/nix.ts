/**
 * Running Nix: finding it, checking its version, the flags every command gets, and a
 * runner that streams `--log-format internal-json` progress and turns failures into
 * one-line NxcErrors.
 */
import { mkdir, readFile, realpath, rename, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { NxcError } from '../errors.js';
import { nodeChildProcess, nodeUtil } from '../lazy-builtins.js';
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

const versionCache = new Map<string, Promise<string>>();

/**
 * Where `nix --version` answers are kept between runs: `$XDG_CACHE_HOME/nxc/nix-version.json`
 * (default `~/.cache`), one entry per binary identity (see binaryIdentity). Spawning Nix only
 * to read its version costs a no-op `nxc build` about 0.1 s (issue #17).
 */
function versionCacheFile(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'nxc', 'nix-version.json');
}

/**
 * The binary `nixBin` runs (found on the PATH as a shell would, when it has no slash), as
 * `realpath|size|mtime|inode`: an upgraded or replaced Nix has another identity, so a cached
 * version is never a stale one. Undefined when it cannot be found (then `nix --version` runs
 * and reports the problem).
 */
async function binaryIdentity(nixBin: string): Promise<string | undefined> {
  const candidates = nixBin.includes('/')
    ? [nixBin]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, nixBin));
  for (const candidate of candidates) {
    try {
      const real = await realpath(candidate);
      const st = await stat(real);
      if (!st.isFile() || (st.mode & 0o111) === 0) continue;
      return `${real}|${st.size}|${st.mtimeMs}|${st.ino}`;
    } catch {}
  }
  return undefined;
}

async function readVersionCache(identity: string): Promise<string | undefined> {
  try {
    const entries = JSON.parse(await readFile(versionCacheFile(), 'utf8')) as Record<string, unknown>;
    const version = entries[identity];
    return typeof version === 'string' && compareVersions(version, MIN_NIX_VERSION) >= 0
      ? version
      : undefined;
  } catch {
    return undefined;
  }
}

/** Best effort: a cache that cannot be written only costs the next run a `nix --version`. */
async function writeVersionCache(identity: string, version: string): Promise<void> {
  const file = versionCacheFile();
  try {
    let entries: Record<string, unknown> = {};
    try {
      entries = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    } catch {}
    // keep the file small: the last 7 other binaries, and this one
    const kept: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(entries).slice(-7)) if (key !== identity) kept[key] = value;
    kept[identity] = version;
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(kept)}\n`);
    await rename(tmp, file);
  } catch {}
}

/**
 * The installed Nix version; NxcError `NXC_NIX` when Nix is missing or older than
 * {@link MIN_NIX_VERSION}. Cached per binary for the process, and between processes in
 * `$XDG_CACHE_HOME/nxc/nix-version.json` keyed by the binary's path, size, mtime and inode.
 */
export function checkNix(nixBin = 'nix'): Promise<string> {
  let cached = versionCache.get(nixBin);
  if (!cached) {
    cached = (async () => {
      const identity = await binaryIdentity(nixBin);
      const known = identity ? await readVersionCache(identity) : undefined;
      if (known) return known;
      let stdout: string;
      try {
        ({ stdout } = await nodeUtil().promisify(nodeChildProcess().execFile)(nixBin, ['--version'], {
          encoding: 'utf8',
        }));
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
      if (identity) await writeVersionCache(identity, version);
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
  // node:child_process, not execa: loading execa cost a no-op `nxc build` ~50 ms of CPU
  const child = nodeChildProcess().spawn(options.nixBin ?? 'nix', args, {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let killTimer: NodeJS.Timeout | undefined;
  let canceled = false;
  const onAbort = () => {
    canceled = true;
    child.kill('SIGTERM');
    killTimer = setTimeout(() => child.kill('SIGKILL'), 2000);
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  const out: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  let pending = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    pending += chunk;
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (progress.line(line)) options.onProgress?.(progress.state);
      nl = pending.indexOf('\n');
    }
  });
  const result = await new Promise<{ failed: boolean; code?: string }>((done) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      done({ failed: true, ...(error.code ? { code: error.code } : {}) }),
    );
    child.once('close', (status) => done({ failed: status !== 0 }));
  });
  if (killTimer) clearTimeout(killTimer);
  options.signal?.removeEventListener('abort', onAbort);
  if (pending) progress.line(pending);
  if (options.signal?.aborted || canceled) {
    throw new NxcError('NXC_INTERRUPTED', `${options.what}: interrupted`, {
      hint: 'run the command again to resume',
    });
  }
  if (result.failed) {
    if (result.code === 'ENOENT')
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
  return { stdout: Buffer.concat(out).toString('utf8'), progress: progress.state };
}
