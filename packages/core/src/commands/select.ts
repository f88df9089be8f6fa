/**
 * Which composition x flavour a command acts on when the user does not say it fully:
 * builds are the `build/<composition>::<flavour>` links, deployments the
 * `deploy/<composition>::<flavour>.json` documents.
 */
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { NxcError } from '../errors.js';
import type { Project } from '../project.js';
import { checkName } from '../state.js';

/** A `<composition>::<flavour>` pair found on disk. */
export interface StateEntry {
  composition: string;
  flavour: string;
  /** Absolute path of the build link or deployment document. */
  path: string;
  /** Modification time of the link / file itself (ms). */
  mtimeMs: number;
}

/** What the user asked for: `-C comp`, `-C comp::flavour`, `-f flavour`. */
export interface Selector {
  composition?: string;
  flavour?: string;
}

/**
 * Splits `-C comp::flavour` and merges it with `-f`. A flavour given both ways must agree.
 */
export function parseSelector(input: { composition?: string; flavour?: string }): Selector {
  let { composition, flavour } = input;
  if (composition?.includes('::')) {
    const [comp, flav, ...rest] = composition.split('::');
    if (rest.length > 0 || flav === undefined || flav === '') {
      throw new NxcError('NXC_USAGE', `-C ${composition}: expected COMPOSITION or COMPOSITION::FLAVOUR`, {
        hint: 'write it like `-C composition::docker`',
      });
    }
    if (flavour !== undefined && flavour !== flav) {
      throw new NxcError('NXC_USAGE', `-C ${composition} names flavour "${flav}" but -f says "${flavour}"`, {
        hint: 'give the flavour once, with -f or in -C',
      });
    }
    composition = comp === '' ? undefined : comp;
    flavour = flav;
  }
  // Both become file names (build/<c>::<f>, deploy/, artifact/): refuse `../x` before any use.
  if (composition) checkName('composition', composition);
  if (flavour) checkName('flavour', flavour);
  return {
    ...(composition ? { composition } : {}),
    ...(flavour ? { flavour } : {}),
  };
}

async function listEntries(dir: string, suffix: string): Promise<StateEntry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const entries: StateEntry[] = [];
  for (const name of names) {
    if (!name.endsWith(suffix) || !name.includes('::')) continue;
    const base = name.slice(0, name.length - suffix.length);
    if (suffix === '.json' && base.endsWith('.state')) continue;
    const sep = base.lastIndexOf('::');
    const composition = base.slice(0, sep);
    const flavour = base.slice(sep + 2);
    if (flavour === '' || flavour.includes('.')) continue;
    const full = path.join(dir, name);
    const st = await lstat(full);
    entries.push({ composition, flavour, path: full, mtimeMs: st.mtimeMs });
  }
  return entries.sort((a, b) => b.mtimeMs - a.mtimeMs);
}

/** Builds present in `build/`, newest first. `::flavour` (original all-in-one) has composition "". */
export function listBuilds(project: Project): Promise<StateEntry[]> {
  return listEntries(project.buildDir, '');
}

/** Deployment documents in `deploy/`, newest first. */
export function listDeployments(project: Project): Promise<StateEntry[]> {
  return listEntries(project.deployDir, '.json');
}

const label = (e: { composition: string; flavour: string }) => `${e.composition}::${e.flavour}`;

function matches(entry: StateEntry, sel: Selector): boolean {
  if (sel.flavour !== undefined && entry.flavour !== sel.flavour) return false;
  if (sel.composition !== undefined && entry.composition !== sel.composition && entry.composition !== '') {
    return false;
  }
  return true;
}

/**
 * The build `nxc start` uses: the one matching `-C`/`-f`; when several match, the most recent
 * (like the original nxc). With neither given, the config's `defaultFlavour` narrows the choice
 * when a build of that flavour exists.
 */
export async function selectBuild(project: Project, sel: Selector): Promise<StateEntry> {
  const all = await listBuilds(project);
  if (all.length === 0) {
    throw new NxcError('NXC_COMPOSE_INFO', `no build found in ${rel(project, project.buildDir)}/`, {
      hint: 'build first with `nxc build -f FLAVOUR`, or pass `--compose-info FILE`',
    });
  }
  let candidates = all.filter((e) => matches(e, sel));
  // A named composition wins over the original's `::flavour` all-in-one link.
  if (sel.composition !== undefined) {
    const exact = candidates.filter((e) => e.composition === sel.composition);
    if (exact.length > 0) candidates = exact;
  }
  if (candidates.length === 0) {
    throw new NxcError(
      'NXC_COMPOSE_INFO',
      `no build of ${describe(sel)} in ${rel(project, project.buildDir)}/ (builds: ${all.map(label).join(', ')})`,
      {
        hint: `build it with \`nxc build${buildFlags(sel)}\`, or pick one of the builds with -C COMPOSITION::FLAVOUR`,
      },
    );
  }
  if (sel.flavour === undefined && project.config.defaultFlavour) {
    const preferred = candidates.filter((e) => e.flavour === project.config.defaultFlavour);
    if (preferred.length > 0) candidates = preferred;
  }
  const chosen = candidates[0]!;
  return chosen.composition === '' && sel.composition !== undefined
    ? { ...chosen, composition: sel.composition }
    : chosen;
}

/**
 * The deployment a running-deployment command (stop, status, exec, connect, logs) acts on:
 * the only one matching `-C`/`-f`. Several -> error listing them (never guess which to stop).
 */
export async function selectDeployment(project: Project, sel: Selector): Promise<StateEntry> {
  const all = await listDeployments(project);
  const candidates = all.filter((e) => matches(e, sel));
  if (candidates.length === 1) return candidates[0]!;
  if (all.length === 0) {
    throw new NxcError('NXC_DEPLOYMENT', `no deployment in ${rel(project, project.deployDir)}/`, {
      hint: 'start one with `nxc start`',
    });
  }
  if (candidates.length === 0) {
    throw new NxcError(
      'NXC_DEPLOYMENT',
      `no deployment of ${describe(sel)} (deployments: ${all.map(label).join(', ')})`,
      { hint: 'pick one with -C COMPOSITION::FLAVOUR' },
    );
  }
  throw new NxcError('NXC_DEPLOYMENT', `several deployments match: ${candidates.map(label).join(', ')}`, {
    hint: `choose one with -C, e.g. \`-C ${label(candidates[0]!)}\``,
  });
}

function describe(sel: Selector): string {
  if (sel.composition && sel.flavour) return `${sel.composition}::${sel.flavour}`;
  if (sel.composition) return `composition "${sel.composition}"`;
  if (sel.flavour) return `flavour "${sel.flavour}"`;
  return 'any composition';
}

function buildFlags(sel: Selector): string {
  return (
    (sel.flavour ? ` -f ${sel.flavour}` : ' -f FLAVOUR') + (sel.composition ? ` -C ${sel.composition}` : '')
  );
}

/** Path relative to the project root, for messages. */
export function rel(project: Project, p: string): string {
  const r = path.relative(project.root, p);
  return r === '' ? '.' : r.startsWith('..') ? p : r;
}
