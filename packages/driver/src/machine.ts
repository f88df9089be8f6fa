/**
 * The machine API: one object per node, NixOS-test style (`succeed`, `fail`, waits...),
 * over a flavour's {@link Transport}. The Python shim calls these same methods over RPC,
 * so the semantics and the error messages are written once, here.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type ExecResult, type NetRequest, NxcError } from '@nxc/core';
import { type Transport, shellQuote } from '@nxc/core/flavour';
import { unreadConsoleText } from './console-text.js';
import { keyForChar, pythonRegex } from './keys.js';
import {
  HAS_SYSTEMD,
  NO_VCS_EXIT,
  fallbackUnitStateScript,
  portOpenScript,
  ttyTextScript,
  unitBaseName,
  unixSocketOpenScript,
} from './shell.js';

/** Default timeout of every command and wait, in seconds (as in the NixOS test driver). */
export const DEFAULT_TIMEOUT_S = 900;

/**
 * What a flavour can do to a node beyond running commands. Optional: without it
 * `shutdown()` and `crash()` fail with a clear error.
 */
export interface NodeControl {
  /** Power the node off cleanly and resolve once it is down. */
  shutdown?(host: string, signal?: AbortSignal): Promise<void>;
  /** Stop the node abruptly (kill the container / the VM process). */
  crash?(host: string, signal?: AbortSignal): Promise<void>;
  /** Start a stopped node again and resolve when it answers. */
  start?(host: string, signal?: AbortSignal): Promise<void>;
}

/**
 * Network conditions between the deployment's nodes (core's `nxc net`), for
 * `machine.block()`/`unblock()` and the top-level `partition()`/`heal()`. Targets are
 * hostnames, `@role` or `all`.
 */
export interface NetworkHandle {
  /** Cuts every node of `a` off from every node of `b` (both directions). */
  partition(a: string[], b: string[]): Promise<void>;
  /** Removes the conditions touching `targets` (every condition when empty). */
  heal(targets?: string[]): Promise<void>;
  /**
   * Puts a shaping condition (delay with optional jitter, loss, rate) in force between every
   * node of `a` and every node of `b`, both directions (see core's `netApply`).
   */
  shape?(a: string[], b: string[], request: NetRequest): Promise<void>;
  /**
   * Puts back on `hosts` the conditions recorded for them (core's `netRestore`): a node that
   * was restarted or rebooted lost what lived in its kernel. Idempotent.
   */
  restore?(hosts: string[]): Promise<void>;
}

/**
 * A node's console, keyboard and port forwarding, as the flavour offers them (its `logs`
 * and `monitor` capabilities; see {@link consoleOf}). Every member is optional: a missing
 * one makes the matching call fail in one line naming the call and the flavour.
 */
export interface NodeConsole {
  /** Every line the node's console printed so far (QEMU: serial console; docker: container output). */
  consoleLines?(host: string, signal?: AbortSignal): Promise<string[]>;
  /** Presses one key or chord (QEMU `sendkey` names: `a`, `shift-a`, `ret`, `ctrl-alt-delete`). */
  sendKey?(host: string, key: string): Promise<void>;
  /** Writes characters to the node's serial console input (QEMU: `ttyS0`). */
  sendConsole?(host: string, chars: string): Promise<void>;
  /** Makes TCP 127.0.0.1:hostPort on this machine reach the node's guestPort. */
  forwardPort?(host: string, hostPort: number, guestPort: number): Promise<void>;
  /** Releases what the console holds in this process (port relays). */
  close?(): Promise<void>;
}

/** Options shared by every node of a driver session. */
export interface MachineSession {
  transport: Transport;
  /** Flavour name, for messages. */
  flavour?: string;
  control?: NodeControl;
  /** Network conditions (absent: `block()`/`unblock()` fail with a clear error). */
  network?: NetworkHandle;
  /** Console, keyboard, port forwarding (absent: those calls fail with a clear error). */
  console?: NodeConsole;
  /** Every hostname of the deployment (whom `block()` cuts this node off from). */
  hosts?: string[];
  /** Current default timeout in seconds (mutable: `set_default_timeout`). */
  defaultTimeoutS: number;
  /** Receives one line per action (`server: must succeed: true`). */
  log?: (line: string) => void;
  /** Where `copyFromVm` puts files (NixOS uses `$out`); default: `$out`, else the current directory. */
  outDir?: string;
  signal?: AbortSignal;
}

/** A command that did not end as expected: carries what the failure message shows. */
export class CommandError extends NxcError {
  readonly host: string;
  readonly command: string;
  /** Exit code of the command on the node (undefined when it timed out). */
  readonly commandExitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;

