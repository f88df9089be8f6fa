/**
 * Opening a recorded deployment: its document, the flavour's saved state, the identity,
 * and the flavour's deployer, as the {@link RunningContext} every running-deployment call needs.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { readDeploymentDocument } from '../deployment.js';
import { NxcError } from '../errors.js';
import { loadFlavours } from '../plugins.js';
import type { Project } from '../project.js';
import { type Reporter, silentReporter } from '../reporter.js';
import { ensureProjectIdentity, readIdentity } from '../ssh-identity.js';
import { statePath } from '../state.js';
import type { FlavourDeployer, RunningContext } from '../transposition.js';
import { type Selector, type StateEntry, parseSelector, selectDeployment } from './select.js';

/** Options shared by every command acting on a running deployment. */
export interface RunningOptions {
  /** `-C composition` or `-C composition::flavour`. */
  composition?: string;
  /** `-f flavour`. */
  flavour?: string;
  /** `-i` private key; default: the project identity. */
  identityFile?: string;
  reporter?: Reporter;
  signal?: AbortSignal;
}

/** A deployment opened for stop/status/exec/connect/logs. */
export interface OpenDeployment {
  entry: StateEntry;
  ctx: RunningContext;
  deployer: FlavourDeployer;
}

/** Reads the flavour state saved at start (undefined when none). */
export async function readState(project: Project, composition: string, flavour: string): Promise<unknown> {
  const file = statePath(project, composition, flavour);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new NxcError('NXC_DEPLOYMENT', `${file}: flavour state is not valid JSON`, {
      hint: 'stop the nodes by hand if any run, then remove the deploy/ files (`nxc clean`)',
    });
  }
}

/** Finds the deployment the options select and prepares its context and deployer. */
export async function openDeployment(project: Project, opts: RunningOptions = {}): Promise<OpenDeployment> {
  const sel: Selector = parseSelector(opts);
  const entry = await selectDeployment(project, sel);
  return openEntry(project, entry, opts);
}

/** Like {@link openDeployment} for a known `composition::flavour`. */
export async function openEntry(
  project: Project,
  entry: StateEntry,
  opts: RunningOptions = {},
): Promise<OpenDeployment> {
  const registry = await loadFlavours(project);
  const flavour = registry.get(entry.flavour);
  const deployment = await readDeploymentDocument(project, entry.composition, entry.flavour);
  const state = await readState(project, entry.composition, entry.flavour);
  const identity = opts.identityFile
    ? await readIdentity(opts.identityFile)
    : await ensureProjectIdentity(project, opts.reporter ? { reporter: opts.reporter } : {});
  const deployer = await flavour.deployer();
  const ctx: RunningContext = {
    project,
    composition: entry.composition,
    flavour: entry.flavour,
    reporter: opts.reporter ?? silentReporter,
    signal: opts.signal ?? new AbortController().signal,
    deployment,
    state,
    identity,
    async saveState(next: unknown) {
      // written aside then renamed: a reader never sees half a state
      const file = statePath(project, entry.composition, entry.flavour);
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(next, null, 2)}\n`);
      await rename(tmp, file);
    },
  };
  return { entry, ctx, deployer };
}
