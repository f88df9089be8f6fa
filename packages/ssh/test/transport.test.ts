/** The SSH layer against a real dropbear server on loopback. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HostKeyStore,
  SshTransport,
  describeFailures,
  execAll,
  fanOut,
  fingerprint,
  waitForSsh,
} from '../src/index.js';
import { type TestSshServer, freePort, startSilentListener, startTestSshServer } from './ssh-server.js';

let server: TestSshServer;
let silent: Awaited<ReturnType<typeof startSilentListener>>;
let work: string;

beforeAll(async () => {
  server = await startTestSshServer();
  silent = await startSilentListener();
  work = mkdtempSync(join(tmpdir(), 'nxc-ssh-copy-'));
});
afterAll(async () => {
  await server?.stop();
  server?.cleanup();
  await silent?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function transport(
  hostKeys = new HostKeyStore({}, { learn: true }),
  extra: Record<string, { address: string; port: number }> = {},
  keyPath = server.keyPath,
): SshTransport {
  return new SshTransport({
    nodes: { node1: { address: '127.0.0.1', port: server.port }, ...extra },
    privateKey: keyPath,
    hostKeys,
    connectTimeoutMs: 3000,
  });
}

describe('waitForSsh', () => {
  it('returns the banner of a real server', async () => {
    const r = await waitForSsh('127.0.0.1', server.port, { timeoutMs: 5000 });
    expect(r.banner).toMatch(/^SSH-2\.0-dropbear/);
  });

  it('gives up at the deadline on a port that accepts but never speaks', async () => {
    const t0 = Date.now();
    await expect(
      waitForSsh('127.0.0.1', silent.port, { timeoutMs: 1500, probeTimeoutMs: 400, name: 'vm "client1"' }),
    ).rejects.toMatchObject({
      code: 'NXC_NODE_UNREACHABLE',
      message: expect.stringContaining('vm "client1"'),
    });
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('stops at once when the check reports the node dead', async () => {
    const port = await freePort();
    await expect(
      waitForSsh('127.0.0.1', port, { timeoutMs: 60_000, check: () => 'qemu exited with code 1' }),
    ).rejects.toMatchObject({
      code: 'NXC_NODE_FAILED',
      message: expect.stringContaining('qemu exited with code 1'),
    });
  });
});

describe('SshTransport', () => {
  it('runs strings under sh -c, argv quoted, with exit code, stderr, stdin, env and streamed output', async () => {
    const t = transport();
    try {
      const chunks: string[] = [];
      const r = await t.exec(
        'node1',
        'echo out; echo err >&2; read x; echo "got $x $FOO" | tr a-z A-Z; exit 3',
        {
          stdin: 'hello\n',
          env: { FOO: "it's" },
          onStdout: (d) => chunks.push(d.toString()),
        },
      );
      expect(r).toEqual({ exitCode: 3, stdout: "out\nGOT HELLO IT'S\n", stderr: 'err\n' });
      expect(chunks.join('')).toBe(r.stdout);
      const a = await t.exec('node1', ['printf', '%s|', 'a b', "c'd", '$HOME', '']);
      expect(a.stdout).toBe("a b|c'd|$HOME||");
    } finally {
      await t.close();
    }
  });

  it('pools one connection per node', async () => {
    const t = transport();
    try {
      const a = await t.exec('node1', 'echo $SSH_CLIENT');
      const b = await t.exec('node1', 'echo $SSH_CLIENT');
      expect(a.stdout.trim()).not.toBe('');
      expect(b.stdout).toBe(a.stdout);
      expect(await t.connection('node1')).toBe(await t.connection('node1'));
    } finally {
      await t.close();
    }
  });

  it('times out and aborts commands, killing them on the node', async () => {
    const t = transport();
    try {
      const t0 = Date.now();
      await expect(t.exec('node1', 'sleep 41', { timeoutMs: 500 })).rejects.toMatchObject({
        code: 'NXC_TIMEOUT',
      });
      expect(Date.now() - t0).toBeLessThan(2500);
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 300);
      await expect(t.exec('node1', 'sleep 42', { signal: ac.signal })).rejects.toMatchObject({
        code: 'NXC_INTERRUPTED',
      });
      let left = '';
      for (let i = 0; i < 20; i++) {
        left = (await t.exec('node1', 'ps -eo args | grep -E "^sleep 4[12]$" || true')).stdout;
        if (!left) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(left).toBe('');
      // the pooled connection is still usable
      expect((await t.exec('node1', 'echo ok')).stdout).toBe('ok\n');
    } finally {
      await t.close();
    }
  });

  it('opens an interactive shell with a PTY that follows resizes', async () => {
    const t = transport();
    try {
      const stdin = new PassThrough();
      const stdout = new PassThrough();
      let out = '';
      stdout.on('data', (d) => {
        out += d.toString();
      });
      const s = await t.shell('node1', { stdin, stdout, columns: 91, rows: 33 });
      const waitFor = async (re: RegExp): Promise<void> => {
        for (let i = 0; i < 100 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 50));
        expect(out).toMatch(re);
      };
      stdin.write('stty size; tty\n');
      await waitFor(/33 91/);
      await waitFor(/\/dev\/pts\//);
      s.resize(120, 40);
      stdin.write('stty size\n');
      await waitFor(/40 120/);
      stdin.write('exit 7\n');
      expect(await s.exited).toBe(7);
    } finally {
      await t.close();
    }
  });

  it('copies files and directory trees both ways over SFTP', async () => {
    const t = transport();
    try {
      const src = join(work, 'src');
      mkdirSync(join(src, 'sub', 'deeper'), { recursive: true });
      writeFileSync(join(src, 'a.txt'), 'alpha\n');
      writeFileSync(join(src, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
      writeFileSync(join(src, 'sub', 'deeper', 'big.bin'), Buffer.alloc(3 * 1024 * 1024, 7));
      const remote = join(server.dir, 'remote-copy');
      await t.copyTo('node1', src, remote);
      const ls = await t.exec(
        'node1',
        `cd ${remote} && find . -type f | sort && ./run.sh && wc -c < sub/deeper/big.bin`,
      );
      expect(ls.stdout).toBe('./a.txt\n./run.sh\n./sub/deeper/big.bin\nhi\n3145728\n');
      await t.copyTo('node1', join(src, 'a.txt'), `${remote}/single.txt`);
      expect((await t.exec('node1', `cat ${remote}/single.txt`)).stdout).toBe('alpha\n');
      const back = join(work, 'back');
      await t.copyFrom('node1', remote, back);
      expect(
        readFileSync(join(back, 'sub', 'deeper', 'big.bin')).equals(Buffer.alloc(3 * 1024 * 1024, 7)),
      ).toBe(true);
      expect(statSync(join(back, 'run.sh')).mode & 0o777).toBe(0o755);
      await t.copyFrom('node1', `${remote}/a.txt`, join(work, 'one.txt'));
      expect(readFileSync(join(work, 'one.txt'), 'utf8')).toBe('alpha\n');
      await expect(t.copyFrom('node1', '/nonexistent/x', join(work, 'x'))).rejects.toMatchObject({
        code: 'NXC_IO',
      });
      await expect(t.copyTo('node1', join(work, 'missing'), '/tmp/x')).rejects.toMatchObject({
        code: 'NXC_IO',
      });
    } finally {
      await t.close();
    }
  });

  it('learns host keys at start, checks them afterwards and refuses a changed one', async () => {
    const learnt: string[] = [];
    const startKeys = new HostKeyStore({}, { learn: true, onLearn: (h) => learnt.push(h) });
    const t1 = transport(startKeys);
    await t1.exec('node1', 'true');
    await t1.close();
    expect(learnt).toEqual(['node1']);
    expect(startKeys.toJSON()).toEqual({ node1: server.hostKeyLine });
    const fp = execFileSync('ssh-keygen', ['-lf', '-'], { input: `${server.hostKeyLine}\n` })
      .toString()
      .split(' ')[1];
    expect(fingerprint(server.hostKeyLine)).toBe(fp);

    // later commands: same key accepted
    const t2 = transport(new HostKeyStore(startKeys.toJSON()));
    expect((await t2.exec('node1', 'echo same')).stdout).toBe('same\n');
    await t2.close();
    // a host the deployment never recorded is refused
    const t3 = transport(new HostKeyStore({}));
    await expect(t3.exec('node1', 'true')).rejects.toMatchObject({
      code: 'NXC_NODE_UNREACHABLE',
      message: expect.stringContaining('no host key recorded'),
    });
    await t3.close();
    // the machine behind the port changed its key: refused, naming both fingerprints
    const old = server.hostKeyLine;
    await server.regenerateHostKey();
    const t4 = transport(new HostKeyStore(startKeys.toJSON()));
    const err = await t4.exec('node1', 'true').catch((e: unknown) => e);
    await t4.close();
    expect(err).toMatchObject({
      code: 'NXC_NODE_UNREACHABLE',
      message: expect.stringContaining('host key changed'),
    });
    expect((err as Error).message).toContain(fingerprint(old));
    expect((err as Error).message).toContain(fingerprint(server.hostKeyLine));
  });

  it('reports unknown nodes, refused keys, closed and silent ports as one clear error each', async () => {
    const dead = await freePort();
    const other = join(work, 'other_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const t = transport(undefined, {
      dead: { address: '127.0.0.1', port: dead },
      silent: { address: '127.0.0.1', port: silent.port },
    });
    const wrong = transport(undefined, {}, other);
    try {
      await expect(t.exec('nope', 'true')).rejects.toMatchObject({
        code: 'NXC_NODE_UNKNOWN',
        message: expect.stringContaining('node1'),
      });
      await expect(t.exec('dead', 'true')).rejects.toMatchObject({
        code: 'NXC_NODE_UNREACHABLE',
        message: expect.stringMatching(/dead.*ECONNREFUSED/),
      });
      const t0 = Date.now();
      await expect(t.exec('silent', 'true')).rejects.toMatchObject({
        code: 'NXC_NODE_UNREACHABLE',
        message: expect.stringContaining('silent'),
      });
      expect(Date.now() - t0).toBeLessThan(6000);
      await expect(wrong.exec('node1', 'true')).rejects.toMatchObject({
        code: 'NXC_NODE_UNREACHABLE',
        message: expect.stringContaining('refused the SSH key'),
      });
    } finally {
      await t.close();
      await wrong.close();
    }
  });

  it('rejects, instead of hanging, when the peer closes after its banner', async () => {
    const { createServer } = await import('node:net');
    const hangUp = createServer((socket) => socket.end('SSH-2.0-closing\r\n'));
    await new Promise<void>((resolve) => hangUp.listen(0, '127.0.0.1', resolve));
    const port = (hangUp.address() as { port: number }).port;
    const t = transport(new HostKeyStore({}, { learn: true }), { closing: { address: '127.0.0.1', port } });
    try {
      await expect(t.exec('closing', 'true')).rejects.toMatchObject({
        message: expect.stringMatching(
          /node "closing" .* (closed the SSH connection before login completed|is unreachable)/,
        ),
      });
    } finally {
      await t.close();
      hangUp.close();
    }
  });

  it('fans out with a bounded width and one OK / FAILED / UNREACHABLE verdict per node', async () => {
    const dead = await freePort();
    const t = transport(undefined, {
      node2: { address: '127.0.0.1', port: server.port },
      dead: { address: '127.0.0.1', port: dead },
    });
    try {
      let running = 0;
      let peak = 0;
      const out = await fanOut(
        ['node1', 'node2', 'dead'],
        async (h) => {
          running++;
          peak = Math.max(peak, running);
          try {
            const r = await t.exec(
              h,
              h === 'node2' ? 'echo disk full >&2; exit 4' : 'hostname >/dev/null; echo fine',
            );
            if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}: ${r.stderr.trim()}`);
            return r.stdout.trim();
          } finally {
            running--;
          }
        },
        { concurrency: 2 },
      );
      expect(peak).toBe(2);
      expect(out.map((o) => o.status)).toEqual(['OK', 'FAILED', 'UNREACHABLE']);
      expect(out[0]).toMatchObject({ value: 'fine' });
      expect(describeFailures(out)).toEqual([
        'node2: FAILED (exit 4: disk full)',
        expect.stringMatching(/^dead: UNREACHABLE \(.*ECONNREFUSED/),
      ]);
      const all = await execAll(t, ['node1', 'node2'], 'echo nope >&2; exit 2');
      expect(all.map((o) => [o.host, o.status, o.status === 'OK' ? '' : o.reason])).toEqual([
        ['node1', 'FAILED', 'exit 2: nope'],
        ['node2', 'FAILED', 'exit 2: nope'],
      ]);
    } finally {
      await t.close();
    }
  });
});
