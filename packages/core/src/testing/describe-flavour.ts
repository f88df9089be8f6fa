/**
 * The flavour conformance suites: one call registers vitest suites that drive a flavour on
 * its real platform through the library verbs the CLI uses (build, start, status, exec,
 * connect, logs, stop), and check what the Transposition contract promises.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../build/index.js';
import { connect, exec, logs, openDeployment, start, status, stop } from '../commands/index.js';
import type { OpenDeployment } from '../commands/running.js';
import type { StartOptions, StartSummary } from '../commands/start.js';
import { type NxcError, isNxcError } from '../errors.js';
import { loadFlavours } from '../plugins.js';
import { type Project, loadProject } from '../project.js';
import { type ProgressEvent, silentReporter } from '../reporter.js';
import { deploymentPath, statePath } from '../state.js';
import type { FlavourDeployer, NodeControl } from '../transposition.js';

/** A power-control member of {@link NodeControl}. */
export type NodeControlMember = keyof NodeControl;

/** The project a conformance suite deploys, as {@link ConformanceOptions.project} creates it. */
export interface ConformanceProject {
  /** Root of an nxc project whose config lists the flavour's plugin (what `loadProject` reads). */
  root: string;
  /** Removes what `project()` created (called once, after the suites). */
  cleanup?(): Promise<void> | void;
}

/** Where {@link ConformanceOptions.leftovers} looks. */
export interface LeftoversProbeContext {
  project: Project;
  composition: string;
  flavour: string;
}

/** A bad option the flavour must refuse before creating anything. */
export interface BadOption {
  /** Flavour options given to `start` (merged over the config's `flavourOptions`). */
  options: Record<string, unknown>;
  /** What the one-line error must say. */
  message: RegExp;
}

/** The optional capabilities a flavour claims; the suites check it offers exactly these. */
export interface ConformanceCapabilities {
  /** `FlavourDeployer.logs`: `nxc logs` works; absent, core must refuse `nxc logs`. */
  logs: boolean;
  /** The members of `FlavourDeployer.nodeControl` offered, or `false` when it has none. */
  nodeControl: NodeControlMember[] | false;
  /**
   * `FlavourDeployer.retryFailed`: `nxc start --retry-failed` redeploys only failed nodes
   * (default false; absent, core must refuse `--retry-failed` before doing anything).
   */
  retryFailed?: boolean;
}

/** The deployment the read-only checks share, for {@link ConformanceOptions.sharedDeploymentChecks}. */
export interface SharedDeployment {
  project: Project;
  /** What `start` returned. */
  started: StartSummary;
}

/** What {@link describeFlavour} needs to know about a flavour and its platform. */
export interface ConformanceOptions {
  /** The flavour under test, as given to `-f`. */
  flavour: string;
  /**
   * Creates the project the suites deploy (once, before them). Its config must list the
   * flavour's plugin; its build (see {@link build}) gives the compose info.
   */
  project(): Promise<ConformanceProject> | ConformanceProject;
  /**
   * How the project gets its compose info: `false` when `project()` already put it under
   * `build/`; a function to run instead; default: core's `build(project, { flavour })`
   * (real Nix, like `nxc build -f <flavour>`).
   */
  build?: false | ((project: Project) => Promise<unknown>);
  /** Composition the project builds (default `composition`), where leftovers are looked for. */
  composition?: string;
  /** Environment set while the suites run (restored after), e.g. Nix flags or platform knobs. */
  env?: Record<string, string>;
  /** `-r` flags of the deployment the read-only checks share (1 to 3 nodes keep it quick). */
  roles?: string[];
  /** What every `start` of the suites passes: `-k`, flavour options, readiness timeout. */
  start?: Pick<StartOptions, 'kernelParams' | 'options' | 'timeoutMs'>;
  /** Capabilities the flavour claims (checked both ways). */
  capabilities: ConformanceCapabilities;
  /**
   * What of the project is left on the platform (containers, processes, run folders...), one
   * entry per object: must be empty after stop and after a failed or aborted start. Default:
   * the flavour's `removeLeftovers` (what it had to remove). A probe of your own is stronger:
   * it does not trust the flavour's own view of its objects.
   */
  leftovers?(ctx: LeftoversProbeContext): Promise<unknown[]> | unknown[];
  /**
   * Options the flavour's schema must refuse at start: one clear line, exit code 2, before
   * anything is created. The suites also check that core refuses an unknown option.
   */
  badOptions: BadOption[];
  /**
   * When to interrupt a start (Ctrl-C) in the abort check: on the first progress event this
   * returns true for (default: the first `node` event), or `afterMs` after the start began.
   */
  abortStart?: { onEvent?(event: ProgressEvent): boolean; afterMs?: number };
  /** The line every node's log shows once ready (default `NXC_READY <host>`, nxc's boot scripts). */
  readyLogLine?(host: string): RegExp;
  /**
   * Registers the caller's own checks (vitest `it`) on the shared deployment, run after the
   * read-only checks and before node control and stop: flavour- or composition-specific
   * behaviour without a deployment of its own. `deployment()` throws when it did not start.
   */
  sharedDeploymentChecks?(deployment: () => SharedDeployment): void;
  /** Time allowed to a test that starts or stops a deployment (default 10 min). */
  deployTimeoutMs?: number;
}

