/**
 * Runs the NixOS evaluation suite's Nix entry point (eval.nix): nxc's `lib.compose` over a
 * composition and the flavours the plugin packages declare, with nixpkgs' real `lib` and the
 * typed option stand-ins, or with a full nixpkgs (`NXC_NIXPKGS`).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repo = fileURLToPath(new URL('../../', import.meta.url));
export const suiteDir = fileURLToPath(new URL('./', import.meta.url));
export const standInNixpkgs = join(suiteDir, 'nixpkgs');
export const optionsFile = join(repo, 'test/fixtures/testos/nixos/options.nix');

/**
 * The project's shared data folder (`../shared` beside the main checkout): `$NXC_SHARED_DIR`,
 * else beside the git repository this checkout belongs to (a worktree's common git dir), else
 * beside this checkout.
 */
export function sharedDir(): string {
  if (process.env.NXC_SHARED_DIR) return resolve(process.env.NXC_SHARED_DIR);
  try {
    const common = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], {
      cwd: repo,
      encoding: 'utf8',
    }).trim();
    const candidate = join(dirname(dirname(common)), 'shared');
    if (existsSync(candidate)) return candidate;
  } catch {
    // not a git checkout: fall through
  }
  return resolve(repo, '..', 'shared');
}

/**
 * nixpkgs' `lib` folder: `$NXC_NIXPKGS_LIB` (the lib folder or a folder holding `lib/`, such as
 * a nixpkgs checkout), else `<shared>/nixpkgs-lib/lib`. Throws when absent.
 */
export function nixpkgsLib(): string {
  const given = process.env.NXC_NIXPKGS_LIB
    ? resolve(process.env.NXC_NIXPKGS_LIB)
    : join(sharedDir(), 'nixpkgs-lib', 'lib');
  const dir = existsSync(join(given, 'lib', 'default.nix')) ? join(given, 'lib') : given;
  if (!existsSync(join(dir, 'default.nix')))
    throw new Error(
      `nixpkgs' lib is not at ${dir} (no default.nix): the NixOS evaluation suite needs it; set NXC_NIXPKGS_LIB to a nixpkgs lib folder`,
    );
  return dir;
}

export interface FlavourDecl {
  name: string;
  image: string;
  description: string;
  distribution?: string;
  module: string | null;
}

const PLUGINS = [
  'flavour-docker',
  'flavour-qemu',
  'flavour-g5k-ramdisk',
  'flavour-g5k-nfs-store',
  'flavour-g5k-image',
];

/** Every flavour of the project's plugin packages (their built entry points), as eval.nix reads them. */
export async function projectFlavours(): Promise<Record<string, FlavourDecl>> {
  const out: Record<string, FlavourDecl> = {};
  for (const p of PLUGINS) {
    const entry = join(repo, 'plugins', p, 'dist', 'index.js');
    if (!existsSync(entry))
      throw new Error(`${entry} is missing: build the plugins first (pnpm turbo run build)`);
    const mod = (await import(pathToFileURL(entry).href)) as {
      default: {
        flavours: Array<{
          name: string;
          description: string;
          build: { image: string; distribution?: string; nixModule?: string };
        }>;
      };
    };
    for (const f of mod.default.flavours)
      out[f.name] = {
        name: f.name,
        image: f.build.image,
        description: f.description,
        distribution: f.build.distribution,
        module: f.build.nixModule ?? null,
      };
  }
  return out;
}

/** What eval.nix returns per "<composition>::<flavour>" with the stand-in nixpkgs. */
export interface Evaluated {
  info: {
    composition: string;
    flavour: { name: string; image: string };
    roles: Record<string, { init: string; toplevel: string }>;
    all: Record<string, string>;
    extra?: Record<string, unknown>;
  };
  /** Each role's evaluated NixOS configuration (every definition forced). */
  roles: Record<string, RoleConfig>;
  /** Text of the all-in-one init (`all.init`), when the image kind has one. */
  init: string | null;
  roles_map: Record<string, string> | null;
}

// biome-ignore lint/suspicious/noExplicitAny: a whole NixOS configuration as JSON
export type RoleConfig = Record<string, any>;

export interface EvalInput {
  composition?: string;
  compositions?: string;
  setup?: string;
  extraModules?: string[];
  only?: string;
  /** A full nixpkgs instead of the stand-in: returns drvPaths. */
  fullNixpkgs?: string;
  env?: Record<string, string>;
}

export class NixEvalError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

let scratch: string | undefined;
let flavoursFile: string | undefined;

/** A temporary folder of this run, removed by {@link cleanup}. */
export function scratchDir(): string {
  scratch ??= mkdtempSync(join(tmpdir(), 'nxc-nixos-eval-'));
  return scratch;
}

/** Removes what the harness wrote in the temporary folder. */
export function cleanup(): void {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
  flavoursFile = undefined;
}

async function flavoursJson(): Promise<string> {
  if (!flavoursFile) {
    flavoursFile = join(scratchDir(), 'flavours.json');
    writeFileSync(flavoursFile, JSON.stringify(await projectFlavours(), null, 2));
  }
  return flavoursFile;
}

const nixPath = (p: string) => `/. + ${JSON.stringify(resolve(p))}`;

/** Runs eval.nix; rejects with a NixEvalError carrying Nix's stderr. */
export async function evaluate(input: EvalInput): Promise<Record<string, unknown>> {
  const args = [
    '--read-write-mode',
    '--eval',
    '--strict',
    '--json',
    join(suiteDir, 'eval.nix'),
    '--arg',
    'repo',
    nixPath(repo),
    '--argstr',
    'flavoursFile',
    await flavoursJson(),
  ];
  if (input.composition) args.push('--arg', 'composition', nixPath(input.composition));
  if (input.compositions) args.push('--arg', 'compositions', nixPath(input.compositions));
  if (input.setup) args.push('--arg', 'setup', nixPath(input.setup));
  if (input.only) args.push('--argstr', 'only', input.only);
  if (input.extraModules?.length)
    args.push('--arg', 'extraModules', `[ ${input.extraModules.map((m) => `(${nixPath(m)})`).join(' ')} ]`);
  if (input.fullNixpkgs)
    args.push('--arg', 'full', 'true', '--argstr', 'nixpkgs', resolve(input.fullNixpkgs));
  const env = {
    ...process.env,
    NXC_NIXPKGS_LIB: nixpkgsLib(),
    NXC_NIXOS_OPTIONS: optionsFile,
    ...input.env,
  };
  return new Promise((ok, ko) => {
    execFile('nix-instantiate', args, { env, maxBuffer: 256 << 20 }, (error, stdout, stderr) => {
      if (error) {
        const first = stderr
          .split('\n')
          .filter((l) => l.trim() && !l.includes('--show-trace'))
          .join('\n');
        ko(new NixEvalError(`nix-instantiate failed: ${first}`, stderr));
      } else ok(JSON.parse(stdout) as Record<string, unknown>);
    });
  });
}

/** The directories of a generated init's `export PATH=...` line. */
export function initPath(init: string): string[] {
  const line = init.split('\n').find((l) => /^\s*export PATH=/.test(l));
  if (!line) return [];
  return line
    .replace(/^\s*export PATH=/, '')
    .replace(/\$\{PATH:\+:\$PATH\}.*$/, '')
    .split(':')
    .filter(Boolean);
}