  constructor(
    code: 'NXC_TEST_FAILED' | 'NXC_TIMEOUT',
    message: string,
    info: { host: string; command: string; exitCode?: number; stdout?: string; stderr?: string },
  ) {
    super(code, message, { details: formatOutput(info.stdout ?? '', info.stderr ?? '') });
    this.host = info.host;
    this.command = info.command;
    this.commandExitCode = info.exitCode;
    this.stdout = info.stdout ?? '';
    this.stderr = info.stderr ?? '';
  }
}

const OUTPUT_LIMIT = 4000;

function clip(text: string): string {
  return text.length > OUTPUT_LIMIT ? `…${text.slice(-OUTPUT_LIMIT)}` : text;
}

/** The output block shown under a failure: stdout and stderr, trimmed and clipped. */
export function formatOutput(stdout: string, stderr: string): string {
  const parts: string[] = [];
  if (stdout.trim()) parts.push(`stdout:\n${indent(clip(stdout.trimEnd()))}`);
  if (stderr.trim()) parts.push(`stderr:\n${indent(clip(stderr.trimEnd()))}`);
  return parts.length ? parts.join('\n') : '(no output)';
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

/** A command shown inside a one-line message. */
function oneLine(command: string): string {
  const flat = command.replace(/\s*\n\s*/g, '; ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(interrupted());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(interrupted());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function interrupted(): NxcError {
  return new NxcError('NXC_INTERRUPTED', 'interrupted');
}

const NO_KEYBOARD_HINT =
  'nodes of this flavour have no keyboard; use a QEMU flavour (vm-ramdisk, vm) for console tests';

/** `delay` of send_key/send_chars in milliseconds (seconds, default 0.01; null: none). */
function delayMs(delay: number | null | undefined): number {
  if (delay === null) return 0;
  const s = delay === undefined ? 0.01 : Number(delay);
  return s > 0 ? Math.round(s * 1000) : 0;
}

/** Options of a single command. */
export interface CommandOptions {
  /** Seconds; default: the session's default timeout (900 s). */
  timeout?: number;
}

/** Result of {@link Machine.execute}. */
export interface CommandResult extends ExecResult {}

/** What a {@link Machine} is built from: a node of the deployment (core's `NodeIdentity`). */
export interface MachineNode {
  host: string;
  role: string;
  address?: string;
  /** 1-based rank within the role; default 1. */
  index?: number;
  /** 0-based rank in the deployment; default 0. */
  globalIndex?: number;
  uuid?: string;
  /** Resolved parameters (global, then the role's, then the node's own). */
  parameters?: Record<string, unknown>;
  /** Block devices of the node (its role's `nxc.disks`). */
  disks?: MachineDisk[];
}

/** One block device of a node, as its role declares it (`nxc.disks`). */
export interface MachineDisk {
  /** Id, unique in the role. */
  id: string;
  /** Size as declared, e.g. `4G`. */
  size: string;
  /** Size in bytes. */
  bytes: number;
  /** Device path in the node: `/dev/disk/by-id/virtio-<id>`. */
  device: string;
}

/** One node of a running deployment. */
export class Machine {
  /** Deployment hostname. */
  readonly host: string;
  readonly role: string;
  /** Address the node has in the deployment document. */
  readonly address: string;
  /** 1-based rank of the node within its role (client2 -> 2), as in /etc/nxc/node.json. */
  readonly index: number;
  /** 0-based rank of the node in the deployment: `machines[globalIndex]` is this node. */
  readonly globalIndex: number;
  /** The node's UUID in this deployment; undefined for a document written without (original nxc). */
  readonly uuid: string | undefined;
  /** The `-p/-P` parameters as this node sees them (global < role < node). */
  readonly parameters: Readonly<Record<string, unknown>>;
  /** The node's block devices (its role's `nxc.disks`, in declaration order); `[]` when none. */
  readonly disks: readonly MachineDisk[];
  private readonly session: MachineSession;
  private systemd: boolean | undefined;
  /** The console lines {@link waitForConsoleText} consumed (see {@link unreadConsoleText}). */
  private consoleRead: string[] = [];

  constructor(node: MachineNode, session: MachineSession) {
    this.host = node.host;
    this.role = node.role;
    this.address = node.address ?? '';
    this.index = node.index ?? 1;
    this.globalIndex = node.globalIndex ?? 0;
    this.uuid = node.uuid;
    this.parameters = node.parameters ?? {};
    this.disks = (node.disks ?? []).map((d) => ({ ...d }));
    this.session = session;
  }

  /** Name of the node's Python global (dashes become underscores). */
  get pythonName(): string {
    return this.host.replace(/-/g, '_');
  }

  private timeoutS(timeout: number | undefined | null): number {
    if (timeout === undefined || timeout === null) return this.session.defaultTimeoutS;
    if (typeof timeout !== 'number' || !(timeout > 0)) {
      throw new NxcError(
        'NXC_USAGE',
        `${this.host}: timeout must be a positive number of seconds, got ${timeout}`,
      );
    }
    return timeout;
  }

  private log(line: string): void {
    this.session.log?.(`${this.host}: ${line}`);
  }

  /** Runs a command through the transport, bounded by `timeoutS`. */
  private async run(command: string, timeoutS: number): Promise<CommandResult> {
    const { transport, signal } = this.session;
    if (signal?.aborted) throw interrupted();
    const ms = Math.round(timeoutS * 1000);
    let timer: NodeJS.Timeout | undefined;
    const local = new AbortController();
    const onAbort = () => local.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const timedOut = new Promise<never>((_, reject) => {
      // Grace period: the transport is asked to stop at `ms`; we give up shortly after.
      timer = setTimeout(() => {
        local.abort();
        reject(
          new CommandError(
            'NXC_TIMEOUT',
            `${this.host}: command \`${oneLine(command)}\` timed out after ${timeoutS} s`,
            {
              host: this.host,
              command,
            },
          ),
        );
      }, ms + 2000);
    });
    try {
      return await Promise.race([
        transport.exec(this.host, command, { timeoutMs: ms, signal: local.signal }),
        timedOut,
      ]);
    } catch (error) {
      if (signal?.aborted) throw interrupted();
      throw error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Runs a shell command; never throws on a non-zero exit. */
  async execute(command: string, options: CommandOptions = {}): Promise<CommandResult> {
    return this.run(command, this.timeoutS(options.timeout));
  }

  /** Runs each command; throws a {@link CommandError} at the first non-zero exit; returns the joined stdout. */
  async succeed(commands: string | string[], options: CommandOptions = {}): Promise<string> {
    const timeout = this.timeoutS(options.timeout);
    let output = '';
    for (const command of Array.isArray(commands) ? commands : [commands]) {
      this.log(`must succeed: ${oneLine(command)}`);
      const r = await this.run(command, timeout);
      if (r.exitCode !== 0) {
        throw new CommandError(
          'NXC_TEST_FAILED',
          `${this.host}: command \`${oneLine(command)}\` failed (exit code ${r.exitCode})`,
          { host: this.host, command, ...r },
        );
      }
      output += r.stdout;
    }
    return output;
  }

  /** Runs each command; throws a {@link CommandError} when one exits 0; returns the joined stdout. */
  async fail(commands: string | string[], options: CommandOptions = {}): Promise<string> {
    const timeout = this.timeoutS(options.timeout);
    let output = '';
    for (const command of Array.isArray(commands) ? commands : [commands]) {
      this.log(`must fail: ${oneLine(command)}`);
      const r = await this.run(command, timeout);
      if (r.exitCode === 0) {
        throw new CommandError(
          'NXC_TEST_FAILED',
          `${this.host}: command \`${oneLine(command)}\` unexpectedly succeeded (exit code 0)`,
          { host: this.host, command, ...r },
        );
      }
      output += r.stdout;
    }
    return output;
  }

  /**
   * Calls `check` every second until it returns a value other than `undefined`, within
   * `timeoutS`; then throws NXC_TIMEOUT with `what` and the last attempt's result.
   */
  private async poll<T>(
    what: string,
    timeoutS: number,
    check: (
      remainingS: number,
    ) => Promise<{ done: T } | { last: Partial<CommandResult> & { command?: string } }>,
  ): Promise<T> {
    const deadline = Date.now() + timeoutS * 1000;
    let last: Partial<CommandResult> & { command?: string } = {};
    for (;;) {
      const remainingS = Math.max(0.5, (deadline - Date.now()) / 1000);
      let r: Awaited<ReturnType<typeof check>>;
      try {
        r = await check(remainingS);
      } catch (error) {
        // the last attempt outlived the wait (a slow node): the wait timed out, say so as such
        if (!(error instanceof NxcError && error.code === 'NXC_TIMEOUT') || Date.now() < deadline)
          throw error;
        last = { ...last, stderr: error.message };
        break;
      }
      if ('done' in r) return r.done;
      last = r.last;
      const left = deadline - Date.now();
      if (left <= 0) break;
      await sleep(Math.min(1000, left), this.session.signal);
    }
    const lastExit = last.exitCode === undefined ? '' : ` (last exit code ${last.exitCode})`;
    throw new CommandError(
      'NXC_TIMEOUT',
      `${this.host}: timed out after ${timeoutS} s waiting for ${what}${lastExit}`,
      {
        host: this.host,
        command: last.command ?? what,
        exitCode: last.exitCode,
        stdout: last.stdout,
        stderr: last.stderr,
      },
    );
  }

  /** Retries `command` every second until it exits 0; returns its stdout. */
  async waitUntilSucceeds(command: string, options: CommandOptions = {}): Promise<string> {
    const timeout = this.timeoutS(options.timeout);
    this.log(`waiting for success: ${oneLine(command)}`);
    return this.poll<string>(`\`${oneLine(command)}\` to succeed`, timeout, async (rem) => {
      const r = await this.run(command, rem);
      return r.exitCode === 0 ? { done: r.stdout } : { last: { ...r, command } };
    });
  }

  /** Retries `command` every second until it exits non-zero; returns its stdout. */
  async waitUntilFails(command: string, options: CommandOptions = {}): Promise<string> {
    const timeout = this.timeoutS(options.timeout);
    this.log(`waiting for failure: ${oneLine(command)}`);
    return this.poll<string>(`\`${oneLine(command)}\` to fail`, timeout, async (rem) => {
      const r = await this.run(command, rem);
      return r.exitCode !== 0 ? { done: r.stdout } : { last: { ...r, command } };
    });
  }

  /** Waits until the file exists on the node. */
  async waitForFile(file: string, options: CommandOptions = {}): Promise<void> {
    const timeout = this.timeoutS(options.timeout);
    this.log(`waiting for file ${file}`);
    const command = `test -e ${shellQuote(file)}`;
    await this.poll(`file ${file}`, timeout, async (rem) => {
      const r = await this.run(command, rem);
      return r.exitCode === 0 ? { done: undefined } : { last: { ...r, command } };
    });
  }

  /** Waits until something listens on `addr:port` as seen from the node (default localhost). */
  async waitForOpenPort(port: number, options: CommandOptions & { addr?: string } = {}): Promise<void> {
    const timeout = this.timeoutS(options.timeout);
    const addr = options.addr ?? 'localhost';
    const command = this.portScript(port, addr);
    this.log(`waiting for TCP port ${addr}:${port}`);
    await this.poll(`TCP port ${addr}:${port} to open`, timeout, async (rem) => {
      const r = await this.run(command, rem);
      return r.exitCode === 0 ? { done: undefined } : { last: { ...r, command } };
    });
  }

  /** Waits until nothing listens on `addr:port` any more. */
  async waitForClosedPort(port: number, options: CommandOptions & { addr?: string } = {}): Promise<void> {
    const timeout = this.timeoutS(options.timeout);
    const addr = options.addr ?? 'localhost';
    const command = this.portScript(port, addr);
    this.log(`waiting for TCP port ${addr}:${port} to close`);
    await this.poll(`TCP port ${addr}:${port} to close`, timeout, async (rem) => {
      const r = await this.run(command, rem);
      return r.exitCode !== 0 ? { done: undefined } : { last: { ...r, command } };
    });
  }

  private portScript(port: number, addr: string): string {
    try {
      return portOpenScript(port, addr);
    } catch (error) {
      throw new NxcError('NXC_USAGE', `${this.host}: ${(error as Error).message}`);
    }
  }

  /** True when the node runs systemd (cached after the first call). */
  async hasSystemd(): Promise<boolean> {
    if (this.systemd === undefined) {
      const r = await this.run(HAS_SYSTEMD, 60);
      this.systemd = r.exitCode === 0;
    }
    return this.systemd;
  }

  private systemctlCommand(query: string, user?: string | null): string {
    if (user) {
      return `su -l ${shellQuote(user)} --shell /bin/sh -c ${shellQuote(`XDG_RUNTIME_DIR=/run/user/$(id -u) systemctl --user ${query}`)}`;
    }
    return `systemctl ${query}`;
  }

  /**
   * `systemctl QUERY` on the node. Without systemd (test OS): `is-active U`, `show U`
   * answer from the fallback checks; `start|stop|restart U` run `/etc/init.d/U`; anything
   * else returns exit code 1 with an explanation.
   */
  async systemctl(query: string, options: { user?: string | null } = {}): Promise<CommandResult> {
    this.log(`systemctl ${query}`);
    if (await this.hasSystemd()) {
      return this.run(this.systemctlCommand(query, options.user), this.session.defaultTimeoutS);
    }
    const words = query
      .trim()
      .split(/\s+/)
      .filter((w) => !w.startsWith('-'));
    const verb = words[0];
    const unit = words[1]?.replace(/^'(.*)'$|^"(.*)"$/, '$1$2');
    if (verb && unit && words.length === 2) {
      if (verb === 'is-active') {
        const state = await this.fallbackState(unit);
        return { exitCode: state === 'active' ? 0 : 3, stdout: `${state}\n`, stderr: '' };
      }
      if (verb === 'show') {
        const state = await this.fallbackState(unit);
        return { exitCode: 0, stdout: `Id=${unit}\nActiveState=${state}\n`, stderr: '' };
      }
      if (verb === 'start' || verb === 'stop' || verb === 'restart') {
        const script = `/etc/init.d/${unitBaseName(unit)}`;
        return this.run(
          `if [ -x ${shellQuote(script)} ]; then ${shellQuote(script)} ${verb}; else echo ${shellQuote(`nxc: ${this.host} has no systemd and no ${script}`)} >&2; exit 5; fi`,
          this.session.defaultTimeoutS,
        );
      }
    }
    return {
      exitCode: 1,
      stdout: '',
      stderr: `nxc: ${this.host} runs without systemd; only \`systemctl is-active|show|start|stop|restart UNIT\` are emulated\n`,
    };
  }

  private async fallbackState(unit: string): Promise<string> {
    const r = await this.run(fallbackUnitStateScript(unit), 60);
    return r.stdout.trim() || 'unknown';
  }

  /** `systemctl show UNIT` as a record (`ActiveState`, ...). */
  async getUnitInfo(unit: string, options: { user?: string | null } = {}): Promise<Record<string, string>> {
    const r = (await this.hasSystemd())
      ? await this.run(
          this.systemctlCommand(`--no-pager show ${shellQuote(unit)}`, options.user),
          this.session.defaultTimeoutS,
        )
      : await this.systemctl(`show ${unit}`, options);
    if (r.exitCode !== 0) {
      throw new CommandError(
        'NXC_TEST_FAILED',
        `${this.host}: retrieving systemctl info for unit "${unit}" failed (exit code ${r.exitCode})`,
        { host: this.host, command: `systemctl show ${unit}`, ...r },
      );
    }
    const info: Record<string, string> = {};
    for (const line of r.stdout.split('\n')) {
      const m = /^([^=]+)=(.*)$/.exec(line);
      if (m) info[m[1]!] = m[2]!;
    }
    return info;
  }

  /**
   * One property of a unit, as `systemctl show UNIT --property=NAME` gives it (NixOS
   * `get_unit_property`). Without systemd, only `ActiveState` and `Id` are known (from the
   * fallback checks); another property fails in one line.
   */
  async getUnitProperty(
    unit: string,
    property: string,
    options: { user?: string | null } = {},
  ): Promise<string> {
    if (!/^[A-Za-z0-9_]+$/.test(property))
      throw new NxcError(
        'NXC_USAGE',
        `${this.host}: get_unit_property: "${property}" is not a property name`,
        {
          hint: 'systemd property names are words such as ActiveState, MainPID, ExecMainStatus',
        },
      );
    const systemd = await this.hasSystemd();
    if (!systemd && property !== 'ActiveState' && property !== 'Id')
      throw new NxcError(
        'NXC_USAGE',
        `${this.host}: get_unit_property: property "${property}" needs systemd, which this node does not run`,
        {
          hint: 'without systemd only ActiveState and Id are known (see "Nodes without systemd" in the driver README)',
        },
      );
    const command = `systemctl --no-pager show ${shellQuote(unit)} --property=${property}`;
    const r = systemd
      ? await this.run(
          this.systemctlCommand(`--no-pager show ${shellQuote(unit)} --property=${property}`, options.user),
          this.session.defaultTimeoutS,
        )
      : await this.systemctl(`show ${unit}`, options);
    if (r.exitCode !== 0)
      throw new CommandError(
        'NXC_TEST_FAILED',
        `${this.host}: retrieving systemctl property "${property}" for unit "${unit}" failed (exit code ${r.exitCode})`,
        { host: this.host, command, ...r },
      );
    for (const line of r.stdout.split('\n')) {
      const m = /^([^=]+)=(.*)$/.exec(line);
      if (m?.[1] === property) return m[2]!;
    }
    throw new CommandError(
      'NXC_TEST_FAILED',
      `${this.host}: unit "${unit}" has no property "${property}" (\`systemctl show\` did not print it)`,
      { host: this.host, command, ...r },
    );
  }

  /** Throws unless the unit is in `state` (default active). */
  async requireUnitState(unit: string, state = 'active'): Promise<void> {
    const info = await this.getUnitInfo(unit);
    if (info.ActiveState !== state) {
      throw new NxcError(
        'NXC_TEST_FAILED',
        `${this.host}: unit "${unit}" is "${info.ActiveState ?? 'unknown'}", expected "${state}"`,
      );
    }
  }

  /**
   * Waits until a unit is active. With systemd: `ActiveState=active`; throws at once when it
   * is `failed`, or `inactive` with no job pending. Without systemd: the fallback checks
   * (see {@link fallbackUnitStateScript}); `failed` throws, anything else is retried.
   */
  async waitForUnit(unit: string, options: CommandOptions & { user?: string | null } = {}): Promise<void> {
    const timeout = this.timeoutS(options.timeout);
    this.log(`waiting for unit ${unit}`);
    const systemd = await this.hasSystemd();
    await this.poll(`unit ${unit} to be active`, timeout, async (rem) => {
      if (!systemd) {
        const command = fallbackUnitStateScript(unit);
        const r = await this.run(command, rem);
        const state = r.stdout.trim();
        if (state === 'failed') {
          throw new NxcError(
            'NXC_TEST_FAILED',
            `${this.host}: unit "${unit}" failed (/run/nxc/units/${unitBaseName(unit)}.failed exists)`,
          );
        }
        return state === 'active'
          ? { done: undefined }
          : { last: { ...r, command: `state of ${unit}: ${state}` } };
      }
      const command = this.systemctlCommand(`--no-pager show ${shellQuote(unit)}`, options.user);
      const r = await this.run(command, rem);
      const state = /^ActiveState=(.*)$/m.exec(r.stdout)?.[1] ?? '';
      if (state === 'active') return { done: undefined };
      if (state === 'failed') {
        throw new CommandError('NXC_TEST_FAILED', `${this.host}: unit "${unit}" reached state "failed"`, {
          host: this.host,
          command,
          ...r,
        });
      }
      if (state === 'inactive') {
        const jobs = await this.run(this.systemctlCommand('list-jobs --full 2>&1', options.user), rem);
        if (jobs.stdout.includes('No jobs')) {
          const again = await this.run(command, rem);
          if (/^ActiveState=inactive$/m.test(again.stdout)) {
            throw new CommandError(
              'NXC_TEST_FAILED',
              `${this.host}: unit "${unit}" is inactive and there are no pending jobs`,
              { host: this.host, command, ...again },
            );
          }
        }
      }
      return { last: { ...r, command } };
    });
  }

  /** Copies a local file or directory onto the node at `target` (parent created). */
  async copyFromHost(source: string, target: string): Promise<void> {
    this.log(`copy ${source} -> ${target}`);
    const parent = path.posix.dirname(target);
    await this.succeed(`mkdir -p ${shellQuote(parent)}`);
    await this.session.transport.copyTo(this.host, path.resolve(source), target);
  }

  /**
   * Copies `source` from the node to `<outDir>/<targetDir>/<basename>` (NixOS semantics:
   * outDir is `$out`, here the session's outDir, `$out` or the current directory).
   * Returns the local path.
   */
  async copyFromVm(source: string, targetDir = ''): Promise<string> {
    const outDir = this.session.outDir ?? process.env.out ?? process.cwd();
    const dest = path.resolve(outDir, targetDir, path.posix.basename(source));
    this.log(`copy ${source} -> ${dest}`);
    await mkdir(path.dirname(dest), { recursive: true });
    await this.session.transport.copyFrom(this.host, source, dest);
    return dest;
  }

  /**
   * Waits until the node answers a command (nodes are started by `nxc start`; a node the
   * flavour can power on is started first when it does not answer). Then puts back the
   * network conditions recorded for it (`nxc net`), which a restarted node has lost.
   */
  async start(options: CommandOptions = {}): Promise<void> {
    if (this.session.control?.start && !(await this.isUp())) {
      this.log('starting');
      await this.session.control.start(this.host, this.session.signal);
    }
    const timeout = this.timeoutS(options.timeout);
    await this.poll('the node to answer', timeout, async (rem) => {
      try {
        const r = await this.run('true', Math.min(rem, 30));
        return r.exitCode === 0 ? { done: undefined } : { last: { ...r, command: 'true' } };
      } catch (error) {
        if ((error as NxcError).code === 'NXC_INTERRUPTED') throw error;
        return { last: { command: 'true', stderr: (error as Error).message } };
      }
    });
    await this.session.network?.restore?.([this.host]);
  }

  /** True when the node answers `true` within 30 s. */
  async isUp(): Promise<boolean> {
    try {
      return (await this.run('true', 30)).exitCode === 0;
    } catch (error) {
      if ((error as NxcError).code === 'NXC_INTERRUPTED') throw error;
      return false;
    }
  }

  private unsupported(what: string, hint?: string): NxcError {
    return new NxcError(
      'NXC_USAGE',
      `${this.host}: ${what}() is not supported by the ${this.session.flavour ?? 'current'} flavour`,
      {
        hint: hint ?? 'run `nxc stop` to stop the whole deployment, or use a flavour that can (docker, qemu)',
      },
    );
  }

  /** Powers the node off and waits until it is down (needs the flavour's {@link NodeControl}). */
  async shutdown(): Promise<void> {
    const fn = this.session.control?.shutdown;
    if (!fn) throw this.unsupported('shutdown');
    this.log('shutdown');
    await fn.call(this.session.control, this.host, this.session.signal);
  }

  /** Stops the node abruptly (needs the flavour's {@link NodeControl}). */
  async crash(): Promise<void> {
    const fn = this.session.control?.crash;
    if (!fn) throw this.unsupported('crash');
    this.log('crash');
    await fn.call(this.session.control, this.host, this.session.signal);
  }

  /**
   * Cuts this node off from every other node of the deployment (NixOS test driver's
   * `block()`), from outside the node where the flavour can (docker: host-side routes).
   */
  async block(): Promise<void> {
    const net = this.session.network;
    if (!net) throw this.unsupported('block');
    const others = (this.session.hosts ?? []).filter((h) => h !== this.host);
    if (others.length === 0) return;
    this.log('block');
    await net.partition([this.host], others);
  }

  /** Undoes {@link block} (and any other condition touching this node). */
  async unblock(): Promise<void> {
    const net = this.session.network;
    if (!net) throw this.unsupported('unblock');
    this.log('unblock');
    await net.heal([this.host]);
  }

  /** Waits until the node no longer answers. */
  async waitForShutdown(options: CommandOptions = {}): Promise<void> {
    const timeout = this.timeoutS(options.timeout);
    await this.poll('the node to shut down', timeout, async () =>
      (await this.isUp()) ? { last: { command: 'true', exitCode: 0 } } : { done: undefined },
    );
  }

  /** Sleeps in the node's time (`sleep N` on the node). */
  async sleep(seconds: number): Promise<void> {
    await this.succeed(`sleep ${Number(seconds)}`, { timeout: Number(seconds) + 60 });
  }

  /**
   * Waits until the node's console output matches `regex` (NixOS `wait_for_console_text`):
   * QEMU's serial console, a container's output. The first call searches everything since
   * boot; each later call searches what came after the lines an earlier match consumed.
   * A Python regular expression is translated (see {@link pythonRegex}).
   */
  async waitForConsoleText(regex: string | RegExp, options: CommandOptions = {}): Promise<void> {
    const read = this.session.console?.consoleLines;
    if (!read)
      throw this.unsupported(
        'wait_for_console_text',
        'the flavour offers no console log; wait for a file or a command instead (wait_until_succeeds)',
      );
    const re = pythonRegex(regex, `${this.host}: wait_for_console_text`);
    const timeout = this.timeoutS(options.timeout);
    this.log(`waiting for ${re.source} to appear on the console`);
    let seen = '';
    await this.poll(`${re.source} to appear on the console`, timeout, async () => {
      const lines = await read.call(this.session.console, this.host, this.session.signal);
      const text = unreadConsoleText(this.consoleRead, lines);
      seen = text;
      if (re.test(text)) {
        this.consoleRead = lines;
        return { done: undefined };
      }
      return { last: { command: 'console', stdout: seen.split('\n').slice(-20).join('\n') } };
    });
  }

  /**
   * Everything the node's console printed since it started, one string (NixOS
   * `get_console_log`); see {@link waitForConsoleText} for what the console is per flavour.
   */
  async getConsoleLog(): Promise<string> {
    const read = this.session.console?.consoleLines;
    if (!read)
      throw this.unsupported(
        'get_console_log',
        "the flavour offers no console log; read the node's logs with succeed() instead",
      );
    return (await read.call(this.session.console, this.host, this.session.signal)).join('\n');
  }

  /**
   * Writes `chars` to the node's serial console input, as typed on a terminal attached to
   * the kernel console (NixOS `send_console`), e.g. `"\nsystemctl default\n"` to a shell in
   * emergency mode. QEMU flavours: `ttyS0`. No character translation (`\n` is sent as is).
   */
  async sendConsole(chars: string): Promise<void> {
    const send = this.session.console?.sendConsole;
    if (!send)
      throw this.unsupported(
        'send_console',
        'nodes of this flavour have no serial console input; use a QEMU flavour (vm-ramdisk, vm), or execute()/succeed()',
      );
    if (chars === '') return;
    this.log(`sending to the console ${JSON.stringify(chars)}`);
    await send.call(this.session.console, this.host, chars);
  }

  /** Presses one key or chord (QEMU names: `ctrl-alt-delete`, `shift-a`, `ret`; a single character is mapped). */
  async sendKey(key: string, options: { delay?: number | null } = {}): Promise<void> {
    const send = this.session.console?.sendKey;
    if (!send) throw this.unsupported('send_key', NO_KEYBOARD_HINT);
    const name = key.length === 1 ? keyForChar(key) : key;
    this.log(`sending key ${name}`);
    await send.call(this.session.console, this.host, name);
    await sleep(delayMs(options.delay), this.session.signal);
  }

  /**
   * Types `chars` on the node's keyboard, one key press per character (US layout), `delay`
   * seconds apart (default 0.01). Every character is checked before the first is sent.
   */
  async sendChars(chars: string, options: { delay?: number | null } = {}): Promise<void> {
    const send = this.session.console?.sendKey;
    if (!send) throw this.unsupported('send_chars', NO_KEYBOARD_HINT);
    const keys = [...chars].map((c) => keyForChar(c));
    this.log(`sending keys ${JSON.stringify(chars)}`);
    const ms = delayMs(options.delay);
    for (const key of keys) {
      await send.call(this.session.console, this.host, key);
      await sleep(ms, this.session.signal);
    }
  }

  private ttyNumber(tty: number | string, what: string): number {
    const n = Number(tty);
    if (!Number.isInteger(n) || n < 1 || n > 63)
      throw new NxcError('NXC_USAGE', `${this.host}: ${what}: tty must be a number from 1 to 63, got ${tty}`);
    return n;
  }

  /**
   * The text on virtual terminal `tty` (1 for tty1), one line per screen row, read inside
   * the node from `/dev/vcs<tty>` (NixOS `get_tty_text`). Nodes without virtual terminals
   * (containers) fail naming the flavour.
   */
  async getTtyText(tty: number | string): Promise<string> {
    const n = this.ttyNumber(tty, 'get_tty_text');
    const r = await this.run(ttyTextScript(n), this.session.defaultTimeoutS);
    if (r.exitCode === NO_VCS_EXIT)
      throw this.unsupported(
        'get_tty_text',
        `the node has no /dev/vcs${n} (no virtual terminal); use a QEMU flavour for console tests`,
      );
    if (r.exitCode !== 0)
      throw new CommandError(
        'NXC_TEST_FAILED',
        `${this.host}: reading tty${n} failed (exit code ${r.exitCode})`,
        {
          host: this.host,
          command: `cat /dev/vcs${n}`,
          ...r,
        },
      );
    const nl = r.stdout.indexOf('\n');
    const cols = Math.max(1, Number(r.stdout.slice(0, nl)) || 80);
    const screen = r.stdout.slice(nl + 1);
    const rows: string[] = [];
    for (let i = 0; i < screen.length; i += cols) rows.push(screen.slice(i, i + cols));
    return rows.map((row) => `${row}\n`).join('');
  }

  /** Waits until the text on virtual terminal `tty` matches `regex` (see {@link getTtyText}). */
  async waitUntilTtyMatches(
    tty: number | string,
    regex: string | RegExp,
    options: CommandOptions = {},
  ): Promise<void> {
    const n = this.ttyNumber(tty, 'wait_until_tty_matches');
    const re = pythonRegex(regex, `${this.host}: wait_until_tty_matches`);
    const timeout = this.timeoutS(options.timeout);
    this.log(`waiting for ${re.source} to appear on tty${n}`);
    await this.poll(`${re.source} to appear on tty${n}`, timeout, async () => {
      const text = await this.getTtyText(n);
      return re.test(text)
        ? { done: undefined }
        : { last: { command: `tty${n}`, stdout: text.replace(/ +\n/g, '\n') } };
    });
  }

  /**
   * Waits until a process listens on the UNIX-domain socket `file` (stream; with
   * `isDatagram`, a bound datagram socket), read from the node's /proc/net/unix.
   */
  async waitForOpenUnixSocket(
    file: string,
    options: CommandOptions & { isDatagram?: boolean } = {},
  ): Promise<void> {
    const timeout = this.timeoutS(options.timeout);
    const kind = options.isDatagram ? 'datagram' : 'stream';
    const command = unixSocketOpenScript(file, options.isDatagram);
    this.log(`waiting for UNIX-domain ${kind} socket ${file}`);
    await this.poll(`UNIX-domain ${kind} socket ${file} to open`, timeout, async (rem) => {
      const r = await this.run(command, rem);
      return r.exitCode === 0 ? { done: undefined } : { last: { ...r, command } };
    });
  }

  /**
   * Makes TCP `127.0.0.1:hostPort` on the machine running nxc reach the node's `guestPort`
   * (NixOS `forward_port`, default 8080 -> 80). QEMU: a user-mode forward that lives as long
   * as the VM; docker: a relay in the nxc process that lives until the driver session ends.
   */
  async forwardPort(hostPort = 8080, guestPort = 80): Promise<void> {
    const forward = this.session.console?.forwardPort;
    if (!forward)
      throw this.unsupported(
        'forward_port',
        'reach the node at its deployment address instead (machine.address)',
      );
    for (const [name, port] of [
      ['host_port', hostPort],
      ['guest_port', guestPort],
    ] as const) {
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        throw new NxcError(
          'NXC_USAGE',
          `${this.host}: forward_port: ${name} ${port} is not a TCP port (1-65535)`,
        );
    }
    this.log(`forwarding 127.0.0.1:${hostPort} to port ${guestPort}`);
    await forward.call(this.session.console, this.host, hostPort, guestPort);
  }
}
