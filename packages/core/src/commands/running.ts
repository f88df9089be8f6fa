/**
 * Opening a recorded deployment: its document, the flavour's saved state, the identity,
 * and the flavour's deployer, as the {@link RunningContext} every running-deployment call needs.
 */
import { readFile } from 'node:fs/promises';
import { writeJsonAtomic } from '../atomic-file.js';
import { readDeploymentDocument } from '../deployment.js';
import { NxcError, isNxcError } from '../errors.js';
import { configuredOptions } from '../flavour-options.js';
import { type LoadedFlavour, loadFlavour } from '../plugins.js';
import type { Project } from '../project.js';
import { runningRecordPath } from '../records.js';
import { type Reporter, silentReporter } from '../reporter.js';
import { ensureProjectIdentity, readIdentity } from '../ssh-identity.js';
import { deploymentKey, statePath } from '../state.js';
import type { FlavourDeployer, RunningContext, Schema } from '../transposition.js';
import { displayPath, formatZodError } from '../validation.js';
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
  /** Invalid config options fall back to the defaults, with a warning (stop). */
  lenientOptions?: boolean;
}

/** A deployment opened for stop/status/exec/connect/logs. */
export interface OpenDeployment {
  entry: StateEntry;
  ctx: RunningContext;
  deployer: FlavourDeployer;
}

/**
 * Reads the flavour state saved at start (undefined when none), checked against the
 * deployer's `stateSchema` when given.
 *
 * @throws NxcError `NXC_DEPLOYMENT`: not JSON, or not what the flavour saves (one line naming
 *   the file and the first wrong field; `nxc stop` still removes the nodes without it).
 */
export async function readState(
  project: Project,
  composition: string,
  flavour: string,
  schema?: Schema<unknown>,
): Promise<unknown> {
  const file = statePath(project, composition, flavour);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const corrupt = (what: string) =>
    new NxcError('NXC_DEPLOYMENT', `${displayPath(file)}: ${what}`, {
      hint: `\`nxc stop -C ${deploymentKey(composition, flavour)}\` removes its nodes without it`,
    });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw corrupt('flavour state is not valid JSON');
  }
  if (!schema) return value;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw corrupt(`not a state of flavour ${flavour} (${formatZodError(parsed.error)})`);
  return parsed.data;
}

/**
 * Checks a state against the deployer's schema and writes it atomically (a reader never
 * sees half a state). A state that does not match is a bug of the flavour: a plain Error.
 */
export async function writeState(
  project: Project,
  composition: string,
  flavour: string,
  deployer: Pick<FlavourDeployer, 'stateSchema'>,
  state: unknown,
): Promise<void> {
  const parsed = deployer.stateSchema.safeParse(state);
  if (!parsed.success) {
    throw new Error(
      `flavour ${flavour} saved a state its stateSchema refuses: ${formatZodError(parsed.error)}`,
    );
  }
  await writeJsonAtomic(statePath(project, composition, flavour), state);
}

/** The deploy side of a flavour, checked to have what core relies on (a plugin bug otherwise). */
export async function loadDeployer(flavour: LoadedFlavour): Promise<FlavourDeployer> {
  const deployer = await flavour.deployer();
  if (typeof deployer?.stateSchema?.safeParse !== 'function') {
    throw new NxcError(
      'NXC_PLUGIN_INVALID',
      `plugin "${flavour.plugin.name}": the deployer of flavour ${flavour.name} has no stateSchema (flavour API 2)`,
      { hint: 'upgrade the plugin, or report it to its authors' },
    );
  }
  return deployer;
}

/**
 * The options a running deployment's calls get: the config's. With `lenient` (stop), an
 * invalid config gives the schema's defaults with a warning instead of an error: a config
 * typo must not keep nodes running.
 */
export function runningOptions(
  project: Project,
  flavour: LoadedFlavour,
  reporter: Reporter,
  lenient = false,
): unknown {
  try {
    return configuredOptions(project, flavour);
  } catch (error) {
    if (!lenient || !isNxcError(error)) throw error;
    reporter.emit({ type: 'warn', message: `${error.message}; using the defaults to stop` });
    const defaults = flavour.options?.safeParse({});
    return defaults?.success ? defaults.data : {};
  }
}

/**
 * The plugin (as the project names it) that started the running deployment, from its record;
 * undefined when there is no readable record (then every plugin is loaded to find the flavour).
 */
async function startingPlugin(
  project: Project,
  composition: string,
  flavour: string,
): Promise<string | undefined> {
  try {
    const record = JSON.parse(await readFile(runningRecordPath(project, composition, flavour), 'utf8')) as {
      versions?: { plugin?: { spec?: unknown } };
    };
    const spec = record.versions?.plugin?.spec;
    return typeof spec === 'string' ? spec : undefined;
  } catch {
    return undefined;
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
  const flavour = await loadFlavour(
    project,
    entry.flavour,
    await startingPlugin(project, entry.composition, entry.flavour),
  );
  const reporter = opts.reporter ?? silentReporter;
  const options = runningOptions(project, flavour, reporter, opts.lenientOptions);
  const deployer = await loadDeployer(flavour);
  const deployment = await readDeploymentDocument(project, entry.composition, entry.flavour);
  const state = await readState(project, entry.composition, entry.flavour, deployer.stateSchema);
  const identity = opts.identityFile
    ? await readIdentity(opts.identityFile)
    : await ensureProjectIdentity(project, opts.reporter ? { reporter: opts.reporter } : {});
  const ctx: RunningContext = {
    project,
    composition: entry.composition,
    flavour: entry.flavour,
    reporter,
    signal: opts.signal ?? new AbortController().signal,
    options,
    deployment,
    state,
    identity,
    saveState: (next: unknown) => writeState(project, entry.composition, entry.flavour, deployer, next),
  };
  return { entry, ctx, deployer };
}
