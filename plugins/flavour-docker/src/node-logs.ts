/**
 * `nxc logs` for docker nodes: each node's output, merged line by line and tagged with its
 * host. A node's log is its container's output stream. For a node whose init is systemd
 * (NixOS), that stream ends where systemd starts, since systemd keeps nothing of the output
 * stream the engine gave it; everything after (the role's services, `NXC_READY`) is in the
 * node's journal. So such a node's log is the container's output followed by the journal
 * of the current boot, read with `journalctl` inside the node, and following it follows the
 * journal.
 */
import { PassThrough } from 'node:stream';
import type { LogLine, LogsOptions } from '@nxc/core/flavour';
import type Docker from 'dockerode';
import { SYSTEMD_STOP_SIGNAL } from './containers.js';
import { LineSplitter } from './readiness.js';

/**
 * Guard of the journal read: a deployment where one role runs systemd runs every container
 * the systemd way (same stop signal), so a node whose PID 1 is not systemd (no
 * /run/systemd/system, or no journalctl) is skipped quietly: without it the engine answered
 * the exec with an error line that became part of the node's log.
 */
const JOURNAL_GUARD = '[ -d /run/systemd/system ] && command -v journalctl >/dev/null 2>&1 || exit 0';

/**
 * The command that reads a systemd node's journal for `nxc logs` (nothing on a node that
 * does not run systemd). The engine has no way to kill an exec'd process, and closing the
 * connection only closes its stdin: so a follow runs `journalctl --follow` beside a reader
 * of that stdin, which kills it at end of input.
 */
export function journalCommand(options: Pick<LogsOptions, 'follow' | 'tail'>): string[] {
  const journalctl = [
    'journalctl',
    '--no-pager',
    '--boot',
    '--output=short-precise',
    ...(options.tail === undefined ? [] : [`--lines=${options.tail}`]),
  ];
  if (!options.follow) return ['/bin/sh', '-c', `${JOURNAL_GUARD}; exec "$@"`, 'nxc-logs', ...journalctl];
  return [
    '/bin/sh',
    '-c',
    `${JOURNAL_GUARD}; exec 3<&0; "$@" --follow </dev/null & j=$!; { while read -r _ <&3; do :; done; kill "$j"; } >/dev/null 2>&1 & wait "$j"`,
    'nxc-logs',
    ...journalctl,
  ];
}

type Destroyable = NodeJS.ReadableStream & { destroy(): void };

/**
 * The frames of a non-TTY container's log (the engine's multiplexed format: 1 byte stream
 * type, 3 zero bytes, 4 bytes big-endian length, then the payload), in order.
 */
export function demuxFrames(buf: Buffer): ['stdout' | 'stderr', Buffer][] {
  const out: ['stdout' | 'stderr', Buffer][] = [];
  let at = 0;
  while (at + 8 <= buf.length) {
    const size = buf.readUInt32BE(at + 4);
    out.push([buf[at] === 2 ? 'stderr' : 'stdout', buf.subarray(at + 8, at + 8 + size)]);
    at += 8 + size;
  }
  return out;
}

/**
 * Merged log lines of the given containers (host -> container id); each node's lines keep
 * their order. Ends when every stream has ended, or when `options.signal` aborts.
 */
export async function* nodeLogs(
  docker: Docker,
  containers: Map<string, string>,
  options: LogsOptions,
): AsyncGenerator<LogLine> {
  const queue: LogLine[] = [];
  let wake: (() => void) | undefined;
  let open = containers.size;
  const streams: Destroyable[] = [];
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const onAbort = () => {
    for (const s of streams) s.destroy();
    open = 0;
    notify();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });

  /** Demultiplexes an engine stream (logs or exec) into tagged lines on the queue. */
  const sink = (host: string) => {
    const out = new PassThrough();
    const err = new PassThrough();
    const push = (kind: 'stdout' | 'stderr', splitter: LineSplitter) => (d: Buffer) => {
      for (const line of splitter.push(d)) queue.push({ host, stream: kind, line });
      notify();
    };
    out.on('data', push('stdout', new LineSplitter()));
    err.on('data', push('stderr', new LineSplitter()));
    return { out, err };
  };
  /** Counts a live stream as open until it ends or closes. */
  const track = (stream: Destroyable) => {
    streams.push(stream);
    let ended = false;
    const done = () => {
      if (ended) return;
      ended = true;
      open--;
      notify();
    };
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', done);
  };

  try {
    await Promise.all(
      [...containers].map(async ([host, id]) => {
        const container = docker.getContainer(id);
        const info = await container.inspect();
        // a stopped node's journal went with it (it lives in the node's /run)
        const stopSignal = (info.Config as { StopSignal?: string }).StopSignal;
        const journal = stopSignal === SYSTEMD_STOP_SIGNAL && info.State.Running;
        const { out, err } = sink(host);
        const opts = {
          stdout: true,
          stderr: true,
          ...(options.tail === undefined ? {} : { tail: options.tail }),
        };
        if (options.follow && !journal) {
          const stream = (await container.logs({ ...opts, follow: true })) as unknown as Destroyable;
          docker.modem.demuxStream(stream, out, err);
          track(stream);
          return;
        }
        // Non-follow logs come back as one buffer of multiplexed frames: split here, at once
        // (through streams, the last lines could arrive after this node counts as done).
        const frames = await container.logs({ ...opts, follow: false });
        const splitters = { stdout: new LineSplitter(), stderr: new LineSplitter() };
        for (const [kind, chunk] of demuxFrames(frames as unknown as Buffer)) {
          for (const line of splitters[kind].push(chunk)) queue.push({ host, stream: kind, line });
        }
        for (const kind of ['stdout', 'stderr'] as const) {
          for (const line of splitters[kind].flush()) queue.push({ host, stream: kind, line });
        }
        notify();
        if (!journal) {
          open--;
          notify();
          return;
        }
        const follow = options.follow === true;
        const exec = await container.exec({
          Cmd: journalCommand(options),
          AttachStdin: follow,
          AttachStdout: true,
          AttachStderr: true,
          Tty: false,
          User: 'root',
        });
        const stream = (await exec.start({ hijack: true, stdin: follow })) as unknown as Destroyable;
        if (options.signal?.aborted) stream.destroy();
        docker.modem.demuxStream(stream, out, err);
        track(stream);
      }),
    );
    while (true) {
      while (queue.length > 0) yield queue.shift()!;
      if (open <= 0 || options.signal?.aborted) break;
      await new Promise<void>((r) => {
        wake = r;
      });
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    for (const s of streams) s.destroy();
  }
}
