/**
 * The ssh2 implementation of core's `Transport`: one pooled connection per node and user,
 * exec with streamed output / timeout / abort, interactive shells with a PTY, SFTP copies of
 * files and directories. Nodes are addressed by their deployment hostname; where they are
 * reached (address, port) is the flavour's business.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { ExecOptions, ExecResult, ShellOptions, ShellSession, Transport } from '@nxc/core/flavour';
import { type NodeTreeSink, NxcError, receiveFromNode } from '@nxc/core/flavour';
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { type HostKeyStore, fingerprint } from './host-keys.js';
import { remoteCommand } from './shell-quote.js';

/**
 * ssh2, loaded when the first connection opens: it costs ~75 ms of start-up on a 2-core machine,
 * which commands that reach no node over SSH (`nxc status`, `nxc stop` of QEMU VMs) need not
 * pay (issue #17).
 */
let ssh2: Promise<typeof import('ssh2')> | undefined;
function loadSsh2(): Promise<typeof import('ssh2')> {
  ssh2 ??= import('ssh2');
  return ssh2;
}

/** Where one node is reached. */
export interface SshEndpoint {
  /** Address to connect to (IP or resolvable name). */
  address: string;
  /** TCP port (default 22). */
  port?: number;
}

/** {@link SshTransport.exec}'s options: the transport's own besides every transport's. */
export interface SshExecOptions extends ExecOptions {
  /**
   * The command may run twice without harm. Only then is a session channel the server closed
   * before answering opened again (see CHANNEL_ATTEMPTS in the source): dropbear before 2024.86
   * may close it after starting the command, so a command run again could run twice. A channel
   * the server refuses or closes is otherwise one error, as for any command a user gives.
   */
  repeatable?: boolean;
}

export interface SshTransportOptions {
  /** Deployment hostname -> where to reach it. */
  nodes: Record<string, SshEndpoint>;
  /** Private key (OpenSSH/PEM text) or the path of the file holding it. */
  privateKey: string | Buffer;
  /** Host keys of the deployment (see {@link HostKeyStore}). */
  hostKeys: HostKeyStore;
  /** Default login user (default `root`). */
  user?: string;
  /** Handshake + authentication deadline per connection in ms (default 15 000). */
  connectTimeoutMs?: number;
  /** Keepalive interval in ms (default 10 000; 0 disables). */
  keepaliveMs?: number;
}

/** A connection-level failure (as opposed to a command that failed): the node is unreachable. */
export class SshUnreachableError extends NxcError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super('NXC_NODE_UNREACHABLE', message, { hint, cause });
  }
}

/** Transport over SSH; also usable directly by flavours (g5k push, qemu readiness). */
export class SshTransport implements Transport {
  private readonly pool = new Map<string, Promise<Client>>();
  private readonly nodes: Record<string, SshEndpoint>;
  private readonly hostKeys: HostKeyStore;
  private readonly user: string;
  private readonly connectTimeoutMs: number;
  private readonly keepaliveMs: number;
  private readonly keySource: string | Buffer;
  private key?: Buffer;
  private closed = false;

  constructor(options: SshTransportOptions) {
    this.nodes = { ...options.nodes };
    this.hostKeys = options.hostKeys;
    this.user = options.user ?? 'root';
    this.connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
    this.keepaliveMs = options.keepaliveMs ?? 10_000;
    this.keySource = options.privateKey;
  }

  /** Hostnames this transport knows. */
  hosts(): string[] {
    return Object.keys(this.nodes);
  }

  private async privateKey(): Promise<Buffer> {
    if (this.key) return this.key;
    const src = this.keySource;
    if (Buffer.isBuffer(src)) this.key = src;
    else if (src.includes('PRIVATE KEY')) this.key = Buffer.from(src);
    else {
      try {
        this.key = await readFile(src);
      } catch (e) {
        throw new NxcError('NXC_IO', `cannot read SSH private key ${src}: ${(e as Error).message}`, {
          hint: 'pass an existing key with -i, or remove it to let nxc create the project key',
        });
      }
    }
    return this.key;
  }

