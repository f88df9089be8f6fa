/**
 * `experiment()`: one whole experiment in one call, the way Grid'5000 users script them:
 * nodes (an OAR job reused by name or reserved, or a local flavour), build, start, steps
 * (commands, copies from the nodes, code using the test-script driver's machine API), stop.
 * The results folder always receives the deployment record and a manifest of what ran,
 * whatever failed.
 */
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type BuildOptions,
  type DeploymentDocument,
  type NodeExecResult,
  NxcError,
  type Project,
  type Reporter,
  type StartOptions,
  build,
  exec,
  isNxcError,
  loadProject,
  openDeployment,
  resolveConnectHosts,
  silentReporter,
  start,
  stop,
} from '@nxc/core';
import type { Transport } from '@nxc/core/flavour';
import type { AttachedDeployment } from '@nxc/driver';
import { type ExperimentOarJob, type OarJobSpec, acquireJob } from './oar-job.js';

/** What every step has: a name (its folder in the results) and whether it runs after a failure. */
export interface StepBase {
  /**
   * The step's name, unique in the experiment: letters, digits and `_ . + -`. Its outputs go to
   * `<results>/<name>/`.
   */
  name: string;
  /** Run this step even when an earlier step failed (e.g. to collect logs). Default false. */
  always?: boolean;
}

/** A shell command (or argv) on some nodes, through the flavour's transport (`nxc exec`). */
export interface CommandStep extends StepBase {
  /** The command: a shell string (`sh -c`) or an argv. */
  run: string | string[];
  /** Targets as `nxc exec` takes them: `all` (default), `@role`, hostnames. */
  on?: string | string[];
  /** Run as this user (default root). */
  user?: string;
  /** Per-node timeout in ms. */
  timeoutMs?: number;
  /** A node exiting non-zero does not fail the experiment (its exit code is still recorded). */
  allowFailure?: boolean;
}

/** Copies a file or folder from some nodes into `<results>/<name>/<host>/`. */
export interface CollectStep extends StepBase {
  /** Absolute path on the nodes. */
  collect: string;
  /** Targets: `all` (default), `@role`, hostnames. */
  from?: string | string[];
}

/** Your own code, with the running deployment at hand (see {@link StepContext}). */
export interface CallStep extends StepBase {
  call: (ctx: StepContext) => Promise<void> | void;
}

/** One step of an experiment: a command, a copy from the nodes, or a function. */
export type ExperimentStep = CommandStep | CollectStep | CallStep;

/** What a {@link CallStep} receives. */
export interface StepContext {
  project: Project;
  composition: string;
  flavour: string;
  /** The deployment document (nodes, addresses, parameters). */
  deployment: DeploymentDocument;
  /** The nodes through the test-script driver's machine API (`machines.node('server').succeed(...)`). */
  machines: AttachedDeployment;
  /** The flavour's transport to the nodes (exec, copyTo, copyFrom). */
  transport: Transport;
  /** This step's folder in the results (created on demand by you). */
  dir: string;
  /** Aborted when the experiment is interrupted. */
  signal: AbortSignal;
  reporter: Reporter;
}

/** Options of {@link experiment}. */
export interface ExperimentOptions {
  /** The nxc project: its folder, or a project loaded with `loadProject`. */
  project: string | Project;
  /** The flavour (`docker`, `vm-ramdisk`, `g5k-ramdisk`...). */
  flavour: string;
  /** The composition (default: the project's only one). */
  composition?: string;
  /**
   * Where the results go: a folder that does not exist yet or is empty (refused otherwise, so
   * that a run never mixes its files with another's). Relative to the current directory.
   */
  results: string;
  /** A name for the manifest (default: the results folder's name). */
  name?: string;
  /**
   * Build first (default true), with these Nix options. `false` uses the existing build
   * (`nxc build` run before).
   */
  build?: boolean | Pick<BuildOptions, 'nixFlags' | 'fast' | 'showTrace' | 'system' | 'nixBin'>;
  /**
   * How to start, as `nxc start` takes it: role distribution (`roleFlags: ['client=2']`,
   * `roleDistributionFile`), `parameters`, `kernelParams`, flavour `options`, `machineFile`
   * (`-m`, the machines of a Grid'5000 job), `timeoutMs`...
   */
  start?: Omit<StartOptions, 'composition' | 'flavour' | 'reporter' | 'signal' | 'retryFailed' | 'wait'>;
  /**
   * Grid'5000: run in the OAR job of this name, reused when it runs, else reserved; its
   * machines become the machine file. Not with `start.machineFile`.
   */
  oar?: OarJobSpec;
  /** What to do once the deployment is up, in order. A failed step skips the rest (but `always` ones). */
  steps: ExperimentStep[];
  /** Keep the deployment running (and the OAR job) at the end. Default false: stop, release. */
  keep?: boolean;
  reporter?: Reporter;
  /** Abort (Ctrl-C): the current phase stops, the deployment is stopped, the manifest written. */
  signal?: AbortSignal;
}

