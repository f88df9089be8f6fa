import { describe, expect, it } from 'vitest';
import { checkPushPath, kexecDeploy } from './kexec-deploy.js';

const identity = { privateKeyPath: '/nonexistent/id_ed25519', publicKey: 'ssh-ed25519 AAAA test' };

describe('pushPath (runs in root shells on the nodes)', () => {
  it.each([
    '/tmp/x;touch /pwned',
    '/tmp/$(id)',
    '/tmp/`id`',
    '/tmp/a b',
    "/tmp/it's",
    '/tmp/x|sh',
    '/tmp/x&',
    '/tmp/x\nid',
    'tmp/relative',
    '/tmp/../etc',
    '/',
    '',
  ])('refuses %j before touching anything', async (pushPath) => {
    let written = false;
    const run = kexecDeploy({
      targets: [{ machine: 'node-1', address: '192.0.2.1', role: 'server', host: 'server' }],
      kernel: '/nonexistent/kernel',
      initrd: '/nonexistent/initrd',
      identity,
      pushPath,
      writeDeployment: async () => {
        written = true;
        throw new Error('must not be called');
      },
    });
    await expect(run).rejects.toMatchObject({
      code: 'NXC_USAGE',
      message: expect.stringMatching(/^--push-path .* must be an absolute path made of letters, digits/),
    });
    expect(written).toBe(false);
  });

  it.each(['/tmp/nxc-kexec', '/home/alice/.cache/nxc_1.2+x', '/dev/shm/k'])('accepts %s', (p) => {
    expect(checkPushPath(p)).toBe(p);
  });
});
