import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shellQuote } from '@nxc/ssh';
import { describe, expect, it } from 'vitest';
import {
  DistributionPlan,
  LISTENING_MARK,
  NETCAT_PROBE,
  type Netcat,
  parseNetcat,
  receiverCommand,
  senderCommand,
} from './distribute.js';
import { sharedCandidates } from './kexec-deploy.js';

const node = (id: string, relayCapable = true) => ({ id, relayCapable });

describe('DistributionPlan', () => {
  it('the frontend seeds one machine; then every holder serves one machine at a time (a doubling tree)', () => {
    const plan = new DistributionPlan('auto');
    for (const id of ['a', 'b', 'c', 'd', 'e']) plan.want(node(id));
    expect(plan.next()).toEqual([{ to: 'a', assignment: { kind: 'frontend', fallback: false } }]);
    // nothing else while the seed is in flight
    expect(plan.next()).toEqual([]);
    plan.finished('a', true);
    expect(plan.next()).toEqual([{ to: 'b', assignment: { kind: 'relay', from: 'a' } }]);
    plan.finished('b', true, { id: 'a', ok: true });
    expect(plan.next()).toEqual([
      { to: 'c', assignment: { kind: 'relay', from: 'a' } },
      { to: 'd', assignment: { kind: 'relay', from: 'b' } },
    ]);
    plan.finished('c', true, { id: 'a', ok: true });
    expect(plan.next()).toEqual([{ to: 'e', assignment: { kind: 'relay', from: 'a' } }]);
    expect(plan.pending).toBe(0);
  });

  it('a machine whose parent failed falls back to the frontend; the failed parent serves no more', () => {
    const plan = new DistributionPlan('auto');
    plan.holds(node('a'));
    plan.want(node('b'));
    plan.want(node('c'));
    expect(plan.next()).toEqual([{ to: 'b', assignment: { kind: 'relay', from: 'a' } }]);
    plan.finished('b', false, { id: 'a', ok: false });
    plan.want(node('b'), true);
    // c: no holder and a push in flight to a relay-capable machine? b's fallback is a push:
    // c waits for b rather than costing the frontend a second copy
    expect(plan.next()).toEqual([{ to: 'b', assignment: { kind: 'frontend', fallback: true } }]);
    plan.finished('b', true);
    expect(plan.next()).toEqual([{ to: 'c', assignment: { kind: 'relay', from: 'b' } }]);
  });

  it('a machine relayed again after a failed relay gets another holder when one is free, else the same', () => {
    const plan = new DistributionPlan('auto');
    plan.holds(node('a'));
    plan.holds(node('b'));
    plan.want(node('c'));
    expect(plan.next()).toEqual([{ to: 'c', assignment: { kind: 'relay', from: 'a' } }]);
    plan.finished('c', false, { id: 'a', ok: true });
    plan.want(node('c'), false, 'a');
    expect(plan.next()).toEqual([{ to: 'c', assignment: { kind: 'relay', from: 'b' } }]);
    plan.finished('c', false, { id: 'b', ok: true });
    // only the holder to avoid is free: it serves rather than nobody
    plan.drop('a');
    plan.want(node('c'), false, 'b');
    expect(plan.next()).toEqual([{ to: 'c', assignment: { kind: 'relay', from: 'b' } }]);
  });

  it('machines without netcat, and the direct mode, get pushes from the frontend', () => {
    const plan = new DistributionPlan('auto');
    plan.holds(node('a'));
    plan.want(node('b', false));
    expect(plan.next()).toEqual([{ to: 'b', assignment: { kind: 'frontend', fallback: false } }]);
    const direct = new DistributionPlan('direct');
    direct.holds(node('a'));
    direct.want(node('b'));
    direct.want(node('c'));
    expect(direct.next().map((x) => x.assignment.kind)).toEqual(['frontend', 'frontend']);
  });

  it('a dropped holder (it left to kexec) is not used', () => {
    const plan = new DistributionPlan('auto');
    plan.holds(node('a'));
    plan.drop('a');
    plan.want(node('b'));
    expect(plan.next()).toEqual([{ to: 'b', assignment: { kind: 'frontend', fallback: false } }]);
  });
});