/** How one step went. */
export interface StepOutcome {
  name: string;
  kind: 'command' | 'collect' | 'call';
  status: 'ok' | 'failed' | 'skipped';
  startedAt?: string;
  durationMs?: number;
  /** Per node, for commands: exit code, output files, why it could not run. */
  nodes?: Array<{ host: string; role: string; exitCode: number; error?: string }>;
  /** Files it put in the results folder, relative to it. */
  files?: string[];
  /** Why it failed. */
  error?: string;
}

/** The results manifest, `<results>/experiment.json`. */
export interface ExperimentManifest {
  manifestVersion: 1;
  name: string;
  project: string;
  composition?: string;
  flavour: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  outcome: 'succeeded' | 'failed' | 'interrupted';
  /** The failure (the first one), when the outcome is not `succeeded`. */
  error?: { code?: string; message: string; hint?: string };
  /** Phase durations in ms (absent: not reached). */
  phases: { oar?: number; build?: number; start?: number; steps?: number; stop?: number };
  /** The OAR job, on Grid'5000. */
  oarJob?: ExperimentOarJob;
  /** The machine file given to the flavour, relative to the results folder (OAR job). */
  machineFile?: string;
  /** Nodes as the start left them. */
  nodes?: Array<{ host: string; role: string; address: string; machine?: string; state: string }>;
  /** The deployment record's copy (`record.json`) and its id; absent when no start succeeded. */
  record?: { file: string; id: string; source: string };
  steps: StepOutcome[];
  /** Whether the deployment was stopped at the end (false with `keep`, or when it never started). */
  stopped: boolean;
  /** Every file of the results folder but this manifest, relative to it, sorted. */
  files: string[];
}

/** What {@link experiment} resolves with (the manifest, and where the results are). */
export interface ExperimentResult {
  /** Absolute path of the results folder. */
  dir: string;
  manifest: ExperimentManifest;
}

const MANIFEST = 'experiment.json';
const RESERVED = new Set([MANIFEST, 'record.json', 'machines.txt']);
const SAFE_STEP = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}$/;

const firstLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';

const asList = (v: string | string[] | undefined): string[] =>
  v === undefined ? ['all'] : Array.isArray(v) ? v : [v];

function kindOf(step: ExperimentStep): StepOutcome['kind'] {
  if ('run' in step) return 'command';
  if ('collect' in step) return 'collect';
  return 'call';
}

/**
 * Checks what can be checked before anything is done: step names, step kinds, the results
 * folder. Every mistake is an `NXC_USAGE` error (exit 2).
 */
export async function checkExperiment(options: ExperimentOptions): Promise<string> {
  const usage = (message: string, hint: string) => new NxcError('NXC_USAGE', message, { hint, exitCode: 2 });
  if (!options.flavour) throw usage('experiment: no flavour given', 'set flavour (e.g. docker)');
  if (options.oar && options.start?.machineFile) {
    throw usage('experiment: both oar and start.machineFile name the machines', 'give one of them');
  }
  if (!Array.isArray(options.steps)) {
    throw usage('experiment: steps is not a list', 'give steps: [{ name, run | collect | call }, ...]');
  }
  const seen = new Set<string>();
  for (const [i, step] of options.steps.entries()) {
    const label = `experiment step ${i + 1}`;
    if (!step || typeof step.name !== 'string' || !SAFE_STEP.test(step.name) || RESERVED.has(step.name)) {
      throw usage(
        `${label}: name ${JSON.stringify(step?.name)} cannot be a folder of the results`,
        'use letters, digits and _ . + - (not starting with . or -), and not experiment.json, record.json or machines.txt',
      );
    }
    if (seen.has(step.name))
      throw usage(`${label}: the name "${step.name}" is used twice`, 'name each step once');
    seen.add(step.name);
    const kinds = ['run', 'collect', 'call'].filter((k) => k in step);
    if (kinds.length !== 1) {
      throw usage(
        `${label} (${step.name}): ${kinds.length === 0 ? 'says nothing to do' : `has both ${kinds.join(' and ')}`}`,
        'give exactly one of run (a command), collect (a path on the nodes) or call (a function)',
      );
    }
    if ('collect' in step && !path.posix.isAbsolute(step.collect)) {
      throw usage(
        `${label} (${step.name}): collect path "${step.collect}" is not absolute`,
        'give the absolute path on the nodes',
      );
    }
    if ('call' in step && typeof step.call !== 'function') {
      throw usage(`${label} (${step.name}): call is not a function`, 'give call: async (ctx) => { ... }');
    }
  }
  const dir = path.resolve(options.results);
  const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    if (error.code === 'ENOTDIR')
      throw usage(`results folder ${options.results} is a file`, 'choose a folder');
    throw error;
  });
  if (entries.length > 0) {
    throw usage(
      `results folder ${options.results} is not empty`,
      'give a new folder for each run (e.g. with the date in its name), or remove the old results',
    );
  }
  return dir;
}