  private endpoint(host: string): SshEndpoint {
    const ep = this.nodes[host];
    if (!ep) {
      throw new NxcError(
        'NXC_NODE_UNKNOWN',
        `node "${host}" is not in this deployment (nodes: ${this.hosts().join(', ')})`,
        {
          hint: 'use one of the hostnames shown by `nxc status`',
        },
      );
    }
    return ep;
  }

  /** The pooled connection to `host` as `user`, opened on first use. */
  async connection(host: string, user = this.user): Promise<Client> {
    if (this.closed) throw new Error('SshTransport is closed');
    const ep = this.endpoint(host);
    const id = `${user}@${host}`;
    let pending = this.pool.get(id);
    if (!pending) {
      pending = this.open(host, ep, user);
      this.pool.set(id, pending);
      pending.catch(() => this.pool.delete(id));
    }
    return pending;
  }

  private async open(host: string, ep: SshEndpoint, user: string): Promise<Client> {
    const [privateKey, { Client }] = await Promise.all([this.privateKey(), loadSsh2()]);
    const port = ep.port ?? 22;
    const where = `${ep.address}:${port}`;
    return new Promise<Client>((resolve, reject) => {
      const client = new Client();
      let ready = false;
      client.on('ready', () => {
        ready = true;
        resolve(client);
      });
      client.on('error', (err: Error & { level?: string }) => {
        if (ready) {
          // late errors surface through the channel that hits them, with this reason
          connectionEnded(client, err.message);
          return;
        }
        client.end();
        const mismatch = this.hostKeys.mismatch(host);
        if (mismatch?.source) {
          reject(
            new SshUnreachableError(
              mismatch.expected === '(revoked)'
                ? `node "${host}" (${where}): host key ${fingerprint(mismatch.actual)} is revoked by ${mismatch.source}; refusing it`
                : `node "${host}" (${where}): host key ${fingerprint(mismatch.actual)} does not match ${mismatch.source} (${fingerprint(mismatch.expected)}); refusing it`,
              'another machine may be answering at this address; if this one was reinstalled, update the file that lists its key',
            ),
          );
          return;
        }
        if (mismatch) {
          reject(
            new SshUnreachableError(
              mismatch.expected === '(none recorded)'
                ? `node "${host}" (${where}): no host key recorded for it in this deployment, refusing ${fingerprint(mismatch.actual)}`
                : `node "${host}" (${where}): host key changed during the deployment (expected ${fingerprint(mismatch.expected)}, got ${fingerprint(mismatch.actual)})`,
              'the machine behind this address is not the one nxc started; run `nxc stop` and `nxc start` again',
            ),
          );
          return;
        }
        if (err.level === 'client-authentication') {
          reject(
            new SshUnreachableError(
              `node "${host}" (${where}) refused the SSH key of the deployment for user ${user}`,
              'check that the node booted the deployed system (console log) and that -i names the key used at start',
              err,
            ),
          );
          return;
        }
        reject(
          new SshUnreachableError(
            `node "${host}" (${where}) is unreachable over SSH: ${err.message}`,
            'check that the node is running (`nxc status`) and its console log',
            err,
          ),
        );
      });
      client.on('end', () => {
        if (ready) connectionEnded(client, 'the server hung up');
      });
      client.on('close', () => {
        if (ready) connectionEnded(client, 'the connection dropped');
        if (!ready) {
          // ssh2 emits only `close` (no `error`) when the peer hangs up after its banner.
          reject(
            new SshUnreachableError(
              `node "${host}" (${where}) closed the SSH connection before login completed`,
              'the node may be rebooting or its SSH server failing; check `nxc status` and its console log',
            ),
          );
          return;
        }
        const id = `${user}@${host}`;
        const cur = this.pool.get(id);
        if (ready && cur)
          cur.then(
            (c) => {
              if (c === client) this.pool.delete(id);
            },
            () => {},
          );
      });
      client.connect({
        host: ep.address,
        port,
        username: user,
        privateKey,
        readyTimeout: this.connectTimeoutMs,
        keepaliveInterval: this.keepaliveMs,
        hostVerifier: (key: Buffer) => this.hostKeys.verify(host, key),
      });
    });
  }

