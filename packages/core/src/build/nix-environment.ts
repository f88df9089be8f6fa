/**
 * Nix failures that are not the user's Nix code but the machine: no build users group, Nix's
 * experimental features turned off, a store the user cannot write and no daemon, no network,
 * a file git does not track. Each becomes one NxcError naming the exact fix, instead of Nix's
 * own wording, which names the symptom (`getting status of '/nix/store/…-source/x.nix'`).
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { NxcError } from '../errors.js';
import { nodeChildProcess } from '../lazy-builtins.js';
import type { FlakeSource } from './flake-source.js';
import type { NixProgressState } from './nix-progress.js';

/** Where a Nix flag came from, to say which one to change. */
export interface NixFlagSource {
  /** e.g. `nix.flags in /p/package.json`, `$NXC_NIX_FLAGS`, `--nix-flags`. */
  name: string;
  flags: string[];
}

/** What {@link explainNixFailure} needs to know about the run that failed. */
export interface NixFailureContext {
  /** What was being done ("building composition::docker"), the message prefix. */
  what: string;
  /** The project directory (paths in hints are relative to it). */
  projectRoot: string;
  /** How the project's flake reached the store (git work tree or filtered mirror). */
  source?: FlakeSource;
  /** The extra flags nxc passed, by origin. */
  flagSources?: NixFlagSource[];
}

const NIX_STORE_DIR = () => process.env.NIX_STORE_DIR ?? '/nix/store';
const NIX_STATE_DIR = () => process.env.NIX_STATE_DIR ?? '/nix/var/nix';

/** Nix's build users, created the way Nix's installer (and Debian's nix-setup-systemd) does. */
export function buildUsersCommand(group: string): string {
  return `groupadd -r ${group} && for i in $(seq 1 8); do useradd -r -g ${group} -G ${group} -d /var/empty -s /usr/sbin/nologin ${group}$i; done`;
}

const NETWORK_REASONS =
  /(Couldn't resolve host name|Could not resolve host|Couldn't resolve proxy name|Could not resolve proxy|Couldn't connect to server|Failed to connect|Connection refused|Timeout was reached|Connection timed out|Network is unreachable|No route to host)/;

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'this user');
  }
}

function env(what: string, message: string, hint: string): NxcError {
  return new NxcError('NXC_NIX_ENV', `${what}: ${message}`, { hint, exitCode: 3 });
}

function buildUsers(text: string, ctx: NixFailureContext): NxcError | undefined {
  const m = /the group '([^']+)' specified in 'build-users-group' does not exist/.exec(text);
  if (!m) return undefined;
  const group = m[1] as string;
  return env(
    ctx.what,
    `Nix builds as the users of group '${group}' (its build-users-group setting) and that group does not exist`,
    `create the group and its build users as root: ${buildUsersCommand(group)}`,
  );
}

function features(text: string, ctx: NixFailureContext): NxcError | undefined {
  const m = /experimental Nix feature '([^']+)' is disabled/.exec(text);
  if (!m) return undefined;
  const feature = m[1] as string;
  // nxc passes --extra-experimental-features itself: only a later `experimental-features`
  // setting (a flag, or NIX_CONFIG) can have turned the feature off again.
  const culprit = (ctx.flagSources ?? []).find((s) =>
    s.flags.some((f) => /^(--)?experimental-features\b/.test(f)),
  );
  const hint = culprit
    ? `remove \`--option experimental-features …\` from ${culprit.name}: nxc turns on nix-command and flakes itself`
    : process.env.NIX_CONFIG?.includes('experimental-features')
      ? 'remove `experimental-features` from $NIX_CONFIG, or set it to `nix-command flakes`'
      : 'add `experimental-features = nix-command flakes` to /etc/nix/nix.conf (or ~/.config/nix/nix.conf)';
  return env(
    ctx.what,
    `Nix's experimental feature '${feature}' is turned off, and nxc builds flakes with the nix command`,
    hint,
  );
}

const DAEMON_HINT =
  'start the Nix daemon and let your user use it (Debian: sudo apt-get install nix-setup-systemd && sudo adduser $USER nix-users, then log in again), or run nxc as the store owner (root)';

function store(text: string, ctx: NixFailureContext): NxcError | undefined {
  const socket = /cannot connect to socket at '([^']+)': ([^\n]+)/.exec(text);
  if (socket)
    return env(
      ctx.what,
      `the Nix daemon does not answer at ${socket[1]} (${(socket[2] as string).trim()})`,
      DAEMON_HINT,
    );
  const roots = [NIX_STORE_DIR(), NIX_STATE_DIR(), '/nix/'];
  for (const m of text.matchAll(
    /'([^']+)'[^\n]*?: (Permission denied|Operation not permitted|Read-only file system)/g,
  )) {
    const path = m[1] as string;
    if (!roots.some((r) => path.startsWith(r))) continue;
    const readOnly = m[2] === 'Read-only file system';
    return env(
      ctx.what,
      readOnly
        ? `the Nix store is on a read-only file system (${path})`
        : `user ${userName()} may not write the Nix store (${path}: ${m[2]}) and no Nix daemon is in use`,
      readOnly
        ? 'remount the file system holding /nix read-write, or use a Nix daemon that can write it'
        : DAEMON_HINT,
    );
  }
  return undefined;
}

