/**
 * Reaching running nodes through the engine: exec (stdout/stderr demultiplexed), an
 * interactive shell with a real TTY and window resize (`nxc connect`), and copies in and
 * out through the archive API (tar), so no SSH server is needed in the containers.
 */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, posix } from 'node:path';
import { type Duplex, PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type ExecOptions,
  type ExecResult,
  type NodeTreeSink,
  NxcError,
  type ShellOptions,
  type ShellSession,
  type Transport,
  receiveFromNode,
} from '@nxc/core/flavour';
import type Docker from 'dockerode';
import { TMPFS_MOUNTS } from './containers.js';

/** Login shell: bash when the node has it (NixOS), else sh (busybox). */
const LOGIN_SHELL = [
  '/bin/sh',
  '-c',
  'if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi',
];

export class DockerTransport implements Transport {
  constructor(
    private readonly docker: Docker,
    /** deployment hostname -> container id or name */
    private readonly containers: Map<string, string>,
  ) {}

  private container(host: string): Docker.Container {
    const id = this.containers.get(host);
    if (id === undefined) {
      throw new NxcError(
        'NXC_NODE_UNKNOWN',
        `no node "${host}" in this deployment (nodes: ${[...this.containers.keys()].join(', ')})`,
        {
          hint: 'use a hostname listed by `nxc status`',
        },
      );
    }
    return this.docker.getContainer(id);
  }