  /**
   * Runs a command; rejects only for connection problems, timeouts and aborts. On timeout or
   * abort the remote process group is killed (SSH servers do not reliably forward signals,
   * and closing a channel does not stop a command that writes nothing), so the command line
   * first reports its PID on a marker line that is stripped from stdout.
   */
  async exec(host: string, command: string | string[], options: SshExecOptions = {}): Promise<ExecResult> {
    const line = `echo ${PID_MARKER}$$; exec ${remoteCommand(command, options.env)}`;
    const client = await this.connection(host, options.user);
    const shown = typeof command === 'string' ? command : command.join(' ');
    return new Promise<ExecResult>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let channel: ClientChannel | undefined;
      let pid: number | undefined;
      let pidKnown: () => void = () => {};
      const pidPromise = new Promise<void>((r) => {
        pidKnown = r;
      });
      let settled = false;
      const onAbort = (): void =>
        finish(new NxcError('NXC_INTERRUPTED', `interrupted: \`${shown}\` on ${host}`));
      const finish = (err: Error | undefined, result?: ExecResult): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (!err) {
          resolve(result as ExecResult);
          return;
        }
        // the PID marker may still be in flight when a short timeout fires
        const kill =
          channel === undefined
            ? Promise.resolve()
            : Promise.race([pidPromise, new Promise((r) => setTimeout(r, 2000))]).then(() =>
                pid === undefined ? undefined : this.killRemote(client, pid),
              );
        kill.finally(() => {
          channel?.close();
          reject(err);
        });
      };
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(
          () =>
            finish(
              new NxcError(
                'NXC_TIMEOUT',
                `\`${shown}\` on ${host} did not finish within ${options.timeoutMs} ms`,
                {
                  hint: 'raise the timeout or check the node',
                },
              ),
            ),
          options.timeoutMs,
        );
      }
      const cannotOpen = (err: Error): void =>
        finish(
          new SshUnreachableError(
            `node "${host}": cannot open an SSH channel: ${channelError(client, err)}`,
            undefined,
            err,
          ),
        );
      const open = (attempt: number): void => {
        if (settled) return;
        try {
          client.exec(line, (err, stream) => {
            if (err) {
              if (options.repeatable && notStarted(err) && attempt < CHANNEL_ATTEMPTS && !settled) {
                setTimeout(() => open(attempt + 1), retryDelayMs(attempt));
                return;
              }
              cannotOpen(err);
              return;
            }
            started(stream);
          });
        } catch (e) {
          // ssh2 throws "Not connected" at once when the connection closed since (a retry)
          cannotOpen(e instanceof Error ? e : new Error(String(e)));
        }
      };
      const started = (stream: ClientChannel): void => {
        channel = stream;
        if (settled) {
          stream.close();
          return;
        }
        const out: Buffer[] = [];
        const errs: Buffer[] = [];
        let head: Buffer | undefined = Buffer.alloc(0);
        stream.on('data', (chunk: Buffer) => {
          let d = chunk;
          if (head !== undefined) {
            head = Buffer.concat([head, d]);
            const nl = head.indexOf(10);
            if (nl < 0) return;
            const first = head.subarray(0, nl).toString();
            if (first.startsWith(PID_MARKER)) pid = Number(first.slice(PID_MARKER.length));
            pidKnown();
            d = head.subarray(nl + 1);
            head = undefined;
            if (d.length === 0) return;
          }
          out.push(d);
          options.onStdout?.(d);
        });
        stream.stderr.on('data', (d: Buffer) => {
          errs.push(d);
          options.onStderr?.(d);
        });
        stream.on('close', (code: number | null | undefined, signal?: string) => {
          pidKnown();
          const exitCode = typeof code === 'number' ? code : signal ? 128 + signalNumber(signal) : 255;
          // no exit status: like OpenSSH's client, 255 and a line saying the connection is gone
          const lost =
            typeof code !== 'number' && !signal && connectionEnd.has(client)
              ? `nxc: the SSH connection to ${host} closed before the command ended (${connectionEnd.get(client)})\n`
              : '';
          const stderr = Buffer.concat(errs).toString();
          finish(undefined, {
            exitCode,
            stdout: Buffer.concat(out).toString(),
            stderr: lost ? `${stderr}${stderr && !stderr.endsWith('\n') ? '\n' : ''}${lost}` : stderr,
          });
        });
        if (options.stdin !== undefined) stream.end(options.stdin);
        else stream.end();
      };
      open(1);
    });
  }

  /** Kills a remote process group (best effort, bounded to 3 s). */
  private killRemote(client: Client, pid: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 3000);
      const done = (): void => {
        clearTimeout(t);
        resolve();
      };
      try {
        // the whole tree: SSH servers may put every channel of a connection in one process group
        const tree = `k(){ kill -STOP $1 2>/dev/null; for c in $(cat /proc/$1/task/*/children 2>/dev/null); do k $c; done; kill -KILL $1 2>/dev/null; }; k ${pid}; true`;
        client.exec(tree, (err, s) => {
          if (err) return done();
          s.on('close', done);
          s.resume();
          s.stderr.resume();
        });
      } catch {
        done();
      }
    });
  }

  /** Interactive session with a PTY (`nxc connect`). The caller sets its terminal to raw mode. */
  async shell(host: string, options: ShellOptions): Promise<ShellSession> {
    const client = await this.connection(host, options.user);
    const pty = {
      term: process.env.TERM || 'xterm-256color',
      cols: options.columns ?? 80,
      rows: options.rows ?? 24,
    };
    const stream = await new Promise<ClientChannel>((resolve, reject) => {
      const cb = (err: Error | undefined, s: ClientChannel): void =>
        err
          ? reject(new SshUnreachableError(`node "${host}": cannot open a shell: ${err.message}`))
          : resolve(s);
      if (options.command) client.exec(options.command, { pty }, cb);
      else client.shell(pty, cb);
    });
    const input = options.stdin;
    input.pipe(stream);
    stream.pipe(options.stdout, { end: false });
    stream.stderr.pipe(options.stdout, { end: false });
    const exited = new Promise<number>((resolve) => {
      stream.on('close', (code: number | null | undefined) => {
        input.unpipe(stream);
        resolve(typeof code === 'number' ? code : 255);
      });
    });
    return {
      resize(columns: number, rows: number) {
        stream.setWindow(rows, columns, 0, 0);
      },
      exited,
    };
  }

  private async sftp(host: string): Promise<SFTPWrapper> {
    const client = await this.connection(host);
    return new Promise((resolve, reject) => {
      const unavailable = (err: Error): void =>
        reject(
          new NxcError(
            'NXC_NODE_FAILED',
            `node "${host}": SFTP is not available: ${channelError(client, err)}`,
            {
              hint: 'the node needs an SFTP server (openssh sftp-server) for copies',
            },
          ),
        );
      const open = (attempt: number): void => {
        try {
          client.sftp((err, sftp) => {
            if (!err) return resolve(sftp);
            if (sftpNotStarted(err) && attempt < CHANNEL_ATTEMPTS) {
              setTimeout(() => open(attempt + 1), retryDelayMs(attempt));
              return;
            }
            unavailable(err);
          });
        } catch (e) {
          // ssh2 throws "Not connected" at once when the connection closed since (a retry)
          unavailable(e instanceof Error ? e : new Error(String(e)));
        }
      };
      open(1);
    });
  }

  /**
   * Copies a local file or directory (recursively) to `remotePath` on the node.
   * `options.onBytes` is called with the number of file bytes written to the node's SFTP
   * server each time a chunk is acknowledged (what the caller's link actually carried, also
   * when the copy fails part-way).
   */
  async copyTo(
    host: string,
    localPath: string,
    remotePath: string,
    options: { onBytes?(bytes: number): void } = {},
  ): Promise<void> {
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(localPath);
    } catch {
      throw new NxcError('NXC_IO', `cannot copy ${localPath} to ${host}: no such file or directory`);
    }
    const client = await this.connection(host);
    const sftp = await this.sftp(host);
    try {
      await unlessClosed(
        [client, sftp],
        putTree(sftp, localPath, remotePath, st.isDirectory(), host, options.onBytes),
        `${host}:${remotePath}`,
      );
    } finally {
      await endSftp(sftp);
    }
  }

  /**
   * Copies a remote file or directory (recursively) to `localPath`, replacing it. What the
   * node lists goes through core's `receiveFromNode`: names must be plain components, links
   * and special files are not copied, a refused tree leaves nothing behind.
   */
  async copyFrom(host: string, remotePath: string, localPath: string): Promise<void> {
    const sftp = await this.sftp(host);
    try {
      const st = await sftpCall<RemoteAttrs>((cb) => sftp.stat(remotePath, cb)).catch(() => {
        throw new NxcError(
          'NXC_IO',
          `cannot copy ${host}:${remotePath}: no such file or directory on the node`,
        );
      });
      await receiveFromNode({ host, remotePath, localPath }, (sink) =>
        getTree(sftp, remotePath, [], st, sink),
      );
    } finally {
      await endSftp(sftp);
    }
  }

  /** Closes every pooled connection. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.pool.values()];
    this.pool.clear();
    await Promise.all(
      all.map(async (p) => {
        try {
          const c = await p;
          await new Promise<void>((resolve) => {
            c.once('close', () => resolve());
            connectionEnded(c, 'nxc closed it');
            c.end();
            // not unref'd: a connection that already closed never emits again, and a script
            // awaiting close() with nothing else to keep Node alive would end silently (exit 13)
            setTimeout(resolve, 1000);
          });
        } catch {
          /* never connected */
        }
      }),
    );
  }
}

