/**
 * `nxc init`: copy a project template (`nix/templates/<name>/` of the nxc Nix library) into a
 * directory. All or nothing: every target is checked before the first byte is written, and a
 * failure while writing removes what this call created.
 */
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NxcError } from '../errors.js';

/** Name of the index file listing the templates (name -> description), read by TS and Nix. */
const INDEX_FILE = 'templates.json';

/**
 * Stands for the running @nxc/core's version in template files: their `nxc` flake input is
 * that version's npm tarball, whose `nix/` folder is the library this nxc builds with.
 */
const CORE_VERSION_PLACEHOLDER = '@NXC_CORE_VERSION@';

/** One template, as `nxc init --list` shows it. */
export interface TemplateInfo {
  /** Name given to `-t` (e.g. `k3s`). */
  name: string;
  /** One line describing the template. */
  description: string;
  /** Absolute path of the template folder. */
  path: string;
}

/** Options of {@link init}. */
export interface InitOptions {
  /** Directory to initialise (created when missing). */
  dir: string;
  /** Template name; default `basic`. */
  template?: string;
  /** Overwrite files that already exist instead of refusing. */
  force?: boolean;
  /** Folder holding the templates and their `templates.json`; default: the one shipped with nxc. */
  templatesDir?: string;
}

/** What {@link init} wrote. */
export interface InitResult {
  /** Absolute path of the initialised directory. */
  dir: string;
  template: string;
  /** Files written, relative to `dir`, sorted. */
  files: string[];
  /** Files that existed and were overwritten (only with `force`). */
  overwritten: string[];
  /**
   * Existing `.gitignore` files that received the template's missing lines (nxc's state
   * folders: `build/`, `deploy/`, `artifact/`, `.nxc/`) instead of being replaced.
   */
  merged: string[];
  /**
   * True when `dir` is inside a git work tree and the new files were added with
   * `git add --intent-to-add` (a flake in a git repository only sees tracked files).
   */
  gitAdded: boolean;
}

/** Default template of `nxc init`. */
export const DEFAULT_TEMPLATE = 'basic';

/**
 * Finds the templates shipped with nxc: `nix/templates/` next to this package (published
 * layout: `@nxc/core/nix/templates`) or at the repository root (workspace layout).
 */
export function defaultTemplatesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'nix', 'templates');
    if (existsSync(join(candidate, INDEX_FILE))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new NxcError('NXC_IO', 'cannot find the nxc project templates (nix/templates/templates.json)', {
    hint: 'reinstall @nxc/core; its nix/ folder is missing',
  });
}

/** Version of this @nxc/core: its package.json, next to `dist/` (published) or `src/` (workspace). */
async function coreVersion(): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (manifest.name === '@nxc/core' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // no (readable) package.json at this level: look one level up
    }
    dir = dirname(dir);
  }
  throw new NxcError(
    'NXC_IO',
    "cannot find @nxc/core's package.json (its version names the nxc flake input)",
    {
      hint: 'reinstall @nxc/core',
    },
  );
}

