/**
 * Runs a NixOS-test-style Python test script against a running deployment: starts the
 * machine's python3 on the shim (python/nxc_driver) and serves its calls with the
 * machine API over the flavour's transport. Backs `nxc driver` and `nxc start -t`.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type DeploymentDocument,
  type NetRequest,
  NxcError,
  nodeIdentities,
  parseDelay,
  parseLoss,
  parseRate,
} from '@nxc/core';
import { type Transport, pathExists } from '@nxc/core/flavour';
import { type SubtestResult, writeJunit } from './junit.js';
import {
  DEFAULT_TIMEOUT_S,
  Machine,
  type MachineSession,
  type NetworkHandle,
  type NodeConsole,
  type NodeControl,
} from './machine.js';
import { RpcServer } from './rpc.js';

/** Folder holding the `nxc_driver` Python package (shipped with @nxc/driver). */
export const PYTHON_DIR = fileURLToPath(new URL('../python', import.meta.url));

/** The shim's entry point, run by path (never `-m`, see runTestScript). */
const SHIM_MAIN = path.join(PYTHON_DIR, 'nxc_driver', '__main__.py');

/** Options of {@link runTestScript}. */
export interface RunTestScriptOptions {
  /** How to reach the nodes (from the flavour's deployer). */
  transport: Transport;
  /** The running deployment (deploy/<composition>::<flavour>.json). */
  deployment: DeploymentDocument;
  /** Script source. When absent, read from `scriptPath`. */
  script?: string;
  /** Path of the script file (the compose info's `test_script`, or a user's file); also names it in messages. */
  scriptPath?: string;
  /** Open a Python REPL with the same globals (after running the script, if any). */
  interactive?: boolean;
  /** Write a JUnit XML report there (one test case per subtest). */
  junit?: string;
  /** Default timeout of commands and waits, in seconds (default 900). */
  timeoutS?: number;
  /** What the flavour can do beyond commands (shutdown, crash). */
  control?: NodeControl;
  /** Network conditions (`block()`, `partition()`), when the flavour can. */
  network?: NetworkHandle;
  /** Console, keyboard and port forwarding, when the flavour offers them (the caller closes it). */
  console?: NodeConsole;
  /** Where the script's output and the command log go (default: process.stdout / stderr). */
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Input of the interactive REPL (default process.stdin). */
  stdin?: NodeJS.ReadableStream;
  /** Abort (Ctrl-C): stops the script and the running command. */
  signal?: AbortSignal;
  /** Python interpreter (default `$NXC_PYTHON`, else `python3`). */
  python?: string;
  /** Where `copy_from_vm` puts files (default `$out`, else the current directory). */
  outDir?: string;
}

/** Result of {@link runTestScript}. */
export interface TestScriptResult {
  /** True when the script ran to the end. */
  ok: boolean;
  /** Exit code for the CLI: 0, 1 (test failed), 2 (script does not compile), 130 (interrupted). */
  exitCode: number;
  /** Subtests in the order they ended (nested ones named `outer › inner`). */
  subtests: SubtestResult[];
  /**
   * Why it failed: an NxcError whose message is one line (`<script> line 12: server:
   * command \`false\` failed (exit code 1)`) and whose `details` hold the source line and
   * the command's output. The CLI prints it; runTestScript does not.
   */
  error?: NxcError;
  /** Seconds. */
  durationS: number;
}

interface Failure {
  message: string;
  code: string;
  details?: string;
  line?: number | null;
  sourceLine?: string;
  traceback?: string;
}