/** busybox's shell with a PATH holding busybox and a few applets, but no `nc`. */
function sh(bin: string, script: string): Promise<number> {
  return new Promise((resolve) => {
    const child = execFile('/bin/busybox', ['sh', '-c', script], { env: { PATH: bin } });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

/**
 * `script` run by dash (Debian's /bin/sh, what SSH runs the commands with on a standard
 * environment: busybox's own sh would run its `nc` applet whatever `nc` the PATH holds), with
 * its output; killed (code 'killed') when it outlives `ms`.
 */
function shOut(bin: string, script: string, ms: number): Promise<{ code: number | 'killed'; out: string }> {
  return new Promise((resolve) => {
    let out = '';
    let killed = false;
    // a process group of its own: a netcat left waiting is killed with its shell
    const child = spawn('/bin/dash', ['-c', script], { env: { PATH: bin }, detached: true });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => {
      killed = true;
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, ms);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: killed ? 'killed' : (code ?? 1), out });
    });
  });
}

/** A PATH folder in `dir` with busybox and the applets the relay commands use, but no `nc`. */
async function busyboxBin(dir: string): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin);
  for (const applet of ['busybox', 'rm', 'mkfifo', 'sleep', 'grep'])
    await symlink('/bin/busybox', join(bin, applet));
  return bin;
}

