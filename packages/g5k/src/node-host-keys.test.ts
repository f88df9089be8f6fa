import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostKeyInitrd, newNodeHostKey, rememberHostKey, rememberedHostKey } from './node-host-keys.js';

const work = mkdtempSync(join(tmpdir(), 'nxc-host-key-initrd-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the host key a node receives with its initrd', () => {
  it('is a newc archive cpio extracts, with both key formats and safe modes', () => {
    const key = newNodeHostKey('server');
    const archive = hostKeyInitrd(key, 4096);
    expect(archive.subarray(0, 6).toString()).toBe('070701');
    const out = join(work, 'x');
    execFileSync('mkdir', ['-p', out]);
    execFileSync('cpio', ['-i', '-d', '--quiet', '--no-absolute-filenames'], { cwd: out, input: archive });
    expect(statSync(join(out, 'nxc')).mode & 0o777).toBe(0o700);
    expect(statSync(join(out, 'nxc/ssh_host_ed25519_key')).mode & 0o777).toBe(0o600);
    const publicLine = execFileSync('ssh-keygen', ['-y', '-f', join(out, 'nxc/ssh_host_ed25519_key')], {
      encoding: 'utf8',
    }).trim();
    expect(publicLine.split(' ').slice(0, 2).join(' ')).toBe(key.record);
    expect(readFileSync(join(out, 'nxc/ssh_host_ed25519_key.pub'), 'utf8')).toMatch(
      `${key.record} nxc-host-key@server`,
    );
    const dropbear = execFileSync('dropbearkey', ['-y', '-f', join(out, 'nxc/dropbear_ed25519_host_key')], {
      encoding: 'utf8',
    });
    expect(dropbear).toContain(key.record);
  });

  it('starts on a 4-byte boundary after the initrd (zeros first), as the kernel needs', () => {
    const key = newNodeHostKey('n');
    for (const size of [4096, 4097, 4098, 4099]) {
      const archive = hostKeyInitrd(key, size);
      const zeros = (4 - (size % 4)) % 4;
      expect([...archive.subarray(0, zeros)]).toEqual(Array(zeros).fill(0));
      expect(archive.subarray(zeros, zeros + 6).toString()).toBe('070701');
      expect((size + archive.length) % 4).toBe(0);
    }
  });

  it('is remembered per machine, privately', async () => {
    const dir = join(work, 'keys');
    const key = newNodeHostKey('n');
    expect(await rememberedHostKey('node-1', dir)).toBeUndefined();
    await rememberHostKey('node-1', key.record, '10.0.0.1 server', dir);
    expect(await rememberedHostKey('node-1', dir)).toEqual({ record: key.record, file: join(dir, 'node-1') });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    await rememberHostKey('../escape', key.record, 'x', dir);
    expect(() => statSync(join(work, 'escape'))).toThrow();
    writeFileSync(join(dir, 'node-2'), 'garbage\n');
    expect(await rememberedHostKey('node-2', dir)).toBeUndefined();
  });
});