/** Why a pooled connection ended, once it has (its error, or the server's hang-up). */
const connectionEnd = new WeakMap<Client, string>();

/** Records why `client` ended; the first reason given wins (an error comes before the close). */
function connectionEnded(client: Client, why: string): void {
  if (!connectionEnd.has(client)) connectionEnd.set(client, why);
}

/** A channel error that only says the connection is gone, with the reason it went. */
function channelError(client: Client, err: Error): string {
  if (!/^(No response from server|Not connected)$/.test(err.message)) return err.message;
  const why = connectionEnd.get(client);
  return `the SSH connection closed${why ? ` (${why})` : ''}`;
}

/**
 * How many times a session channel is opened for one SFTP session, or one command marked
 * {@link SshExecOptions.repeatable}. ssh2 reports a request the server refused and a channel
 * the server closed before answering alike (`Unable to exec`, `Unable to start subsystem: …`).
 * An SFTP session did nothing yet then. A command may have: dropbear's closing can come after
 * it started the command (a 100-machine run saw a verification run twice), so only commands
 * that may run twice are retried. dropbear before 2024.86 (Debian 12
 * ships 2022.83) closes a fresh session channel when another channel of the connection
 * changes state before the exec request is handled: on a loaded machine with several
 * channels at once (a relay, its size checks) that is one channel in tens, and on a machine
 * busy enough, several in a row (100 simulated machines on 2 cores: 4 attempts within 0.7 s
 * were not always enough). The same closing, right after the server accepted the SFTP
 * subsystem, ends the session before SFTP's version exchange: nothing was done either.
 */
