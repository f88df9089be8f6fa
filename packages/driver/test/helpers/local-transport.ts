/**
 * TEST HELPER, not product code: a real {@link Transport} without any flavour. Each
 * "node" is a set of Linux namespaces on this machine (mount, UTS, PID) held open by a
 * `sleep` process: its own hostname, its own /run and /tmp (bind mounts of a per-node
 * folder), and every process started in it dies with it. Commands run with `sh -c`
 * through `nsenter`, so they are real processes with real exit codes, output, timeouts.
 * The network namespace is the machine's: tests pick distinct ports. Needs root.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { type DeploymentDocument, type ExecResult, NxcError } from '@nxc/core';
import type { ExecOptions, ShellSession, Transport } from '@nxc/core/flavour';
import type { NodeControl } from '../../src/machine.js';

interface LocalNode {
  host: string;
  dir: string;
  holder: ChildProcess;
  /** PID (host view) of the namespace's init. */
  nsPid: number;
  down: boolean;
}

/** Where node folders live: NOT under /tmp, which each node replaces with its own. */
export const LOCAL_ROOT_BASE = '/var/tmp';

export class LocalTransport implements Transport {
  readonly root: string;
  private readonly nodes = new Map<string, LocalNode>();
  /** Every exec, for assertions. */
  readonly calls: { host: string; command: string }[] = [];

  private constructor(root: string) {
    this.root = root;
  }

  /** Starts one namespace set per host. */
  static async create(hosts: string[]): Promise<LocalTransport> {
    const t = new LocalTransport(await mkdtemp(path.join(LOCAL_ROOT_BASE, 'nxc-driver-test-')));
    try {
      for (const host of hosts) await t.startNode(host);
    } catch (error) {
      await t.close();
      throw error;
    }
    return t;
  }

  /** A deployment document for these hosts (`role` from the map, default the host's letters). */
  deployment(roles: Record<string, string>, flavour = 'local'): DeploymentDocument {
    const deployment: DeploymentDocument['deployment'] = {};
    let i = 2;
    for (const [host, role] of Object.entries(roles)) deployment[`10.0.0.${i++}`] = { host, role };
    return { deployment, 'ssh_key.pub': '', composition: 'composition', flavour, user: 'root' };
  }

  /** Folder standing for the node's filesystem root parts (`run/`, `tmp/`). */
  nodeDir(host: string): string {
    return this.get(host).dir;
  }

  private get(host: string): LocalNode {
    const n = this.nodes.get(host);
    if (!n) throw new NxcError('NXC_NODE_UNKNOWN', `no node ${host}`);
    return n;
  }

  private async startNode(host: string): Promise<void> {
    const dir = path.join(this.root, host);
    await mkdir(path.join(dir, 'run'), { recursive: true });
    await mkdir(path.join(dir, 'tmp'), { recursive: true });
    const setup = [
      `mount --bind ${dir}/run /run`,
      `mount --bind ${dir}/tmp /tmp`,
      `hostname ${host}`,
      'exec sleep 2147483647',
    ].join(' && ');
    const holder = spawn(
      'unshare',
      ['--mount', '--uts', '--pid', '--fork', '--mount-proc', 'sh', '-c', setup],
      {
        stdio: 'ignore',
      },
    );
    const pid = holder.pid!;
    // The namespace's init is unshare's child; wait until it has exec'd sleep.
    let nsPid = 0;
    for (let i = 0; i < 100 && !nsPid; i++) {
      const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
      const child = Number(children.trim().split(/\s+/)[0]);
      if (child) {
        const comm = await readFile(`/proc/${child}/comm`, 'utf8').catch(() => '');
        if (comm.trim() === 'sleep') nsPid = child;
      }
      if (!nsPid) await new Promise((r) => setTimeout(r, 20));
    }
    if (!nsPid) {
      holder.kill('SIGKILL');
      throw new Error(`local transport: node ${host} did not start`);
    }
    this.nodes.set(host, { host, dir, holder, nsPid, down: false });
  }

  async exec(host: string, command: string | string[], options: ExecOptions = {}): Promise<ExecResult> {
    const node = this.get(host);
    if (node.down) throw new NxcError('NXC_NODE_UNREACHABLE', `${host} is down`);
    const argv = typeof command === 'string' ? ['sh', '-c', command] : command;
    this.calls.push({ host, command: typeof command === 'string' ? command : command.join(' ') });
    return new Promise<ExecResult>((resolve, reject) => {
      const child = spawn('nsenter', ['-t', String(node.nsPid), '-m', '-u', '-p', '--wd=/', ...argv], {
        detached: true,
        stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        // /run/bin first: a test can put stand-in tools on one node (e.g. a fake systemctl)
        env: { PATH: `/run/bin:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: '/root', ...options.env },
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout!.on('data', (c: Buffer) => {
        out.push(c);
        options.onStdout?.(c);
      });
      child.stderr!.on('data', (c: Buffer) => {
        err.push(c);
        options.onStderr?.(c);
      });
      if (options.stdin !== undefined) child.stdin!.end(options.stdin);
      let timedOut = false;
      const killGroup = () => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {}
      };
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              killGroup();
            }, options.timeoutMs);
      const onAbort = () => killGroup();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      child.on('error', reject);
      child.on('close', (code, sig) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (timedOut) {
          reject(new NxcError('NXC_TIMEOUT', `${host}: command timed out after ${options.timeoutMs} ms`));
          return;
        }
        resolve({
          exitCode: code ?? 128 + (sig === 'SIGKILL' ? 9 : 15),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        });
      });
    });
  }

  async shell(): Promise<ShellSession> {
    throw new Error('local transport: no interactive shell');
  }

  async copyTo(host: string, localPath: string, remotePath: string): Promise<void> {
    const r = await this.exec(host, ['cp', '-r', localPath, remotePath]);
    if (r.exitCode !== 0) throw new Error(`copyTo ${host}: ${r.stderr}`);
  }

  async copyFrom(host: string, remotePath: string, localPath: string): Promise<void> {
    const r = await this.exec(host, ['cp', '-r', remotePath, localPath]);
    if (r.exitCode !== 0) throw new Error(`copyFrom ${host}: ${r.stderr}`);
  }

  /** Node control as a flavour would give: crash kills the node's namespaces. */
  control(): NodeControl {
    return {
      crash: async (host) => {
        const n = this.get(host);
        n.down = true;
        n.holder.kill('SIGKILL');
        try {
          process.kill(n.nsPid, 'SIGKILL');
        } catch {}
      },
    };
  }

  /** Kills every node (and everything started in it) and removes the folders. */
  async close(): Promise<void> {
    for (const n of this.nodes.values()) {
      try {
        process.kill(n.nsPid, 'SIGKILL');
      } catch {}
      n.holder.kill('SIGKILL');
    }
    this.nodes.clear();
    await rm(this.root, { recursive: true, force: true });
  }
}
