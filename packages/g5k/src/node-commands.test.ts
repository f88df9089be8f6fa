// The shell commands of the kexec engine that run on a machine (checking a copy, the kexec step),
// each run by a real /bin/sh; the kexec step with a `kexec` stand-in first on the PATH that records what `kexec -l` was given (the initrd's bytes and mode at load time).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { corruptDigest, kexecStepCommand, kexecStepFailure, verifyCommand } from './kexec-deploy.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nxc-kexec-step-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A `kexec` that copies the initrd it is given at -l, exits KEXEC_RC, and marks -e. */
async function standIn(loadStatus = 0): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin);
  await writeFile(
    join(bin, 'kexec'),
    `#!/bin/sh
case $1 in
  -l) for a; do case $a in --initrd=*) f=\${a#--initrd=}; cp "$f" "${dir}/loaded"; stat -c %a "$f" > "${dir}/mode" ;; esac; done
      echo "cannot load: no memory" >&2; exit ${loadStatus} ;;
  -e) : > "${dir}/executed" ;;
esac
`,
  );
  await chmod(join(bin, 'kexec'), 0o755);
  return bin;
}

function run(command: string, stdin: Buffer, path: string) {
  return new Promise<{ exitCode: number; stdout: string; stderr: string }>((resolve, reject) => {
    const p = spawn('/bin/sh', ['-c', command], { env: { PATH: path } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    p.on('error', reject);
    p.on('close', (code) => resolve({ exitCode: code ?? -1, stdout, stderr }));
    // a step that fails early (no kexec) exits without reading its stdin: EPIPE is its answer, not an error
    p.stdin.on('error', () => {});
    p.stdin.end(stdin);
  });
}

const original = Buffer.from('070701 the pushed initrd, 37 bytes.');
const key = Buffer.concat([Buffer.alloc(3), Buffer.from('070701 nxc/ssh_host_ed25519_key')]);

async function waitFor(file: string): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (await stat(file).catch(() => undefined)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe('the kexec step on a machine (one command)', () => {
  it('loads the initrd with the key appended, privately, then restores it and starts kexec -e', async () => {
    const bin = await standIn(0);
    const initrd = join(dir, 'initrd');
    await writeFile(initrd, original, { mode: 0o644 });
    const r = await run(
      kexecStepCommand(`'${initrd}'`, original.length, `kexec -l /k '--initrd=${initrd}'`),
      key,
      `${bin}:/usr/bin:/bin`,
    );
    expect(r).toMatchObject({ exitCode: 0 });
    expect(await readFile(join(dir, 'loaded'))).toEqual(Buffer.concat([original, key]));
    expect((await readFile(join(dir, 'mode'), 'utf8')).trim()).toBe('600');
    // the pushed file is what it was: the next deployment finds it up to date
    expect(await readFile(initrd)).toEqual(original);
    expect(await waitFor(join(dir, 'executed'))).toBe(true);
  });

  it('restores the initrd and names kexec -l as the failure when the load fails; no kexec -e', async () => {
    const bin = await standIn(3);
    const initrd = join(dir, 'initrd');
    await writeFile(initrd, original);
    const r = await run(
      kexecStepCommand(`'${initrd}'`, original.length, `kexec -l /k '--initrd=${initrd}'`),
      key,
      `${bin}:/usr/bin:/bin`,
    );
    expect(r.exitCode).toBe(3);
    expect(kexecStepFailure(r)).toBe('`kexec` exited 3: cannot load: no memory');
    expect(await readFile(initrd)).toEqual(original);
    await new Promise((res) => setTimeout(res, 1500));
    expect(await stat(join(dir, 'executed')).catch(() => undefined)).toBeUndefined();
  });

  it('says kexec is not installed, and touches nothing', async () => {
    const initrd = join(dir, 'initrd');
    await writeFile(initrd, original, { mode: 0o644 });
    const r = await run(
      kexecStepCommand(`'${initrd}'`, original.length, `kexec -l /k '--initrd=${initrd}'`),
      key,
      '/nonexistent',
    );
    expect(kexecStepFailure(r)).toBe('kexec is not installed on the machine (kexec-tools)');
    expect(await readFile(initrd)).toEqual(original);
    expect((await stat(initrd)).mode & 0o777).toBe(0o644);
  });

  it('says the key could not be added when the initrd is missing', async () => {
    const bin = await standIn(0);
    const r = await run(
      kexecStepCommand(`'${join(dir, 'gone')}'`, original.length, 'kexec -l /k'),
      key,
      `${bin}:/usr/bin:/bin`,
    );
    expect(kexecStepFailure(r)).toMatch(/^cannot add the node's host key to its initrd: .*gone/);
  });
});

describe('checking a copy on a machine (one command)', () => {
  const data = Buffer.from('kernel bytes');
  const sum = createHash('sha256').update(data).digest('hex');

  it('moves a copy whose SHA-256 is right in place', async () => {
    const part = join(dir, 'kernel.part-m');
    await writeFile(part, data);
    const r = await run(
      verifyCommand(`'${part}'`, `'${join(dir, 'kernel')}'`, sum),
      Buffer.alloc(0),
      '/usr/bin:/bin',
    );
    expect(r.exitCode).toBe(0);
    expect(corruptDigest(r.stdout)).toBeUndefined();
    expect(await readFile(join(dir, 'kernel'))).toEqual(data);
    expect(await stat(part).catch(() => undefined)).toBeUndefined();
  });

  it('deletes a corrupted copy and says what it holds; the previous file stays', async () => {
    const part = join(dir, 'kernel.part-m');
    await writeFile(part, 'altered');
    await writeFile(join(dir, 'kernel'), 'previous');
    const r = await run(
      verifyCommand(`'${part}'`, `'${join(dir, 'kernel')}'`, sum),
      Buffer.alloc(0),
      '/usr/bin:/bin',
    );
    expect(r.exitCode).toBe(0);
    expect(corruptDigest(r.stdout)).toBe(createHash('sha256').update('altered').digest('hex'));
    expect(await stat(part).catch(() => undefined)).toBeUndefined();
    expect(await readFile(join(dir, 'kernel'), 'utf8')).toBe('previous');
  });

  it('fails with one line when the copy is missing and the file in place is not the expected one', async () => {
    await writeFile(join(dir, 'kernel'), 'stale');
    const r = await run(
      verifyCommand(`'${join(dir, 'gone')}'`, `'${join(dir, 'kernel')}'`, sum),
      Buffer.alloc(0),
      '/usr/bin:/bin',
    );
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toMatch(/^the copy .*gone' is gone and .*kernel' is not the expected file$/);
  });

  it('is safe to run twice at once (an SSH channel retry may): both succeed, the file is in place', async () => {
    for (let i = 0; i < 20; i++) {
      const part = join(dir, `kernel.part-${i}`);
      const final = join(dir, `kernel-${i}`);
      await writeFile(part, data);
      const command = verifyCommand(`'${part}'`, `'${final}'`, sum);
      const both = await Promise.all([
        run(command, Buffer.alloc(0), '/usr/bin:/bin'),
        run(command, Buffer.alloc(0), '/usr/bin:/bin'),
      ]);
      for (const r of both) {
        expect(r.exitCode, r.stderr).toBe(0);
        expect(corruptDigest(r.stdout)).toBeUndefined();
      }
      expect(await readFile(final)).toEqual(data);
    }
  });

  it('refuses a digest that is not one (it is written into a shell command)', () => {
    expect(() => verifyCommand("'p'", "'f'", '0; reboot')).toThrow(/not a SHA-256 digest/);
  });
});
