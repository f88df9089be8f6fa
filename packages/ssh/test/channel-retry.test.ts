/**
 * A session channel the server refuses, or closes before answering: the transport opens
 * another one (a few times) for SFTP and for commands marked repeatable (dropbear may close it
 * after starting the command), instead of failing. dropbear before
 * 2024.86 closes fresh channels when another channel of the connection changes state at the
 * same moment, which broke relays and pushes on loaded machines. The server here is a real
 * SSH server (ssh2's server side on loopback) that refuses the first requests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type SessionBehaviour, useLyingNode } from './lying-sftp-server.js';

const lying = useLyingNode('n1');
const node = (behaviour: SessionBehaviour) =>
  lying.node({ '/data.txt': { kind: 'file', content: 'the artifact\n' } }, behaviour);

describe('session channels refused before anything started', () => {
  it('runs a command once after the server refused its first two channels', async () => {
    const t = await node({ refuseExec: 2 });
    const r = await t.exec('n1', 'echo hello', { repeatable: true });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('ran: ');
    expect(r.stdout).toContain('echo hello');
    expect(lying.server()?.requests.exec).toBe(3);
    expect(lying.server()?.requests.ran).toHaveLength(1);
  });

  it('does not open another channel for a command not marked repeatable (it may have started)', async () => {
    const t = await node({ refuseExec: 1 });
    const error = await t.exec('n1', 'echo hello').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toBe('node "n1": cannot open an SSH channel: Unable to exec');
    expect(lying.server()?.requests.exec).toBe(1);
  });

  it('gives up after six refusals with one clear error', async () => {
    const t = await node({ refuseExec: 100 });
    const error = await t.exec('n1', 'echo hello', { repeatable: true }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toBe('node "n1": cannot open an SSH channel: Unable to exec');
    expect(lying.server()?.requests.exec).toBe(6);
    expect(lying.server()?.requests.ran).toHaveLength(0);
  });

  it('starts SFTP after the server refused its first subsystem request', async () => {
    const t = await node({ refuseSftp: 1 });
    const dest = join(lying.work(), 'copied.txt');
    await t.copyFrom('n1', '/data.txt', dest);
    expect(readFileSync(dest, 'utf8')).toBe('the artifact\n');
    expect(lying.server()?.requests.sftp).toBe(2);
  });

  it('starts SFTP after the server closed its first sessions before the version exchange', async () => {
    const t = await node({ dropSftp: 2 });
    const dest = join(lying.work(), 'copied.txt');
    await t.copyFrom('n1', '/data.txt', dest);
    expect(readFileSync(dest, 'utf8')).toBe('the artifact\n');
    expect(lying.server()?.requests.sftp).toBe(3);
  });

  it('says SFTP is not available when every subsystem request is refused', async () => {
    const t = await node({ refuseSftp: 100 });
    const error = await t.copyFrom('n1', '/data.txt', join(lying.work(), 'never.txt')).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toBe('node "n1": SFTP is not available: Unable to start subsystem: sftp');
    expect(lying.server()?.requests.sftp).toBe(6);
  });

  it('fails the command with one clear error when the connection closed before the next attempt', async () => {
    const t = await node({ refuseExec: 1, hangUpAfterRefusal: true });
    const error = await t.exec('n1', 'echo hello', { repeatable: true }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    // the reason the connection went, not ssh2's "No response from server" / "Not connected"
    expect(error?.message).toBe(
      'node "n1": cannot open an SSH channel: the SSH connection closed (the server hung up)',
    );
    expect(lying.server()?.requests.ran).toHaveLength(0);
  });

  it('fails SFTP with one clear error when the connection closed before the next attempt', async () => {
    const t = await node({ refuseSftp: 1, hangUpAfterRefusal: true });
    const error = await t.copyFrom('n1', '/data.txt', join(lying.work(), 'never.txt')).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toBe(
      'node "n1": SFTP is not available: the SSH connection closed (the server hung up)',
    );
  });
});

describe('a connection lost while a command runs', () => {
  it('ends the command with 255 and a line saying the connection closed, and why', async () => {
    const t = await node({ hangUpDuringExec: true });
    const r = await t.exec('n1', 'sleep 100');
    expect(r.exitCode).toBe(255);
    expect(r.stdout).toContain('ran: ');
    expect(r.stderr).toBe(
      'nxc: the SSH connection to n1 closed before the command ended (the server hung up)\n',
    );
  });
});
