import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostKeyStore } from './host-keys.js';
import { SshTransport } from './transport.js';

const require = createRequire(import.meta.url);
const ssh2Loaded = () => Object.keys(require.cache).some((f) => f.includes('/node_modules/ssh2/'));

describe('SshTransport loads ssh2 when it first connects (issue #17: ~75 ms of every start)', () => {
  it('nothing of ssh2 is loaded by importing the transport or making one; the first connection loads it', async () => {
    // vitest runs each test file in its own process: nothing else loaded ssh2 here
    expect(ssh2Loaded()).toBe(false);
    const dir = mkdtempSync(join(tmpdir(), 'nxc-ssh-load-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id')]);
    const privateKey = readFileSync(join(dir, 'id'), 'utf8');
    rmSync(dir, { recursive: true, force: true });
    const transport = new SshTransport({
      nodes: { n1: { address: '127.0.0.1', port: 1 } },
      privateKey,
      hostKeys: new HostKeyStore({}),
      connectTimeoutMs: 5_000,
    });
    expect(transport.hosts()).toEqual(['n1']);
    expect(ssh2Loaded()).toBe(false);
    // port 1 refuses: the usual unreachable error, from ssh2's client
    await expect(transport.connection('n1')).rejects.toMatchObject({ code: 'NXC_NODE_UNREACHABLE' });
    expect(ssh2Loaded()).toBe(true);
    await transport.close();
  });
});