function network(text: string, ctx: NixFailureContext, warnings: string[]): NxcError | undefined {
  const download = /unable to download '([^']+)': ([^\n;]+)/.exec(text);
  const curl = /curl: \(\d+\) ([^\n]+)/.exec(text);
  const reason = download?.[2] ?? curl?.[1];
  if (!reason || !NETWORK_REASONS.test(reason)) return undefined;
  const url = download?.[1];
  const cacheDown = warnings.some((w) => /unable to download '[^']*nix-cache-info'/.test(w));
  const fromCache = url !== undefined && /\.narinfo$|nix-cache-info$|\/nar\//.test(url);
  const what = url
    ? `Nix could not download ${url} (${reason.replace(/ \(\d+\)$/, '')})`
    : `a build could not reach the network (${reason})`;
  const hint =
    fromCache || (cacheDown && !url)
      ? 'connect this machine to the network (or set https_proxy); to build everything locally instead, pass --nix-flags "--option substituters \'\'"'
      : 'connect this machine to the network (or set https_proxy); offline, give the input a local copy (config nix.overrideInputs) or lock it in flake.lock while online';
  return env(ctx.what, `no network: ${what}`, hint);
}

/** A file git does not track, when that is what Nix missed: `git add` it. */
function untrackedFile(text: string, ctx: NixFailureContext): NxcError | undefined {
  if (ctx.source?.kind !== 'git') return undefined;
  const root = ctx.source.root;
  const storeDir = NIX_STORE_DIR().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const inStore = new RegExp(`${storeDir}/[a-z0-9]{32}-source/([^'\\s]+)`);
  const patterns = [
    new RegExp(`getting status of '${inStore.source}'`),
    new RegExp(`path '${inStore.source}' does not exist`),
    new RegExp(`opening file '${inStore.source}'`),
    /does not contain a '\/?([^']+)' file/,
    // Nix >= 2.20 says it outright
    /Path '([^']+)' in the repository "[^"]+" is not tracked by Git/,
  ];
  for (const p of patterns) {
    const m = p.exec(text);
    if (!m) continue;
    const rel = m[1] as string;
    const onDisk = join(root, rel);
    if (!existsSync(onDisk) || isTracked(root, rel)) continue;
    // Nix names the first path it misses: a folder when none of its files is tracked
    const files = untrackedUnder(root, rel).map((f) => relative(ctx.projectRoot, join(root, f)));
    const named = files.length > 0 && files.length <= 3 ? files : [relative(ctx.projectRoot, onDisk) || '.'];
    const quoted = named.map((f) => (/^[\w@%+=:,./-]+$/.test(f) ? f : `'${f.replace(/'/g, `'\\''`)}'`));
    return new NxcError(
      'NXC_GIT_UNTRACKED',
      `${ctx.what}: ${named.join(', ')} ${named.length > 1 ? 'are' : 'is'} not tracked by git, and Nix only sees the files git tracks in ${root}`,
      { hint: `git add ${quoted.join(' ')}` },
    );
  }
  return undefined;
}

/**
 * A file of the project that the flake reads (the composition named in flake.nix, a file
 * the composition imports) and that does not exist: Nix names it by its store copy.
 * Only when its folder exists in the project, so that a path of another input (nixpkgs...)
 * is not taken for one of the project.
 */
function missingFile(text: string, ctx: NixFailureContext): NxcError | undefined {
  if (!ctx.source) return undefined;
  const root = ctx.source.kind === 'git' ? ctx.source.root : ctx.projectRoot;
  const storeDir = NIX_STORE_DIR().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const inStore = `${storeDir}/[a-z0-9]{32}-source/([^'\\s]+)`;
  const patterns = [
    new RegExp(`getting status of '${inStore}'`),
    new RegExp(`path '${inStore}' does not exist`),
    new RegExp(`opening file '${inStore}'`),
  ];
  for (const p of patterns) {
    const m = p.exec(text);
    if (!m) continue;
    const onDisk = join(root, m[1] as string);
    if (existsSync(onDisk) || !existsSync(dirname(onDisk))) continue;
    const rel = relative(ctx.projectRoot, onDisk);
    return new NxcError('NXC_PROJECT', `${ctx.what}: ${rel} does not exist (the flake reads it)`, {
      hint: `create ${rel}, or fix the path that names it (in flake.nix, or the file that imports it)`,
    });
  }
  return undefined;
}

/** Untracked, not ignored files at or under `rel` (paths relative to the repository). */
function untrackedUnder(root: string, rel: string): string[] {
  try {
    const out = nodeChildProcess().execFileSync(
      'git',
      ['ls-files', '-z', '--others', '--exclude-standard', '--', rel],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    return out.split('\0').filter((f) => f !== '');
  } catch {
    return [];
  }
}

function isTracked(root: string, rel: string): boolean {
  try {
    nodeChildProcess().execFileSync('git', ['ls-files', '--error-unmatch', '--', rel], {
      cwd: root,
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * Turns a failed Nix run into the environment error it is, or undefined when it is an
 * ordinary Nix error (the user's code) that the caller reports as `NXC_NIX`.
 */
export function explainNixFailure(
  state: Pick<NixProgressState, 'errors' | 'warnings' | 'logTail'>,
  ctx: NixFailureContext,
): NxcError | undefined {
  const text = [...state.errors, ...state.logTail].join('\n');
  return (
    buildUsers(text, ctx) ??
    features(text, ctx) ??
    store(text, ctx) ??
    untrackedFile(text, ctx) ??
    missingFile(text, ctx) ??
    network(text, ctx, state.warnings)
  );
}

/**
 * A warning worth one line even when the build succeeds: an unreachable binary cache costs
 * every build several seconds of retries.
 */
export function unreachableCacheWarning(warnings: string[]): string | undefined {
  for (const w of warnings) {
    const m = /unable to download '(https?:\/\/[^']+)\/nix-cache-info': ([^\n;]+)/.exec(w);
    if (m && NETWORK_REASONS.test(m[2] as string))
      return `the binary cache ${m[1]} is unreachable (${(m[2] as string).replace(/ \(\d+\)$/, '')}); offline, pass --nix-flags "--option substituters ''" to skip it`;
  }
  return undefined;
}
