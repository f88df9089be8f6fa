/**
 * A real SSH server for tests: Debian's dropbear on a loopback port, with a temporary host
 * key and the test's authorized key. Dropbear reads root's authorized_keys from root's home,
 * so it runs in a private mount namespace where a temporary directory is bind-mounted over
 * /root: the machine's real /root/.ssh is never read or written.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeSshBanner } from '../src/wait-for-ssh.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export function requireDropbear(): void {
  if (!existsSync('/usr/sbin/dropbear')) {
    throw new Error(
      'dropbear is not installed: run `apt-get install -y dropbear-bin openssh-sftp-server` (scripts/setup.sh should do it)',
    );
  }
  if (!existsSync('/usr/lib/sftp-server')) {
    throw new Error(
      'dropbear finds no SFTP server at /usr/lib/sftp-server: run `apt-get install -y openssh-sftp-server`',
    );
  }
  if (process.getuid?.() !== 0)
    throw new Error('the SSH server tests need root (private mount namespace for dropbear)');
}

export interface TestSshServer {
  dir: string;
  port: number;
  /** Test client private key path (OpenSSH ed25519). */
  keyPath: string;
  /** `ssh-ed25519 AAAA...` of the server's current host key. */
  hostKeyLine: string;
  /** Restart with a fresh host key on the same port. */
  regenerateHostKey(): Promise<void>;
  stop(): Promise<void>;
  /** Remove everything (call after stop). */
  cleanup(): void;
}

export async function startTestSshServer(): Promise<TestSshServer> {
  requireDropbear();
  const dir = mkdtempSync(join(tmpdir(), 'nxc-ssh-test-'));
  const home = join(dir, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  chmodSync(home, 0o700);
  const keyPath = join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nxc-test', '-f', keyPath]);
  writeFileSync(join(home, '.ssh', 'authorized_keys'), readFileSync(`${keyPath}.pub`), { mode: 0o600 });
  const port = await freePort();
  let proc: ChildProcess | undefined;
  let generation = 0;
  let hostKeyLine = '';

  const start = async (): Promise<void> => {
    generation++;
    const hk = join(dir, `host_key_${generation}`);
    execFileSync('dropbearkey', ['-t', 'ed25519', '-f', hk], { stdio: 'ignore' });
    hostKeyLine = execFileSync('dropbearkey', ['-y', '-f', hk])
      .toString()
      .split('\n')
      .find((l) => l.startsWith('ssh-'))!
      .split(' ')
      .slice(0, 2)
      .join(' ');
    proc = spawn(
      'unshare',
      [
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount --bind "$1" /root && exec /usr/sbin/dropbear -F -E -s -W 1048576 -r "$2" -p "127.0.0.1:$3" -P "$4"',
        'sh',
        home,
        hk,
        String(port),
        join(dir, 'dropbear.pid'),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    proc.stderr!.on('data', (d) => {
      err += d;
    });
    const t0 = Date.now();
    while (!(await probeSshBanner('127.0.0.1', port, 500))) {
      if (proc.exitCode !== null || Date.now() - t0 > 10_000)
        throw new Error(`dropbear did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  };
  await start();
  return {
    dir,
    port,
    keyPath,
    get hostKeyLine() {
      return hostKeyLine;
    },
    async regenerateHostKey() {
      await stop();
      await start();
    },
    stop,
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP listener that accepts and never speaks (what slirp and black-holed networks do). */
export async function startSilentListener(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  const srv = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    port: (srv.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}
