/**
 * Waiting for nodes to come up, per the boot contract: a node's init prints
 * `NXC_READY <host>` on its stdout once its services run, or `NXC_BOOT_ERROR <reason>` when
 * it cannot boot. We read each container's output through an attach opened before it starts
 * (one long-lived request per node); the stream ending before the ready line means the
 * container exited. The contract's other signal, `/run/nxc/ready`, is looked for too, once a
 * second, on the nodes whose init is systemd (or may be: {@link initMayBeSystemd}): systemd as
 * PID 1 (NixOS) keeps nothing of the output stream the engine gave it, so its ready line never
 * reaches the container's output. Each look is a `docker exec` (a process started in the
 * container by the engine): on the others, whose ready line reaches the stream, it would only
 * load the engine and the CPU the nodes boot on (30 nodes: 30 execs a second).
 */
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';

/** Splits byte chunks into lines, keeping a partial last line for the next chunk. */
export class LineSplitter {
  private rest = '';
  push(chunk: Buffer | string): string[] {
    const text = this.rest + chunk.toString();
    const lines = text.split(/\r?\n/);
    this.rest = lines.pop() ?? '';
    return lines;
  }
  flush(): string[] {
    const last = this.rest;
    this.rest = '';
    return last === '' ? [] : [last];
  }
}

/** What a boot log line means for readiness. */
export type BootSignal = { kind: 'ready'; host: string } | { kind: 'error'; reason: string } | undefined;

export function parseBootLine(line: string): BootSignal {
  const ready = /(?:^|\s)NXC_READY\s+(\S+)/.exec(line);
  if (ready) return { kind: 'ready', host: ready[1]! };
  const error = /(?:^|\s)NXC_BOOT_ERROR\s*(.*)$/.exec(line);
  if (error) return { kind: 'error', reason: error[1]!.trim() || 'unknown boot error' };
  return undefined;
}

/** A container's multiplexed output stream (attach or logs). */
export type OutputStream = NodeJS.ReadableStream & { destroy(): void };

/**
 * Attaches to a created container's output BEFORE it starts (as `docker run` does): nothing
 * printed at boot can be missed, and the engine streams the process's output directly
 * instead of re-reading its log file as a `logs --follow` request does.
 */
export async function attachOutput(container: Docker.Container): Promise<OutputStream> {
  return (await container.attach({ stream: true, stdout: true, stderr: true })) as unknown as OutputStream;
}

/** Why a node did not become ready. */
export interface NodeFailure {
  host: string;
  kind: 'exited' | 'boot-error' | 'timeout' | 'aborted';
  reason: string;
  /** Every line captured so far (bounded). */
  lines: string[];
}

export class NodeFailed extends Error {
  constructor(readonly failure: NodeFailure) {
    super(`${failure.host}: ${failure.reason}`);
  }
}

const MAX_LINES = 5000;
const READY_FILE_POLL_MS = 1000;

/**
 * Whether a role's init may be systemd, whose ready line never reaches the container's output:
 * the role's system has the `systemd` link NixOS's toplevel has (the host's store holds it: the
 * engine bind-mounts it), or its system is unknown (compose infos without `toplevel`, or a
 * toplevel this host cannot see).
 */
export function initMayBeSystemd(toplevel: string | undefined): boolean {
  if (toplevel === undefined || !existsSync(toplevel)) return true;
  return lstatSync(join(toplevel, 'systemd'), { throwIfNoEntry: false }) !== undefined;
}

/** True when the node's ready file exists (false while the container cannot run a command). */
export async function readyFileExists(container: Docker.Container): Promise<boolean> {
  try {
    const exec = await container.exec({
      Cmd: ['test', '-e', '/run/nxc/ready'],
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    await new Promise<void>((done) => {
      stream.on('end', () => done());
      stream.on('close', () => done());
      stream.on('error', () => done());
      stream.resume();
    });
    return (await exec.inspect()).ExitCode === 0;
  } catch {
    return false;
  }
}

/**
 * Reads `options.stream` (from {@link attachOutput}) until `host` prints its ready line.
 * Resolves when `host` prints its ready line; rejects with {@link NodeFailed} when it exits,
 * reports a boot error, exceeds `timeoutMs` or `signal` aborts. Returns the captured lines.
 */
export async function waitReady(
  docker: Docker,
  container: Docker.Container,
  host: string,
  options: {
    timeoutMs: number;
    signal: AbortSignal;
    stream: OutputStream;
    /** Also look for `/run/nxc/ready` once a second (default true): see {@link initMayBeSystemd}. */
    pollReadyFile?: boolean;
  },
): Promise<string[]> {
  const lines: string[] = [];
  const stream = options.stream;
  return new Promise<string[]>((resolve, reject) => {
    let settled = false;
    const out = new PassThrough();
    const err = new PassThrough();
    const splitters = { out: new LineSplitter(), err: new LineSplitter() };
    const finish = (failure?: Omit<NodeFailure, 'host' | 'lines'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(poll);
      options.signal.removeEventListener('abort', onAbort);
      stream.destroy();
      if (failure) reject(new NodeFailed({ host, lines, ...failure }));
      else resolve(lines);
    };
    const onLine = (line: string) => {
      if (lines.length >= MAX_LINES) lines.shift();
      lines.push(line);
      const signal = parseBootLine(line);
      if (signal?.kind === 'ready' && signal.host === host) finish();
      else if (signal?.kind === 'error')
        finish({ kind: 'boot-error', reason: `boot failed: ${signal.reason}` });
    };
    out.on('data', (d: Buffer) => splitters.out.push(d).forEach(onLine));
    err.on('data', (d: Buffer) => splitters.err.push(d).forEach(onLine));
    docker.modem.demuxStream(stream, out, err);
    stream.on('end', async () => {
      [...splitters.out.flush(), ...splitters.err.flush()].forEach(onLine);
      if (settled) return;
      let code = '?';
      try {
        const info = await container.inspect();
        code = String(info.State.ExitCode);
        if (info.State.OOMKilled) code += ', out of memory';
      } catch {
        // removed meanwhile
      }
      finish({ kind: 'exited', reason: `container exited (code ${code}) before the node was ready` });
    });
    stream.on('error', (error: Error) =>
      finish({ kind: 'exited', reason: `lost its log stream: ${error.message}` }),
    );
    const timer = setTimeout(
      () => finish({ kind: 'timeout', reason: `not ready after ${Math.round(options.timeoutMs / 1000)} s` }),
      options.timeoutMs,
    );
    let poll: ReturnType<typeof setTimeout> | undefined;
    const pollReadyFile = () => {
      poll = setTimeout(async () => {
        if (settled) return;
        if (await readyFileExists(container)) finish();
        else pollReadyFile();
      }, READY_FILE_POLL_MS);
    };
    if (options.pollReadyFile ?? true) pollReadyFile();
    const onAbort = () => finish({ kind: 'aborted', reason: 'interrupted' });
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener('abort', onAbort, { once: true });
  });
}