/** Python global name of a host: dashes (and anything else not allowed) become underscores. */
export function pythonName(host: string): string {
  const name = host.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

async function loadScript(opts: RunTestScriptOptions): Promise<string | undefined> {
  if (opts.script !== undefined) return opts.script;
  if (opts.scriptPath === undefined) {
    if (opts.interactive) return undefined;
    throw new NxcError('NXC_USAGE', 'no test script to run', {
      hint: 'give a script file, or use -t to run the composition testScript',
    });
  }
  try {
    const text = await readFile(opts.scriptPath, 'utf8');
    if (!text.trim()) {
      throw new NxcError('NXC_USAGE', `test script ${opts.scriptPath} is empty`, {
        hint: 'add a testScript to the composition (or give another file)',
      });
    }
    return text;
  } catch (error) {
    if (error instanceof NxcError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new NxcError(
      'NXC_IO',
      `cannot read test script ${opts.scriptPath}: ${code ?? (error as Error).message}`,
      {
        hint:
          code === 'ENOENT'
            ? 'check the path; after a rebuild run `nxc build` again so the script exists'
            : undefined,
        cause: error,
      },
    );
  }
}

function shortLabel(label: string): string {
  // /nix/store/<hash>-name is long and says little; keep its name.
  const m = /^\/nix\/store\/[a-z0-9]{32}-(.+)$/.exec(label);
  return m ? `testScript (${m[1]})` : label;
}

/**
 * Runs a test script. Throws an NxcError only for problems before the run (script
 * unreadable, python3 missing, bad options); a failing script resolves with `ok: false`
 * and `error`.
 */
export async function runTestScript(opts: RunTestScriptOptions): Promise<TestScriptResult> {
  const started = Date.now();
  const timestamp = new Date();
  const script = await loadScript(opts);
  const label = opts.scriptPath ?? 'testScript';
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  if (opts.timeoutS !== undefined && !(opts.timeoutS > 0)) {
    throw new NxcError('NXC_USAGE', `timeout must be a positive number of seconds, got ${opts.timeoutS}`);
  }
  if (opts.junit) {
    const dir = path.dirname(path.resolve(opts.junit));
    if (!(await pathExists(dir))) {
      throw new NxcError(
        'NXC_IO',
        `cannot write the JUnit report ${opts.junit}: folder ${dir} does not exist`,
        {
          hint: 'create the folder first or give another --junit path',
        },
      );
    }
  }

  const interactive = Boolean(opts.interactive);
  const abort = new AbortController();
  // Commands in flight are cut by `commands`; in the REPL, Ctrl-C interrupts the running
  // command only (Python shows KeyboardInterrupt and the session goes on), else it ends the run.
  let commands = new AbortController();
  abort.signal.addEventListener('abort', () => commands.abort(), { once: true });
  const cancelCommands = () => {
    commands.abort();
    commands = new AbortController();
    session.signal = commands.signal;
  };
  const onOuterAbort = () => (interactive ? cancelCommands() : abort.abort());
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const session: MachineSession = {
    transport: opts.transport,
    flavour: opts.deployment.flavour,
    control: opts.control,
    network: opts.network,
    console: opts.console,
    hosts: nodeIdentities(opts.deployment).map((n) => n.host),
    defaultTimeoutS: opts.timeoutS ?? DEFAULT_TIMEOUT_S,
    log: (line) => stdout.write(`${line}\n`),
    outDir: opts.outDir,
    signal: commands.signal,
  };
  const machines = nodeIdentities(opts.deployment).map((n) => new Machine(n, session));
  const byHost = new Map(machines.map((m) => [m.host, m]));

  const subtests: SubtestResult[] = [];
  const stack: { name: string }[] = [];
  let failure: Failure | undefined;

  const node = (host: unknown): Machine => {
    const m = byHost.get(String(host));
    if (!m) throw new NxcError('NXC_NODE_UNKNOWN', `no node "${String(host)}" in the deployment`);
    return m;
  };

  const handlers = {
    async request(method: string, p: Record<string, unknown>): Promise<unknown> {
      switch (method) {
        case 'hello':
          return {
            nodes: machines.map((m) => ({
              host: m.host,
              role: m.role,
              address: m.address,
              index: m.index,
              globalIndex: m.globalIndex,
              uuid: m.uuid ?? null,
              parameters: m.parameters,
              disks: m.disks,
              name: pythonName(m.host),
            })),
            composition: opts.deployment.composition,
            flavour: opts.deployment.flavour,
            script: script ?? null,
            scriptLabel: label,
            interactive: Boolean(opts.interactive),
            defaultTimeout: session.defaultTimeoutS,
          };
        case 'partition': {
          if (!session.network) throw new NxcError('NXC_USAGE', 'partition() needs a project deployment');
          await session.network.partition((p.a as unknown[]).map(String), (p.b as unknown[]).map(String));
          return null;
        }
        case 'shape': {
          if (!session.network?.shape)
            throw new NxcError('NXC_USAGE', `${String(p.kind)}() needs a project deployment`);
          await session.network.shape(
            (p.a as unknown[]).map(String),
            (p.b as unknown[]).map(String),
            shapeRequest(p),
          );
          return null;
        }
        case 'heal':
          if (!session.network) throw new NxcError('NXC_USAGE', 'heal() needs a project deployment');
          await session.network.heal(((p.targets as unknown[] | undefined) ?? []).map(String));
          return null;
        case 'start_all':
          await Promise.all(machines.map((m) => m.start()));
          return null;
        case 'set_timeout': {
          const s = Number(p.seconds);
          if (!(s > 0))
            throw new NxcError(
              'NXC_USAGE',
              `set_default_timeout: expected a positive number of seconds, got ${String(p.seconds)}`,
            );
          session.defaultTimeoutS = s;
          return null;
        }
        case 'node':
          return callNode(node(p.host), String(p.op), (p.args ?? {}) as Record<string, unknown>);
        default:
          throw new Error(`unknown driver call ${method}`);
      }
    },
    notification(method: string, p: Record<string, unknown>): void {
      switch (method) {
        case 'output':
          (p.stream === 'stderr' ? stderr : stdout).write(String(p.data ?? ''));
          break;
        case 'log':
          stdout.write(`${p.host ? `${String(p.host)}: ` : ''}${String(p.message ?? '')}\n`);
          break;
        case 'subtest_start':
          stack.push({ name: String(p.name) });
          stdout.write(`subtest: ${stack.map((s) => s.name).join(' › ')}\n`);
          break;
        case 'subtest_end': {
          const name = stack.map((s) => s.name).join(' › ') || String(p.name);
          stack.pop();
          const result: SubtestResult = { name, ok: Boolean(p.ok), durationS: Number(p.duration ?? 0) };
          if (!result.ok) {
            const text = String(p.message ?? 'failed').trim();
            result.message = text.split('\n')[0] + (text.includes('\n') ? ' …' : '');
            if (text.includes('\n')) p.details = [text, p.details].filter(Boolean).join('\n');
            result.code = String(p.code ?? 'NXC_TEST_FAILED');
            if (p.details) result.details = String(p.details);
            if (typeof p.line === 'number') result.line = p.line;
          }
          subtests.push(result);
          stdout.write(
            result.ok
              ? `subtest ok: ${name} (${result.durationS.toFixed(1)} s)\n`
              : `subtest FAILED: ${name}: ${result.message}\n`,
          );
          break;
        }
        case 'failure':
          failure = p as unknown as Failure;
          break;
        case 'cancel':
          // Ctrl-C in the shim while it waited for a command
          cancelCommands();
          break;
        default:
          break;
      }
    },
  };

  const python = opts.python ?? process.env.NXC_PYTHON ?? 'python3';
  const inheritIn = interactive && (opts.stdin === undefined || opts.stdin === process.stdin);
  const inheritOut = interactive && stdout === process.stdout && stderr === process.stderr;
  // Isolated mode (-I): `-m` would put the working directory (the user's project, where a
  // json.py would run) first on sys.path, and PYTHONPATH could too (an empty entry); the shim
  // is named by its path and adds only its own folder. -B -X utf8 replace the environment
  // variables -I ignores. Extra modules come from the interpreter chosen (NXC_PYTHON, a venv).
  const child = spawn(python, ['-I', '-B', '-u', '-X', 'utf8', SHIM_MAIN], {
    env: {
      ...process.env,
      NXC_DRIVER_FDS: '3,4',
    },
    stdio: [
      inheritIn ? 'inherit' : interactive ? 'pipe' : 'ignore',
      inheritOut ? 'inherit' : 'pipe',
      inheritOut ? 'inherit' : 'pipe',
      'pipe',
      'pipe',
    ],
  });
  let stderrTail = '';
  child.stdout?.on('data', (c: Buffer) => stdout.write(c));
  child.stderr?.on('data', (c: Buffer) => {
    stderrTail = (stderrTail + c.toString('utf8')).slice(-2000);
    stderr.write(c);
  });
  if (interactive && !inheritIn && child.stdin) (opts.stdin ?? process.stdin).pipe(child.stdin);

  const toShim = child.stdio[4] as NodeJS.WritableStream;
  const fromShim = child.stdio[3] as NodeJS.ReadableStream;
  toShim.on('error', () => {}); // the shim may exit while an answer is in flight
  const rpc = new RpcServer(
    handlers,
    (line) => {
      toShim.write(line);
    },
    (error) => stderr.write(`nxc driver: ${error.message}\n`),
    new Set(['cancel']),
  );
  fromShim.on('data', (c: Buffer) => rpc.push(c));

  const killOnAbort = () => child.kill('SIGTERM');
  abort.signal.addEventListener('abort', killOnAbort, { once: true });

  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>(
    (resolve) => {
      child.once('error', (err) => resolve({ code: null, signal: null, spawnError: err }));
      child.once('close', (code, sig) => resolve({ code, signal: sig }));
    },
  );
  abort.signal.removeEventListener('abort', killOnAbort);
  opts.signal?.removeEventListener('abort', onOuterAbort);
  // Commands still running for a shim that died are cut short.
  abort.abort();
  await rpc.idle().catch(() => {});

  if (exit.spawnError) {
    const notFound = (exit.spawnError as NodeJS.ErrnoException).code === 'ENOENT';
    throw new NxcError(
      'NXC_USAGE',
      notFound
        ? `${python} not found: the test-script driver runs the script with Python 3 on this machine`
        : `cannot start ${python}: ${exit.spawnError.message}`,
      {
        hint: 'install Python 3 (e.g. `apt-get install python3`) or set NXC_PYTHON to its path',
        exitCode: 3,
      },
    );
  }

  const durationS = (Date.now() - started) / 1000;
  let exitCode = exit.code ?? 130;
  let error: NxcError | undefined;
  if ((opts.signal?.aborted && !interactive) || exitCode === 130) {
    exitCode = 130;
    error = new NxcError('NXC_INTERRUPTED', 'test script interrupted');
  } else if (failure) {
    const where = failure.line ? `${shortLabel(label)} line ${failure.line}` : shortLabel(label);
    const source = failure.sourceLine ? `  ${failure.line} | ${failure.sourceLine}` : '';
    const code =
      failure.code === 'NXC_USAGE'
        ? 'NXC_USAGE'
        : failure.code === 'NXC_TIMEOUT'
          ? 'NXC_TIMEOUT'
          : 'NXC_TEST_FAILED';
    // The message must stay one line; a multi-line exception text goes to details.
    const text = String(failure.message ?? 'failed').trim();
    const [first = 'failed', ...more] = text.split('\n');
    const details = [source, more.length ? text : '', failure.details ?? ''].filter(Boolean).join('\n');
    error = new NxcError(code, `${where}: ${first}${more.length ? ' …' : ''}`, {
      details: details || undefined,
      exitCode: code === 'NXC_USAGE' ? 2 : 1,
      hint: code === 'NXC_USAGE' ? 'fix the test script' : undefined,
    });
    if (exitCode === 0) exitCode = 1;
  } else if (exitCode !== 0) {
    error = new NxcError(
      'NXC_TEST_FAILED',
      `the test-script driver (${python}) exited with code ${exitCode}`,
      {
        details: stderrTail.trim() || undefined,
      },
    );
  }

  if (opts.junit && exitCode !== 130) {
    const cases = [...subtests];
    const outside = failure && !subtests.some((s) => !s.ok);
    if (cases.length === 0 || outside || (error && !failure)) {
      cases.push({
        name: 'test script',
        ok: !error,
        durationS,
        message: error?.message,
        code: error?.code,
        details: error?.details,
      });
    }
    await writeJunit(opts.junit, {
      suite: `${opts.deployment.composition}::${opts.deployment.flavour}`,
      subtests: cases,
      timestamp,
      durationS,
    });
  }

  return { ok: exitCode === 0, exitCode, subtests, error, durationS };
}

async function callNode(m: Machine, op: string, a: Record<string, unknown>): Promise<unknown> {
  const timeout = a.timeout === null || a.timeout === undefined ? undefined : Number(a.timeout);
  const user = (a.user as string | null | undefined) ?? undefined;
  switch (op) {
    case 'execute':
      return m.execute(String(a.command), { timeout });
    case 'succeed':
      return m.succeed((a.commands as unknown[]).map(String), { timeout });
    case 'fail':
      return m.fail((a.commands as unknown[]).map(String), { timeout });
    case 'wait_until_succeeds':
      return m.waitUntilSucceeds(String(a.command), { timeout });
    case 'wait_until_fails':
      return m.waitUntilFails(String(a.command), { timeout });
    case 'wait_for_unit':
      return m.waitForUnit(String(a.unit), { timeout, user });
    case 'wait_for_open_port':
      return m.waitForOpenPort(Number(a.port), { timeout, addr: String(a.addr ?? 'localhost') });
    case 'wait_for_closed_port':
      return m.waitForClosedPort(Number(a.port), { timeout, addr: String(a.addr ?? 'localhost') });
    case 'wait_for_file':
      return m.waitForFile(String(a.path), { timeout });
    case 'systemctl':
      return m.systemctl(String(a.query), { user });
    case 'get_unit_info':
      return m.getUnitInfo(String(a.unit), { user });
    case 'get_unit_property':
      return m.getUnitProperty(String(a.unit), String(a.property), { user });
    case 'get_console_log':
      return m.getConsoleLog();
    case 'send_console':
      return m.sendConsole(String(a.chars));
    case 'console_interact':
      // the shim runs it itself in the REPL (it reads the terminal); a script cannot
      throw new NxcError(
        'NXC_USAGE',
        `${m.host}: console_interact() reads this terminal: it works in the interactive driver only`,
        {
          hint: 'run `nxc driver -I` and call it at the prompt; in a script, use send_console() and wait_for_console_text()',
        },
      );
    case 'require_unit_state':
      return m.requireUnitState(String(a.unit), String(a.state ?? 'active'));
    case 'copy_from_host':
      return m.copyFromHost(String(a.source), String(a.target));
    case 'copy_from_vm':
      return m.copyFromVm(String(a.source), String(a.targetDir ?? ''));
    case 'start':
      return m.start();
    case 'is_up':
      return m.isUp();
    case 'shutdown':
      return m.shutdown();
    case 'crash':
      return m.crash();
    case 'block':
      return m.block();
    case 'unblock':
      return m.unblock();
    case 'wait_for_shutdown':
      return m.waitForShutdown({ timeout });
    case 'sleep':
      return m.sleep(Number(a.seconds));
    case 'wait_for_console_text':
      return m.waitForConsoleText(String(a.regex), { timeout });
    case 'send_key':
      return m.sendKey(String(a.key), { delay: a.delay as number | null | undefined });
    case 'send_chars':
      return m.sendChars(String(a.chars), { delay: a.delay as number | null | undefined });
    case 'get_tty_text':
      return m.getTtyText(a.tty as number | string);
    case 'wait_until_tty_matches':
      return m.waitUntilTtyMatches(a.tty as number | string, String(a.regex), { timeout });
    case 'wait_for_open_unix_socket':
      return m.waitForOpenUnixSocket(String(a.path), { timeout, isDatagram: Boolean(a.isDatagram) });
    case 'forward_port':
      return m.forwardPort(Number(a.hostPort), Number(a.guestPort));
    default:
      throw new Error(`unknown node operation ${op}`);
  }
}

/** A `delay()` / `loss()` / `rate()` call of a test script as core's request (values as typed: "50ms", 5, "10mbit"). */
function shapeRequest(p: Record<string, unknown>): NetRequest {
  const text = (v: unknown, unit: string) => (typeof v === 'number' ? `${v}${unit}` : String(v));
  switch (p.kind) {
    case 'delay':
      return {
        kind: 'delay',
        delayMs: parseDelay(text(p.value, 'ms')),
        ...(p.jitter !== undefined && p.jitter !== null
          ? { jitterMs: parseDelay(text(p.jitter, 'ms')) }
          : {}),
      };
    case 'loss':
      return { kind: 'loss', percent: parseLoss(text(p.value, '%')) };
    case 'rate':
      return { kind: 'rate', kbitPerSecond: parseRate(text(p.value, 'kbit')) };
    default:
      throw new NxcError('NXC_USAGE', `unknown network condition ${String(p.kind)}`);
  }
}