const CHANNEL_ATTEMPTS = 6;

/** The request was refused, or its channel closed before any answer. */
function notStarted(err: Error): boolean {
  return /^Unable to (exec|start subsystem)/.test(err.message);
}

/** An SFTP session that ended before its version exchange (see {@link CHANNEL_ATTEMPTS}). */
function sftpNotStarted(err: Error): boolean {
  return notStarted(err) || /^Received unexpected SFTP session termination/.test(err.message);
}

/** 100, 200, 400, 800, 1600 ms between the attempts (3.1 s in all). */
function retryDelayMs(attempt: number): number {
  return 100 * 2 ** (attempt - 1);
}

/** Ends an SFTP session and waits for its channel to close (dropbear refuses new channels meanwhile). */
function endSftp(sftp: SFTPWrapper): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, 2000);
    sftp.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    sftp.end();
  });
}

/**
 * `work`, or a rejection as soon as one of `emitters` (the connection, the SFTP channel) closes
 * first: ssh2's fastPut never calls back when the connection dies mid-transfer (a machine that
 * drops off the network, a keepalive timeout), which would leave the copy pending forever.
 */
function unlessClosed<T>(
  emitters: Array<{
    once(e: 'close', f: () => void): unknown;
    removeListener(e: 'close', f: () => void): unknown;
  }>,
  work: Promise<T>,
  what: string,
): Promise<T> {
  let onClose: () => void = () => undefined;
  const closed = new Promise<never>((_, reject) => {
    onClose = () =>
      reject(new NxcError('NXC_IO', `cannot write ${what}: the connection closed during the copy`));
    for (const e of emitters) e.once('close', onClose);
  });
  return Promise.race([work, closed]).finally(() => {
    for (const e of emitters) e.removeListener('close', onClose);
  });
}