/** Every file under `dir`, relative, sorted, but the manifest. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? (e as { path?: string }).path ?? dir, e.name)))
    .filter((f) => f !== MANIFEST)
    .sort();
}

/**
 * Runs an experiment: the OAR job (reused or reserved, Grid'5000), build, start, every step,
 * then stop (unless `keep`) and release the job it reserved. The results folder gets
 * `record.json` (the deployment record, see `nxc records`), `experiment.json` (steps, exit
 * codes, durations, files) and each step's outputs under `<step name>/`, even when a step,
 * the start or the build fails, and when interrupted.
 *
 * Resolves when every step succeeded. Otherwise rejects, after stopping and writing the
 * manifest, with the first failure: a failed step is `NXC_TEST_FAILED` (exit 1) naming the
 * step and the nodes; an interruption `NXC_INTERRUPTED`; build and start errors as they are.
 *
 * @example
 * ```ts
 * await experiment({
 *   project: '.', flavour: 'docker', results: 'results/run-1',
 *   start: { roleFlags: ['client=2'] },
 *   steps: [
 *     { name: 'fetch', on: '@client', run: 'wget -qO- http://server/ > /tmp/page' },
 *     { name: 'pages', from: '@client', collect: '/tmp/page' },
 *   ],
 * });
 * ```
 */
export async function experiment(options: ExperimentOptions): Promise<ExperimentResult> {
  const dir = await checkExperiment(options);
  // Some waits below rest on sockets and unref'd timers only (e.g. while Grid'5000 machines
  // reboot into the new system); a script has nothing else keeping Node's event loop alive,
  // and Node would end it silently (exit 13) in the middle. Held until the experiment returns.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    return await runExperiment(options, dir);
  } finally {
    clearInterval(keepAlive);
  }
}