/** Lists the available templates, sorted by name. */
export async function listTemplates(options: { templatesDir?: string } = {}): Promise<TemplateInfo[]> {
  const root = resolve(options.templatesDir ?? defaultTemplatesDir());
  const indexPath = join(root, INDEX_FILE);
  let index: unknown;
  try {
    index = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (cause) {
    throw new NxcError('NXC_IO', `${indexPath}: cannot read the template index`, {
      hint: 'it must be a JSON object {"<template>": "<one-line description>"}',
      cause,
    });
  }
  if (typeof index !== 'object' || index === null || Array.isArray(index)) {
    throw new NxcError('NXC_IO', `${indexPath}: expected a JSON object of template descriptions`, {
      hint: 'write it as {"<template>": "<one-line description>"}',
    });
  }
  return Object.entries(index as Record<string, unknown>)
    .map(([name, description]) => ({ name, description: String(description), path: join(root, name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * npm never packs files named `.gitignore`, so templates store them as `_gitignore`; this maps
 * a template file name to the name written in the project.
 */
function targetName(rel: string): string {
  return rel.replace(/(^|\/)_gitignore$/, '$1.gitignore');
}

/** Relative paths of every file under `root`, sorted (directories are implied). */
async function listFiles(root: string, sub = ''): Promise<string[]> {
  const entries = await readdir(join(root, sub), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const rel = sub === '' ? entry.name : `${sub}/${entry.name}`;
    if (entry.isDirectory()) files.push(...(await listFiles(root, rel)));
    else files.push(rel);
  }
  return files.sort();
}

/** Adds new files to git's index as intent-to-add when `dir` is in a work tree (as `nix flake init` does). */
async function gitIntentToAdd(dir: string, files: string[]): Promise<boolean> {
  if (files.length === 0) return false;
  const { execa } = await import('execa');
  const inside = await execa('git', ['-C', dir, 'rev-parse', '--is-inside-work-tree'], { reject: false });
  if (inside.exitCode !== 0 || inside.stdout.trim() !== 'true') return false;
  const added = await execa('git', ['-C', dir, 'add', '--intent-to-add', '--force', '--', ...files], {
    reject: false,
  });
  return added.exitCode === 0;
}

/** Kind of what exists at `path`, without following a final symlink. */
async function existing(path: string): Promise<'file' | 'dir' | undefined> {
  try {
    const st = await lstat(path);
    return st.isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

/** A `.gitignore` is merged into, never replaced nor refused: the user's lines stay. */
const isGitignore = (rel: string): boolean => rel === '.gitignore' || rel.endsWith('/.gitignore');

/** `existing` plus the lines of `template` it lacks (comments and blank lines aside), or undefined when none. */
function mergeGitignore(existing: string, template: string): string | undefined {
  const have = new Set(existing.split('\n').map((l) => l.trim()));
  const missing = template
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !have.has(l));
  if (missing.length === 0) return undefined;
  const base = existing === '' || existing.endsWith('\n') ? existing : `${existing}\n`;
  return `${base}# nxc state (added by nxc init): build links, deployments, logs, generated files\n${missing.join('\n')}\n`;
}

/**
 * Copies template `template` into `dir`. Refuses (NxcError, nothing written) when a target
 * file already exists, unless `force`; an existing `.gitignore` gets the template's missing
 * lines instead (the state folders must stay out of git). An unknown template lists the
 * known ones.
 */
export async function init(options: InitOptions): Promise<InitResult> {
  const template = options.template ?? DEFAULT_TEMPLATE;
  const dir = resolve(options.dir);
  // Paths in messages as the user wrote them.
  const shown = (rel: string): string => join(options.dir, rel);
  const templates = await listTemplates({ templatesDir: options.templatesDir });
  const chosen = templates.find((t) => t.name === template);
  if (chosen === undefined) {
    throw new NxcError(
      'NXC_USAGE',
      `unknown template "${template}" (templates: ${templates.map((t) => t.name).join(', ')})`,
      { hint: 'pick one with `nxc init -t <template>`' },
    );
  }
  const sources = await listFiles(chosen.path).catch((cause: unknown) => {
    throw new NxcError('NXC_IO', `${chosen.path}: cannot read template "${template}"`, {
      hint: 'reinstall @nxc/core; its nix/templates folder is incomplete',
      cause,
    });
  });
  const plan = sources.map((source) => ({ source, rel: targetName(source) }));
  const version = await coreVersion();

  const dirKind = await existing(dir);
  if (dirKind === 'file') {
    throw new NxcError('NXC_USAGE', `${options.dir} is a file, not a directory`, {
      hint: 'give `nxc init` a new or existing directory',
    });
  }

  // Check every target first: nothing is written when one of them conflicts.
  const overwritten: string[] = [];
  const merged: string[] = [];
  for (const { rel } of plan) {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if ((await existing(join(dir, parent))) === 'file') {
        throw new NxcError(
          'NXC_USAGE',
          `${shown(parent)} is a file; template "${template}" needs a folder there`,
          {
            hint: 'move the file away or initialise another directory',
          },
        );
      }
    }
    const kind = await existing(join(dir, rel));
    if (kind === 'file' && isGitignore(rel)) {
      merged.push(rel);
      continue;
    }
    if (kind === 'dir') {
      throw new NxcError(
        'NXC_USAGE',
        `${shown(rel)} is a directory; template "${template}" writes a file there`,
        {
          hint: 'move it away or initialise another directory',
        },
      );
    }
    if (kind === 'file') {
      if (!options.force) {
        throw new NxcError('NXC_USAGE', `${shown(rel)} already exists; nxc init never overwrites files`, {
          hint: 'initialise an empty directory, or pass --force to overwrite the template files',
        });
      }
      overwritten.push(rel);
    }
  }

  // Write, remembering what we created so that a failure leaves nothing half-made.
  const createdDirs: string[] = [];
  const createdFiles: string[] = [];
  try {
    if (dirKind === undefined) {
      const first = await mkdir(dir, { recursive: true });
      if (first !== undefined) createdDirs.push(first);
    }
    for (const { source, rel } of plan) {
      if (merged.includes(rel)) continue;
      const from = join(chosen.path, source);
      const target = join(dir, rel);
      const made = await mkdir(dirname(target), { recursive: true });
      if (made !== undefined) createdDirs.push(made);
      const [raw, st] = await Promise.all([readFile(from), stat(from)]);
      const content = raw.includes(CORE_VERSION_PLACEHOLDER)
        ? raw.toString('utf8').replaceAll(CORE_VERSION_PLACEHOLDER, version)
        : raw;
      // Sources may be read-only (installed from the Nix store): the user's copy is writable.
      const mode = st.mode & 0o111 ? 0o755 : 0o644;
      if (!overwritten.includes(rel)) createdFiles.push(target);
      await writeFile(target, content, { mode });
    }
    // last: nothing else can fail after the user's file changed
    for (const { source, rel } of plan.filter((p) => merged.includes(p.rel))) {
      const target = join(dir, rel);
      const updated = mergeGitignore(
        await readFile(target, 'utf8'),
        await readFile(join(chosen.path, source), 'utf8'),
      );
      if (updated !== undefined) await writeFile(target, updated);
    }
  } catch (cause) {
    await Promise.all(createdFiles.map((f) => rm(f, { force: true })));
    for (const d of createdDirs.reverse()) await rm(d, { recursive: true, force: true });
    throw new NxcError(
      'NXC_IO',
      `cannot write template "${template}" into ${options.dir}: ${(cause as Error).message}`,
      {
        hint: 'check that the directory is writable (nothing was left behind)',
        cause,
      },
    );
  }
  const files = plan.map((p) => p.rel).sort();
  const gitAdded = await gitIntentToAdd(
    dir,
    files.filter((f) => !overwritten.includes(f) && !merged.includes(f)),
  );
  return { dir, template, files, overwritten, merged, gitAdded };
}