/** A name no flavour will ever declare, for the unknown-option check. */
const UNKNOWN_OPTION = 'nxcConformanceNoSuchOption';

async function rejection(promise: Promise<unknown>, what: string): Promise<NxcError> {
  try {
    await promise;
  } catch (error) {
    if (isNxcError(error)) return error;
    throw error;
  }
  throw new Error(`${what} succeeded but should have failed`);
}

/**
 * Registers the conformance suites of one flavour with vitest (call it at the top level of a
 * test file): capabilities; bad options refused with nothing left; ONE shared deployment for
 * start → status → exec (exit codes, argv, stdin, env, timeout, unknown node) → copies →
 * shell with a TTY → logs → node control (the last node is left powered off) → second start
 * refused → stop (nothing left, idempotent); then a start interrupted mid-way that must clean up. A capability the flavour
 * lacks is not skipped: the suites check it is not offered (and that core refuses `nxc logs`
 * without it).
 */
export function describeFlavour(options: ConformanceOptions): void {
  const flavour = options.flavour;
  const deployTimeout = options.deployTimeoutMs ?? 600_000;
  const startOptions: StartOptions = { flavour, ...(options.start ?? {}) };
  if (options.roles) startOptions.roleFlags = options.roles;
  const readyLine = options.readyLogLine ?? ((host: string) => new RegExp(`NXC_READY ${host}\\b`));

  let setup: ConformanceProject | undefined;
  let project: Project;
  let deployer: FlavourDeployer;
  let composition = options.composition ?? 'composition';
  const savedEnv = new Map<string, string | undefined>();

  const leftovers = async (): Promise<unknown[]> => {
    const ctx = { project, composition, flavour };
    if (options.leftovers) return await options.leftovers(ctx);
    if (!deployer.removeLeftovers)
      throw new Error(`flavour ${flavour} has no removeLeftovers: give describeFlavour a leftovers probe`);
    const removed = await deployer.removeLeftovers({
      project,
      flavour,
      composition,
      reporter: silentReporter,
      signal: new AbortController().signal,
    });
    return removed.flatMap((r) => r.removed);
  };
  const noDocuments = () => {
    expect(existsSync(deploymentPath(project, composition, flavour)), 'deployment document left').toBe(false);
    expect(existsSync(statePath(project, composition, flavour)), 'flavour state left').toBe(false);
  };

  describe(`flavour ${flavour}: conformance`, () => {
    beforeAll(async () => {
      for (const [k, v] of Object.entries(options.env ?? {})) {
        savedEnv.set(k, process.env[k]);
        process.env[k] = v;
      }
      setup = await options.project();
      project = await loadProject(setup.root);
      deployer = await (await loadFlavours(project)).get(flavour).deployer();
      if (options.build !== false) {
        if (options.build) await options.build(project);
        else await build(project, { flavour });
      }
    }, deployTimeout);

    afterAll(async () => {
      try {
        if (project) await stop(project, { flavour }).catch(() => undefined);
        await setup?.cleanup?.();
      } finally {
        for (const [k, v] of savedEnv) {
          if (v === undefined) Reflect.deleteProperty(process.env, k);
          else process.env[k] = v;
        }
      }
    }, deployTimeout);

    it('offers exactly the capabilities it claims', async () => {
      expect(typeof deployer.logs === 'function', 'logs').toBe(options.capabilities.logs);
      expect(typeof deployer.nodeControl === 'function', 'nodeControl').toBe(
        options.capabilities.nodeControl !== false,
      );
      expect(typeof deployer.retryFailed === 'function', 'retryFailed').toBe(
        options.capabilities.retryFailed ?? false,
      );
      expect(typeof deployer.stateSchema?.safeParse, 'stateSchema').toBe('function');
    });

    it(
      'refuses bad options and lacking capabilities with one line, exit 2, before creating anything',
      async () => {
        const cases = [
          ...options.badOptions,
          { options: { [UNKNOWN_OPTION]: true }, message: new RegExp(`unknown option "${UNKNOWN_OPTION}"`) },
        ];
        expect(cases.length, 'give describeFlavour at least one bad option').toBeGreaterThan(0);
        for (const bad of cases) {
          const error = await rejection(
            start(project, { ...startOptions, options: { ...(startOptions.options ?? {}), ...bad.options } }),
            `start with ${JSON.stringify(bad.options)}`,
          );
          expect(error.message).toMatch(bad.message);
          expect(error.message.split('\n'), 'one line').toHaveLength(1);
          expect(error.exitCode, 'a usage error').toBe(2);
          noDocuments();
          expect(await leftovers()).toEqual([]);
        }
        if (!options.capabilities.retryFailed) {
          const error = await rejection(
            start(project, { ...startOptions, retryFailed: true }),
            'start --retry-failed',
          );
          expect(error.message).toBe(`flavour ${flavour} cannot --retry-failed`);
          expect(error.exitCode).toBe(2);
          noDocuments();
          expect(await leftovers()).toEqual([]);
        }
      },
      deployTimeout,
    );

    describe('one deployment, shared by the read-only checks', () => {
      let started: StartSummary | undefined;
      let hosts: string[] = [];
      const deployed = (): StartSummary => {
        if (!started) throw new Error('the shared deployment did not start (see the first failure)');
        return started;
      };
      const opened = (): Promise<OpenDeployment> => openDeployment(project, { flavour });
      const withTransport = async <T>(
        fn: (t: Awaited<ReturnType<FlavourDeployer['transport']>>) => Promise<T>,
      ) => {
        const { ctx, deployer: d } = await opened();
        const transport = await d.transport(ctx);
        try {
          return await fn(transport);
        } finally {
          await transport.close();
        }
      };

      it(
        'starts: every planned node is running and recorded in the deployment document',
        async () => {
          const summary = await start(project, startOptions);
          started = summary;
          hosts = summary.nodes.map((n) => n.host);
          expect(hosts.length).toBeGreaterThan(0);
          expect(new Set(hosts).size, 'hostnames are unique').toBe(hosts.length);
          for (const n of summary.nodes) expect(n.state, n.host).toBe('running');
          const documented = Object.values(summary.deployment.deployment).map((n) => n.host);
          expect([...documented].sort()).toEqual([...hosts].sort());
          expect(existsSync(summary.deploymentFile)).toBe(true);
          composition = summary.composition;
        },
        deployTimeout,
      );

      it('status lists every node running, with its role and address', async () => {
        const { nodes } = deployed();
        const deployments = await status(project);
        const mine = deployments.find((d) => d.flavour === flavour);
        expect(mine, `a ${flavour} deployment in status`).toBeDefined();
        expect(mine!.nodes.map((n) => [n.host, n.role, n.state]).sort()).toEqual(
          nodes.map((n) => [n.host, n.role, 'running']).sort(),
        );
        for (const n of mine!.nodes) expect(n.address, n.host).not.toBe('');
      });

      it('exec runs on every node: output, stderr and exit code per node; argv kept as given', async () => {
        deployed();
        const results = await exec(project, ['all'], 'echo out; echo err >&2; exit 3', { flavour });
        expect(results.map((r) => r.host).sort()).toEqual([...hosts].sort());
        for (const r of results) {
          expect(r, r.host).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
          expect(r.error, r.host).toBeUndefined();
        }
        const [argv] = await exec(project, [hosts[0]!], ['printf', '%s|', 'a b', "c'd", '$HOME'], {
          flavour,
        });
        expect(argv).toMatchObject({ exitCode: 0, stdout: "a b|c'd|$HOME|" });
      });

      it('exec feeds stdin, sets the environment, enforces timeouts, names unknown nodes', async () => {
        deployed();
        const host = hosts[0]!;
        await withTransport(async (t) => {
          expect(await t.exec(host, 'cat', { stdin: 'line 1\nline 2' })).toMatchObject({
            exitCode: 0,
            stdout: 'line 1\nline 2',
          });
          const value = "two words, a 'quote' and $dollar";
          expect(
            await t.exec(host, 'printf %s "$NXC_CONFORMANCE"', { env: { NXC_CONFORMANCE: value } }),
          ).toMatchObject({ exitCode: 0, stdout: value });
          const began = Date.now();
          const timedOut = await rejection(
            t.exec(host, 'sleep 30', { timeoutMs: 1500 }),
            'sleep 30 in 1.5 s',
          );
          expect(timedOut.code).toBe('NXC_TIMEOUT');
          expect(Date.now() - began).toBeLessThan(15_000);
          expect((await t.exec(host, 'echo still here')).stdout).toBe('still here\n');
          const unknown = await rejection(t.exec('nxc-no-such-node', 'true'), 'exec on an unknown node');
          expect(unknown.code).toBe('NXC_NODE_UNKNOWN');
        });
      });

      it('copies files and directories to a node and back; a missing remote path is NXC_IO', async () => {
        deployed();
        const host = hosts.at(-1)!;
        const local = mkdtempSync(join(tmpdir(), 'nxc-conformance-copy-'));
        try {
          await withTransport(async (t) => {
            const made = await t.exec(host, 'mktemp -d');
            expect(made.exitCode, made.stderr).toBe(0);
            const remote = made.stdout.trim();
            try {
              writeFileSync(join(local, 'file.txt'), 'copied in\n');
              await t.copyTo(host, join(local, 'file.txt'), `${remote}/file.txt`);
              expect((await t.exec(host, `cat ${remote}/file.txt`)).stdout).toBe('copied in\n');
              await mkdir(join(local, 'tree/sub'), { recursive: true });
              writeFileSync(join(local, 'tree/sub/a'), 'A');
              writeFileSync(join(local, 'tree/b'), 'B');
              await t.copyTo(host, join(local, 'tree'), `${remote}/tree`);
              expect((await t.exec(host, `cat ${remote}/tree/sub/a ${remote}/tree/b`)).stdout).toBe('AB');
              await t.exec(host, `echo made on the node > ${remote}/tree/sub/c`);
              await t.copyFrom(host, `${remote}/file.txt`, join(local, 'back.txt'));
              expect(readFileSync(join(local, 'back.txt'), 'utf8')).toBe('copied in\n');
              await t.copyFrom(host, `${remote}/tree`, join(local, 'back'));
              expect(readdirSync(join(local, 'back/sub')).sort()).toEqual(['a', 'c']);
              expect(readFileSync(join(local, 'back/sub/c'), 'utf8')).toBe('made on the node\n');
              const missing = await rejection(
                t.copyFrom(host, `${remote}/nonexistent`, join(local, 'x')),
                'copyFrom of a missing path',
              );
              expect(missing.code).toBe('NXC_IO');
            } finally {
              await t.exec(host, `rm -rf ${remote}`);
            }
          });
        } finally {
          rmSync(local, { recursive: true, force: true });
        }
      });

      it('opens a shell with a TTY of the asked size, follows resizes, returns its exit code', async () => {
        deployed();
        const host = hosts[0]!;
        const stdin = new PassThrough();
        const stdout = new PassThrough();
        let screen = '';
        stdout.on('data', (d: Buffer) => {
          screen += d.toString();
        });
        const until = async (text: string) => {
          for (let i = 0; i < 200 && !screen.includes(text); i++) await new Promise((r) => setTimeout(r, 50));
          expect(screen, `the shell shows ${JSON.stringify(text)}`).toContain(text);
        };
        const session = await connect(project, host, { flavour, stdin, stdout, columns: 100, rows: 30 });
        stdin.write('tty; stty size; echo "conformance-$((6 * 7))"\n');
        await until('conformance-42');
        await until('30 100');
        expect(screen).toMatch(/\/dev\/(pts\/\d+|tty\w*)/);
        session.resize(120, 40);
        await new Promise((r) => setTimeout(r, 300));
        stdin.write('stty size; exit 3\n');
        expect(await session.exited).toBe(3);
        expect(screen).toContain('40 120');
      });

      it('logs: every node has its lines; follow ends when aborted (or core refuses logs)', async () => {
        deployed();
        if (!options.capabilities.logs) {
          const refused = await rejection(
            (async () => {
              for await (const _ of logs(project, [], { flavour })) break;
            })(),
            'nxc logs on a flavour without logs',
          );
          expect(refused.code).toBe('NXC_USAGE');
          return;
        }
        for (const host of hosts) {
          const lines: string[] = [];
          for await (const line of logs(project, [host], { flavour })) {
            expect(line.host).toBe(host);
            lines.push(line.line);
          }
          expect(lines.join('\n'), `log of ${host}`).toMatch(readyLine(host));
        }
        const ac = new AbortController();
        const timer = setTimeout(() => ac.abort(), 1500);
        const began = Date.now();
        try {
          for await (const _ of logs(project, [hosts[0]!], { flavour, follow: true, signal: ac.signal })) {
            /* drained until aborted */
          }
        } catch (error) {
          if (!(ac.signal.aborted && (isNxcError(error) || (error as Error).name === 'AbortError')))
            throw error;
        } finally {
          clearTimeout(timer);
        }
        expect(Date.now() - began, 'follow ended after the abort').toBeLessThan(15_000);
      });

      options.sharedDeploymentChecks?.(() => ({ project, started: deployed() }));

      it(
        'controls single nodes when it offers node control (crash, start again, shut down)',
        async () => {
          deployed();
          const offered = options.capabilities.nodeControl;
          if (offered === false) {
            expect(deployer.nodeControl).toBeUndefined();
            return;
          }
          const { ctx, deployer: d } = await opened();
          const control = await d.nodeControl!(ctx);
          const members: NodeControlMember[] = ['shutdown', 'crash', 'start'];
          expect(members.filter((m) => typeof control[m] === 'function').sort()).toEqual([...offered].sort());
          const host = hosts.at(-1)!;
          const stateOf = async () => {
            const [mine] = (await status(project, { flavour })).filter((s) => s.flavour === flavour);
            return mine?.nodes.find((n) => n.host === host)?.state;
          };
          const answers = async () => {
            const [r] = await exec(project, [host], 'echo up', { flavour });
            expect(r, `${host} answers`).toMatchObject({ exitCode: 0, stdout: 'up\n' });
          };
          const down = ['exited', 'stopped'];
          if (control.crash) {
            await control.crash(host);
            expect(down).toContain(await stateOf());
            if (control.start) {
              await control.start(host);
              expect(await stateOf()).toBe('running');
              await answers();
            }
            const unknown = await rejection(control.crash('nxc-no-such-node'), 'crash of an unknown node');
            expect(unknown.code).toBe('NXC_NODE_UNKNOWN');
          }
          // one restart is enough to prove `start`: the node powered off last stays down (unless
          // it is the only one), and the checks after this one run with a node down
          if (control.shutdown) {
            await control.shutdown(host);
            expect(down).toContain(await stateOf());
            if (control.start && (!control.crash || hosts.length === 1)) {
              await control.start(host);
              expect(await stateOf()).toBe('running');
              await answers();
            }
          }
        },
        deployTimeout,
      );

      it('refuses a second start while the deployment runs, leaving it running', async () => {
        deployed();
        const error = await rejection(start(project, startOptions), 'a second start');
        expect(error.code).toBe('NXC_DEPLOYMENT');
        expect(error.exitCode).toBe(2);
        expect(error.message).toMatch(/already running/);
        const [r] = await exec(project, [hosts[0]!], 'echo still up', { flavour });
        expect(r).toMatchObject({ exitCode: 0, stdout: 'still up\n' });
      });

      it(
        'stops every node leaving nothing behind; stopping again is harmless',
        async () => {
          deployed();
          const before = await opened();
          const summary = await stop(project, { flavour });
          expect([...summary.hosts].sort()).toEqual([...hosts].sort());
          expect(summary.recovered, 'stop removed everything itself').toBeUndefined();
          expect((await status(project)).filter((d) => d.flavour === flavour)).toEqual([]);
          noDocuments();
          expect(await leftovers()).toEqual([]);
          // the flavour's own stop, on the context of the stopped deployment, is idempotent
          await before.deployer.stop(before.ctx);
          const again = await rejection(stop(project, { flavour }), 'stop with nothing running');
          expect(again.code).toBe('NXC_DEPLOYMENT');
          expect(await leftovers()).toEqual([]);
        },
        deployTimeout,
      );
    });

    it(
      'cleans up a start interrupted mid-way (Ctrl-C)',
      async () => {
        const ac = new AbortController();
        const onEvent = options.abortStart?.onEvent ?? ((e: ProgressEvent) => e.type === 'node');
        let fired = false;
        const abort = () => {
          fired = true;
          ac.abort();
        };
        const timer =
          options.abortStart?.afterMs !== undefined
            ? setTimeout(abort, options.abortStart.afterMs)
            : undefined;
        const reporter = {
          emit(e: ProgressEvent) {
            if (!fired && options.abortStart?.afterMs === undefined && onEvent(e)) abort();
          },
        };
        try {
          const error = await rejection(
            start(project, { ...startOptions, reporter, signal: ac.signal }),
            'an interrupted start',
          );
          expect(fired, 'the interruption happened during start').toBe(true);
          expect(error.code).toBe('NXC_INTERRUPTED');
          expect(error.exitCode).toBe(130);
        } finally {
          clearTimeout(timer);
        }
        noDocuments();
        expect(await leftovers()).toEqual([]);
      },
      deployTimeout,
    );
  });
}