async function runExperiment(options: ExperimentOptions, dir: string): Promise<ExperimentResult> {
  const reporter = options.reporter ?? silentReporter;
  const signal = options.signal ?? new AbortController().signal;
  const project =
    typeof options.project === 'string' ? await loadProject(path.resolve(options.project)) : options.project;
  const began = Date.now();
  await mkdir(dir, { recursive: true });
  const manifest: ExperimentManifest = {
    manifestVersion: 1,
    name: options.name ?? path.basename(dir),
    project: project.root,
    ...(options.composition ? { composition: options.composition } : {}),
    flavour: options.flavour,
    startedAt: new Date(began).toISOString(),
    endedAt: '',
    durationMs: 0,
    outcome: 'succeeded',
    phases: {},
    steps: options.steps.map((s) => ({ name: s.name, kind: kindOf(s), status: 'skipped' })),
    stopped: false,
    files: [],
  };
  const step = (message: string) => reporter.emit({ type: 'step', message });
  let failure: unknown;
  let started: { composition: string; flavour: string } | undefined;
  let oarJob: { oar: import('@nxc/g5k').Oar; release: boolean } | undefined;
  const timed = async <T>(phase: keyof ExperimentManifest['phases'], work: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await work();
    } finally {
      manifest.phases[phase] = Date.now() - t0;
    }
  };
  const interrupted = () => new NxcError('NXC_INTERRUPTED', `experiment ${manifest.name} interrupted`);
  try {
    let machineFile = options.start?.machineFile;
    if (options.oar) {
      const spec = options.oar;
      const { Oar } = await import('@nxc/g5k');
      const oar = new Oar(spec.runner ? { runner: spec.runner } : {});
      const { job, reused } = await timed('oar', () => acquireJob(oar, spec, { signal, onStep: step }));
      const release = !options.keep && (spec.release ?? !reused);
      oarJob = { oar, release };
      manifest.oarJob = { id: job.id, name: spec.name, reused, hosts: job.hosts, released: false };
      machineFile = path.join(dir, 'machines.txt');
      await writeFile(machineFile, `${job.hosts.join('\n')}\n`);
      manifest.machineFile = 'machines.txt';
    }
    if (signal.aborted) throw interrupted();
    if (options.build !== false) {
      step(`building ${options.composition ?? 'the composition'} for ${options.flavour}`);
      const extra = typeof options.build === 'object' ? options.build : {};
      await timed('build', () =>
        build(project, {
          ...extra,
          flavour: options.flavour,
          ...(options.composition ? { composition: options.composition } : {}),
          reporter,
          signal,
        }),
      );
    }
    if (signal.aborted) throw interrupted();
    const summary = await timed('start', () =>
      withOarJobId(manifest.oarJob?.id, () =>
        start(project, {
          ...options.start,
          ...(machineFile ? { machineFile } : {}),
          flavour: options.flavour,
          ...(options.composition ? { composition: options.composition } : {}),
          reporter,
          signal,
        }),
      ),
    );
    started = { composition: summary.composition, flavour: summary.flavour };
    manifest.composition = summary.composition;
    manifest.nodes = summary.nodes.map((n) => ({
      host: n.host,
      role: n.role,
      address: n.address,
      ...(n.machine ? { machine: n.machine } : {}),
      state: n.state,
    }));
    if (summary.recordFile && summary.record) {
      await copyFile(summary.recordFile, path.join(dir, 'record.json'));
      manifest.record = { file: 'record.json', id: summary.record.id, source: summary.recordFile };
    } else {
      reporter.emit({ type: 'warn', message: 'the start wrote no deployment record: the results have none' });
    }
    await timed('steps', () => runSteps(project, options, started!, dir, manifest, reporter, signal));
    if (signal.aborted) throw interrupted();
  } catch (error) {
    failure =
      signal.aborted && !(isNxcError(error) && error.code === 'NXC_INTERRUPTED') ? interrupted() : error;
  }
  // the end: whatever happened, stop, release, and write down what ran
  if (started && !options.keep) {
    step(`stopping ${started.composition}::${started.flavour}`);
    try {
      // a fresh signal: an interrupted experiment must still stop its nodes
      await timed('stop', () =>
        stop(project, { composition: started!.composition, flavour: started!.flavour, reporter }),
      );
      manifest.stopped = true;
    } catch (error) {
      reporter.emit({ type: 'warn', message: `stopping the deployment failed: ${firstLine(error)}` });
      failure ??= error;
    }
  }
  if (oarJob?.release && manifest.oarJob) {
    try {
      await oarJob.oar.del(manifest.oarJob.id);
      manifest.oarJob.released = true;
      step(`released OAR job ${manifest.oarJob.id}`);
    } catch (error) {
      reporter.emit({
        type: 'warn',
        message: `releasing OAR job ${manifest.oarJob.id} failed: ${firstLine(error)}`,
      });
      failure ??= error;
    }
  }
  if (failure !== undefined) {
    manifest.outcome = isNxcError(failure) && failure.code === 'NXC_INTERRUPTED' ? 'interrupted' : 'failed';
    manifest.error = {
      ...(isNxcError(failure) ? { code: failure.code } : {}),
      message: firstLine(failure),
      ...(isNxcError(failure) && failure.hint ? { hint: failure.hint } : {}),
    };
  }
  const ended = Date.now();
  manifest.endedAt = new Date(ended).toISOString();
  manifest.durationMs = ended - began;
  manifest.files = await listFiles(dir);
  await writeFile(path.join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  if (failure !== undefined) {
    reporter.emit({
      type: 'warn',
      message: `experiment ${manifest.outcome}: ${manifest.error?.message}; results in ${dir}`,
    });
    throw failure;
  }
  reporter.emit({ type: 'done', message: `experiment ${manifest.name} done; results in ${dir}` });
  return { dir, manifest };
}

/**
 * Runs `work` with `$OAR_JOB_ID` naming the experiment's job, as inside `oarsub -I`: the
 * Grid'5000 flavours report it for the deployment record. A job id already set is kept.
 */
async function withOarJobId<T>(id: number | undefined, work: () => Promise<T>): Promise<T> {
  if (id === undefined || process.env.OAR_JOB_ID) return work();
  process.env.OAR_JOB_ID = String(id);
  try {
    return await work();
  } finally {
    Reflect.deleteProperty(process.env, 'OAR_JOB_ID');
  }
}