  /** Creates an exec instance; a stopped or removed container is reported as unreachable. */
  private async createExec(
    host: string,
    container: Docker.Container,
    options: Docker.ExecCreateOptions,
  ): Promise<Docker.Exec> {
    try {
      return await container.exec(options);
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 404 || status === 409) {
        throw new NxcError(
          'NXC_NODE_UNREACHABLE',
          `node ${host} is not running (its container is ${status === 404 ? 'gone' : 'stopped'})`,
          {
            hint: 'see `nxc status`; restart the deployment with `nxc stop && nxc start`',
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  async exec(host: string, command: string | string[], options: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.run(host, command, options);
    return { exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  }

  /** exec with raw output (copies of binary data go through it). */
  private async run(
    host: string,
    command: string | string[],
    options: ExecOptions = {},
  ): Promise<{ exitCode: number; stdout: Buffer; stderr: Buffer }> {
    const container = this.container(host);
    const withStdin = options.stdin !== undefined;
    const exec = await this.createExec(host, container, {
      Cmd: typeof command === 'string' ? ['/bin/sh', '-c', command] : command,
      AttachStdout: true,
      AttachStderr: true,
      AttachStdin: withStdin,
      Tty: false,
      User: options.user ?? 'root',
      ...(options.env ? { Env: Object.entries(options.env).map(([k, v]) => `${k}=${v}`) } : {}),
    });
    const stream = (await exec.start({ hijack: true, stdin: withStdin })) as Duplex;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.on('data', (d: Buffer) => {
      out.push(d);
      options.onStdout?.(d);
    });
    stderr.on('data', (d: Buffer) => {
      err.push(d);
      options.onStderr?.(d);
    });
    this.docker.modem.demuxStream(stream, stdout, stderr);
    if (withStdin) stream.end(options.stdin);

    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', reject);
        if (options.timeoutMs !== undefined) {
          timer = setTimeout(() => {
            stream.destroy();
            reject(
              new NxcError('NXC_TIMEOUT', `command on ${host} did not finish within ${options.timeoutMs} ms`),
            );
          }, options.timeoutMs);
        }
        if (options.signal) {
          onAbort = () => {
            stream.destroy();
            reject(new NxcError('NXC_INTERRUPTED', `command on ${host} interrupted`));
          };
          if (options.signal.aborted) onAbort();
          else options.signal.addEventListener('abort', onAbort, { once: true });
        }
      });
    } finally {
      if (timer) clearTimeout(timer);
      if (onAbort) options.signal?.removeEventListener('abort', onAbort);
    }
    // The exec may report Running for a moment after its streams closed.
    let info = await exec.inspect();
    for (let i = 0; info.Running && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 20));
      info = await exec.inspect();
    }
    return { exitCode: info.ExitCode ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
  }

  async shell(host: string, options: ShellOptions): Promise<ShellSession> {
    const container = this.container(host);
    const exec = await this.createExec(host, container, {
      Cmd: options.command ? ['/bin/sh', '-c', options.command] : LOGIN_SHELL,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: true,
      User: options.user ?? 'root',
      Env: [`TERM=${process.env.TERM ?? 'xterm-256color'}`],
    });
    const stream = (await exec.start({ hijack: true, stdin: true, Tty: true })) as Duplex;
    const resize = (columns: number, rows: number) => {
      exec.resize({ w: columns, h: rows }).catch(() => {});
    };
    if (options.columns && options.rows) {
      // The size must be in place before the first keystroke reaches the shell (a command
      // typed at once would otherwise see a 0x0 terminal); the engine may refuse a resize
      // until the exec's process exists, so retry briefly.
      for (let i = 0; i < 20; i++) {
        const ok = await exec.resize({ w: options.columns, h: options.rows }).then(
          () => true,
          () => false,
        );
        if (ok) break;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    options.stdin.pipe(stream);
    stream.pipe(options.stdout, { end: false });
    const exited = new Promise<number>((resolve, reject) => {
      let done = false;
      const finish = async () => {
        if (done) return;
        done = true;
        options.stdin.unpipe(stream);
        try {
          let info = await exec.inspect();
          for (let i = 0; info.Running && i < 50; i++) {
            await new Promise((r) => setTimeout(r, 20));
            info = await exec.inspect();
          }
          resolve(info.ExitCode ?? -1);
        } catch (error) {
          reject(error);
        }
      };
      stream.on('end', finish);
      stream.on('close', finish);
      stream.on('error', reject);
    });
    return { resize, exited };
  }

  async copyTo(host: string, localPath: string, remotePath: string): Promise<void> {
    const container = this.container(host);
    await stat(localPath).catch(() => {
      throw new NxcError('NXC_IO', `cannot copy ${localPath} to ${host}: no such file or directory`);
    });
    const name = posix.basename(remotePath);
    const from = basename(localPath);
    // The archive's top entry is renamed to the remote basename; it is unpacked in the remote dirname.
    // tar-fs is loaded on the first copy, not with the deploy side (issue #17: `nxc status` never copies)
    const { default: tar } = await import('tar-fs');
    const archive = await toBuffer(
      tar.pack(dirname(localPath), {
        entries: [from],
        map: (header) => {
          header.name = header.name === from ? name : `${name}${header.name.slice(from.length)}`;
          return header;
        },
      }),
    );
    const parent = posix.dirname(remotePath);
    if (onTmpfs(remotePath)) {
      // The archive API does not see tmpfs mounts (it would write UNDER them): unpack with the node's tar.
      const r = await this.run(host, ['sh', '-c', 'mkdir -p "$1" && tar -x -f - -C "$1"', 'sh', parent], {
        stdin: archive,
      });
      if (r.exitCode !== 0) {
        throw new NxcError(
          'NXC_IO',
          `cannot copy ${localPath} to ${host}:${remotePath}: ${r.stderr.toString().trim()}`,
        );
      }
      return;
    }
    await this.exec(host, ['mkdir', '-p', parent]);
    await container.putArchive(archive, { path: parent });
  }

  async copyFrom(host: string, remotePath: string, localPath: string): Promise<void> {
    const container = this.container(host);
    const missing = () =>
      new NxcError('NXC_IO', `cannot copy ${remotePath} from ${host}: no such file or directory on the node`);
    let archive: NodeJS.ReadableStream;
    if (onTmpfs(remotePath)) {
      const r = await this.run(host, [
        'sh',
        '-c',
        'cd "$(dirname "$1")" && tar -c -f - "$(basename "$1")"',
        'sh',
        remotePath,
      ]);
      if (r.exitCode !== 0) throw missing();
      const source = new PassThrough();
      source.end(r.stdout);
      archive = source;
    } else {
      try {
        archive = await container.getArchive({ path: remotePath });
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) throw missing();
        throw error;
      }
    }
    // The archive comes from the node (its own tar for tmpfs paths): core's receiveFromNode
    // keeps every entry inside the destination and creates no links.
    await receiveFromNode({ host, remotePath, localPath }, (sink) =>
      unpackNodeArchive(archive, posix.basename(posix.normalize(remotePath)), sink),
    );
  }

  async close(): Promise<void> {
    // Each call uses its own engine connection: nothing to release.
  }
}

/**
 * Feeds a tar stream whose top entry is `top` (the remote basename) to the sink. Names are
 * checked there; links, devices and fifos are skipped; entries outside `top` are refused.
 */
async function unpackNodeArchive(
  archive: NodeJS.ReadableStream,
  top: string,
  sink: NodeTreeSink,
): Promise<void> {
  const { default: tarStream } = await import('tar-stream');
  const extract = tarStream.extract();
  const done = pipeline(archive, extract);
  try {
    for await (const entry of extract) {
      const { header } = entry;
      // `top/a/b/` -> ['top','a','b']; an empty, `.` or `..` component is left for the sink to refuse
      const parts = header.name
        .replace(/^(\.\/)+/, '')
        .replace(/\/$/, '')
        .split('/');
      if (parts[0] !== top) {
        entry.resume();
        sink.refuse(`an entry outside ${top}: ${JSON.stringify(header.name)}`);
      }
      const path = parts.slice(1);
      if (header.type === 'directory') {
        entry.resume();
        await sink.directory(path, header.mode ?? 0o755);
      } else if (header.type === 'file' || header.type === 'contiguous-file') {
        await sink.file(path, header.mode ?? 0o644, (local) =>
          pipeline(entry, createWriteStream(local, { mode: 0o600 })),
        );
      } else {
        entry.resume();
        sink.skip(path);
      }
    }
  } catch (error) {
    // a refused entry: stop reading the node's stream
    done.catch(() => undefined);
    extract.destroy();
    throw error;
  }
  await done;
}

function onTmpfs(path: string): boolean {
  const p = posix.normalize(path);
  return Object.keys(TMPFS_MOUNTS).some((root) => p === root || p.startsWith(`${root}/`));
}

async function toBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}