describe('relay commands (real busybox netcat on the loopback)', () => {
  it('parses the netcat probe', () => {
    expect(parseNetcat('x\nNXC-NC:busybox\n')).toBe('busybox');
    expect(parseNetcat('NXC-NC:openbsd')).toBe('openbsd');
    expect(parseNetcat('nothing')).toBe('none');
  });

  it('the receiver says when it listens (the kernel shows the port), before any sender', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nxc-relay-'));
    try {
      const bin = await busyboxBin(dir);
      const data = randomBytes(100_000);
      await writeFile(join(dir, 'src'), data);
      const port = 41_000 + Math.floor(Math.random() * 10_000);
      const part = join(dir, 'part');
      const child = execFile(
        '/bin/busybox',
        ['sh', '-c', receiverCommand('busybox', port, shellQuote(part), shellQuote(join(dir, 'fifo')))],
        { env: { PATH: bin } },
      );
      const closed = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes(LISTENING_MARK)) resolve();
        });
        child.on('close', () => reject(new Error(`the receiver ended without ${LISTENING_MARK}: ${out}`)));
      });
      // listening for real: a plain TCP connection (no retry) gets through at once
      await new Promise<void>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.end(data, resolve));
        socket.on('error', reject);
      });
      expect(await closed).toBe(0);
      expect((await readFile(part)).equals(data)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the receiver gets exactly what the sender sends, with busybox only (no nc on PATH), whatever starts first', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nxc-relay-'));
    try {
      const bin = await busyboxBin(dir);
      const data = randomBytes(3_000_000);
      await writeFile(join(dir, 'src'), data);
      for (const [i, senderFirst] of [false, true].entries()) {
        const port = 41_000 + Math.floor(Math.random() * 10_000) + i;
        const part = join(dir, `part${i}`);
        const recv = receiverCommand('busybox', port, shellQuote(part), shellQuote(join(dir, `fifo${i}`)));
        const send = senderCommand('busybox', '127.0.0.1', port, shellQuote(join(dir, 'src')));
        let sending: Promise<number> | undefined;
        if (senderFirst) sending = sh(bin, `sleep 0.5; ${send}`);
        const receiving = sh(bin, recv);
        sending ??= sh(bin, send);
        expect(await Promise.all([receiving, sending])).toEqual([0, 0]);
        expect((await readFile(part)).equals(data)).toBe(true);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The netcats a Grid'5000 standard environment (Debian) may have, as real binaries: busybox's
 * applet, OpenBSD's (package netcat-openbsd) and Hobbit's 1.10 (netcat-traditional, Priority
 * standard in Debian). scripts/setup.sh installs both packages.
 */
const NETCATS: Record<Exclude<Netcat, 'none'>, string> = {
  busybox: '/bin/busybox',
  openbsd: '/bin/nc.openbsd',
  traditional: '/bin/nc.traditional',
};

/** A PATH folder like {@link busyboxBin}'s, with `nc` being the given netcat. */
async function netcatBin(dir: string, kind: keyof typeof NETCATS): Promise<string> {
  const bin = await busyboxBin(dir);
  await symlink(NETCATS[kind], join(bin, 'nc'));
  return bin;
}

describe("relay commands with each netcat a machine may have (real busybox, OpenBSD and Debian's traditional netcat)", () => {
  it('the binaries are installed (scripts/setup.sh installs netcat-openbsd and netcat-traditional)', () => {
    for (const [kind, path] of Object.entries({ ...NETCATS, shell: '/bin/dash' }))
      expect(existsSync(path), `${kind} netcat: ${path} is missing; run scripts/setup.sh`).toBe(true);
  });

  it('the probe names each of them; an nc it does not know is none (the frontend pushes to that machine)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nxc-relay-'));
    try {
      for (const kind of Object.keys(NETCATS) as Array<keyof typeof NETCATS>) {
        await mkdir(join(dir, kind));
        const bin = await netcatBin(join(dir, kind), kind);
        const { out } = await shOut(bin, NETCAT_PROBE, 10_000);
        expect(parseNetcat(out), `probe with ${NETCATS[kind]} as nc: ${out}`).toBe(kind);
      }
      // busybox present, no nc on the PATH: its applet
      expect(
        parseNetcat(
          (await shOut(await busyboxBin(await mkdtemp(join(dir, 'b-'))), NETCAT_PROBE, 10_000)).out,
        ),
      ).toBe('busybox');
      // another netcat (its options and end of stream are not the relay's)
      const other = await busyboxBin(await mkdtemp(join(dir, 'o-')));
      await writeFile(
        join(other, 'nc'),
        '#!/bin/busybox sh\necho "Ncat: Version 7.93 ( https://nmap.org/ncat )"\n',
        {
          mode: 0o755,
        },
      );
      expect(parseNetcat((await shOut(other, NETCAT_PROBE, 10_000)).out)).toBe('none');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('every receiver gets the file from every sender, and both ends exit (no netcat left waiting)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nxc-relay-'));
    try {
      const data = randomBytes(3_000_000);
      await writeFile(join(dir, 'src'), data);
      const kinds = Object.keys(NETCATS) as Array<keyof typeof NETCATS>;
      const bins = new Map<string, string>();
      for (const kind of kinds) {
        await mkdir(join(dir, kind));
        bins.set(kind, await netcatBin(join(dir, kind), kind));
      }
      let i = 0;
      for (const receiver of kinds) {
        for (const sender of kinds) {
          i++;
          const port = 41_000 + Math.floor(Math.random() * 10_000);
          const part = join(dir, `part${i}`);
          const fifo = join(dir, `fifo${i}`);
          const receiving = shOut(
            bins.get(receiver)!,
            receiverCommand(receiver, port, shellQuote(part), shellQuote(fifo)),
            15_000,
          );
          const sending = shOut(
            bins.get(sender)!,
            senderCommand(sender, '127.0.0.1', port, shellQuote(join(dir, 'src'))),
            15_000,
          );
          const [r, s] = await Promise.all([receiving, sending]);
          const pair = `${sender} netcat sending to ${receiver} netcat`;
          expect(r.code, `${pair}: the receiver (${r.out})`).toBe(0);
          expect(s.code, `${pair}: the sender (${s.out})`).toBe(0);
          expect((await readFile(part)).equals(data), `${pair}: the copy differs`).toBe(true);
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('sharedCandidates (which frontend paths a machine may read from the shared home)', () => {
  it('the path as given and the file it resolves to; refused when writable by others', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nxc-shared-'));
    try {
      await chmod(dir, 0o755);
      await mkdir(join(dir, 'store'), { mode: 0o755 });
      await writeFile(join(dir, 'store/initrd'), 'x', { mode: 0o644 });
      await symlink(join(dir, 'store/initrd'), join(dir, 'initrd'));
      const artifacts = [{ name: 'initrd', local: join(dir, 'initrd') }];
      expect(await sharedCandidates(artifacts)).toEqual(
        new Map([['initrd', [join(dir, 'initrd'), join(dir, 'store/initrd')]]]),
      );
      // a file others may write
      await chmod(join(dir, 'store/initrd'), 0o664);
      expect(await sharedCandidates(artifacts)).toBeUndefined();
      await chmod(join(dir, 'store/initrd'), 0o644);
      // a folder anyone may write, without the sticky bit: anyone may swap the file
      await chmod(join(dir, 'store'), 0o777);
      expect(await sharedCandidates(artifacts)).toBeUndefined();
      // with the sticky bit (as /tmp): only the owner may replace it
      await chmod(join(dir, 'store'), 0o1777);
      expect((await sharedCandidates(artifacts))?.get('initrd')).toHaveLength(2);
      // a missing file
      expect(await sharedCandidates([{ name: 'kernel', local: join(dir, 'nope') }])).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