/** Runs the steps in order; a failure skips the rest but the `always` ones, then is thrown. */
async function runSteps(
  project: Project,
  options: ExperimentOptions,
  deployment: { composition: string; flavour: string },
  dir: string,
  manifest: ExperimentManifest,
  reporter: Reporter,
  signal: AbortSignal,
): Promise<void> {
  const selector = { composition: deployment.composition, flavour: deployment.flavour };
  const { ctx, deployer } = await openDeployment(project, { ...selector, signal, reporter });
  const transport = await deployer.transport(ctx);
  const { attach, nodeControlOf } = await import('@nxc/driver');
  const control = await nodeControlOf(deployer, ctx);
  const machines = await attach(
    { deployment: ctx.deployment, transport, ...(control ? { control } : {}) },
    { signal, outDir: dir },
  );
  let failure: unknown;
  try {
    for (const [i, spec] of options.steps.entries()) {
      const outcome = manifest.steps[i] as StepOutcome;
      if ((failure !== undefined && !spec.always) || signal.aborted) continue;
      reporter.emit({ type: 'step', message: `step ${spec.name}` });
      const t0 = Date.now();
      outcome.startedAt = new Date(t0).toISOString();
      const stepDir = path.join(dir, spec.name);
      try {
        if ('run' in spec) {
          const results = await exec(project, asList(spec.on), spec.run, {
            ...selector,
            ...(spec.user ? { user: spec.user } : {}),
            ...(spec.timeoutMs ? { timeoutMs: spec.timeoutMs } : {}),
            signal,
          });
          await saveOutputs(stepDir, results);
          outcome.nodes = results.map((r) => ({
            host: r.host,
            role: r.role,
            exitCode: r.exitCode,
            ...(r.error ? { error: r.error } : {}),
          }));
          const bad = results.filter((r) => r.exitCode !== 0 || r.error);
          if (bad.length > 0 && !spec.allowFailure) {
            throw new NxcError(
              'NXC_TEST_FAILED',
              `experiment step "${spec.name}" failed on ${bad.map((r) => `${r.host} (${r.error ? firstLine(r.error) : `exit ${r.exitCode}`})`).join(', ')}`,
              { hint: `see ${path.join(dir, spec.name)}/<host>.stderr and ${path.join(dir, MANIFEST)}` },
            );
          }
        } else if ('collect' in spec) {
          const { nodes } = await resolveConnectHosts(project, asList(spec.from), selector);
          for (const node of nodes) {
            const target = path.join(stepDir, node.host, path.posix.basename(spec.collect));
            await mkdir(path.dirname(target), { recursive: true });
            await transport.copyFrom(node.host, spec.collect, target);
          }
        } else {
          await mkdir(stepDir, { recursive: true });
          await spec.call({
            project,
            composition: deployment.composition,
            flavour: deployment.flavour,
            deployment: ctx.deployment,
            machines,
            transport,
            dir: stepDir,
            signal,
            reporter,
          });
        }
        outcome.status = 'ok';
      } catch (error) {
        outcome.status = 'failed';
        outcome.error = firstLine(error);
        failure ??=
          isNxcError(error) && error.code === 'NXC_TEST_FAILED'
            ? error
            : new NxcError('NXC_TEST_FAILED', `experiment step "${spec.name}" failed: ${firstLine(error)}`, {
                ...(isNxcError(error) && error.hint ? { hint: error.hint } : {}),
                cause: error,
              });
      } finally {
        outcome.durationMs = Date.now() - t0;
        const files = await listFiles(stepDir).catch(() => []);
        if (files.length > 0) outcome.files = files.map((f) => path.join(spec.name, f));
        else await rm(stepDir, { recursive: true, force: true });
      }
    }
  } finally {
    await machines.close();
  }
  if (failure !== undefined) throw failure;
}

/** `<step>/<host>.stdout` and `.stderr` of a command step (empty outputs are not written). */
async function saveOutputs(stepDir: string, results: NodeExecResult[]): Promise<void> {
  await mkdir(stepDir, { recursive: true });
  for (const r of results) {
    if (r.stdout) await writeFile(path.join(stepDir, `${r.host}.stdout`), r.stdout);
    if (r.stderr || r.error)
      await writeFile(path.join(stepDir, `${r.host}.stderr`), r.stderr || `${r.error}\n`);
  }
}