function sftpCall<T>(fn: (cb: (err: Error | null | undefined, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

async function putTree(
  sftp: SFTPWrapper,
  local: string,
  remote: string,
  isDir: boolean,
  host: string,
  onBytes?: (bytes: number) => void,
): Promise<void> {
  const st = await stat(local);
  if (!isDir) {
    let reported = 0;
    const step = (total: number): void => {
      if (total > reported) onBytes?.(total - reported);
      reported = Math.max(reported, total);
    };
    await sftpCall<void>((cb) =>
      sftp.fastPut(local, remote, { mode: st.mode & 0o7777, step }, (e) => cb(e, undefined)),
    ).catch((e: Error) => {
      throw new NxcError('NXC_IO', `cannot write ${host}:${remote}: ${e.message}`);
    });
    return;
  }
  await sftpCall<void>((cb) => sftp.mkdir(remote, { mode: st.mode & 0o7777 }, (e) => cb(e, undefined))).catch(
    async (e: Error) => {
      const exists = await sftpCall<{ isDirectory(): boolean }>((cb) => sftp.stat(remote, cb)).catch(
        () => undefined,
      );
      if (!exists?.isDirectory())
        throw new NxcError('NXC_IO', `cannot create directory ${host}:${remote}: ${e.message}`);
    },
  );
  for (const entry of await readdir(local, { withFileTypes: true })) {
    const child = join(local, entry.name);
    const childStat = await stat(child);
    await putTree(sftp, child, posix.join(remote, entry.name), childStat.isDirectory(), host, onBytes);
  }
}

/** What ssh2 reports for a remote file (stat, or a readdir entry: not followed). */
interface RemoteAttrs {
  mode: number;
  isDirectory(): boolean;
  isFile(): boolean;
}

async function getTree(
  sftp: SFTPWrapper,
  remote: string,
  path: string[],
  attrs: RemoteAttrs,
  sink: NodeTreeSink,
): Promise<void> {
  if (attrs.isFile()) {
    await sink.file(path, attrs.mode, (local) =>
      sftpCall<void>((cb) => sftp.fastGet(remote, local, (e) => cb(e, undefined))),
    );
    return;
  }
  if (!attrs.isDirectory()) {
    sink.skip(path);
    return;
  }
  await sink.directory(path, attrs.mode);
  const entries = await sftpCall<{ filename: string; attrs: RemoteAttrs }[]>((cb) =>
    sftp.readdir(remote, cb),
  );
  for (const e of entries) {
    if (e.filename === '.' || e.filename === '..') continue;
    // the sink checks the name before anything is read from the node or written with it
    await getTree(sftp, posix.join(remote, e.filename), [...path, e.filename], e.attrs, sink);
  }
}

const PID_MARKER = 'NXC-PID:';

const SIGNALS: Record<string, number> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  ABRT: 6,
  FPE: 8,
  KILL: 9,
  SEGV: 11,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
};
function signalNumber(name: string): number {
  return SIGNALS[name.replace(/^SIG/, '')] ?? 0;
}
