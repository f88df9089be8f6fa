/**
 * copyFrom against a real container that lies: for tmpfs paths the archive comes from the
 * node's own `tar`, which a compromised container replaces (here a script printing crafted
 * archives: `..` names, absolute names, entries outside the copied path, a link to /etc
 * followed by a file through it, a hard link to /etc/passwd, set-uid files); through the
 * archive API, the container's real links. Nothing may land outside the destination, no
 * link is created, a refused copy leaves nothing behind.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerTransport } from '../src/transport.js';

const tag = `nxc-test-lying-tar:${process.pid}`;
const name = `nxc-lying-tar-security-host-${process.pid}`;
let work: string;
let transport: DockerTransport;

interface Entry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  content?: string;
  linkname?: string;
  mode?: number;
}

async function archive(entries: Entry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      ...(e.linkname ? { linkname: e.linkname } : {}),
    };
    pack.entry(header, type === 'file' ? (e.content ?? '') : undefined);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The lies the container's `tar` prints, by the basename it is asked for. */
const lies: Record<string, Entry[]> = {
  dotdot: [
    { name: 'dotdot/', type: 'directory' },
    { name: 'dotdot/ok.txt', content: 'ok\n' },
    { name: 'dotdot/../../pwned.txt', content: 'pwned\n' },
  ],
  absolute: [
    { name: 'absolute/', type: 'directory' },
    { name: `/tmp/nxc-docker-pwned-${process.pid}.txt`, content: 'pwned\n' },
  ],
  outside: [
    { name: 'outside/', type: 'directory' },
    { name: 'elsewhere/pwned.txt', content: 'pwned\n' },
  ],
  links: [
    { name: 'links/', type: 'directory' },
    { name: 'links/etc', type: 'symlink', linkname: '/etc' },
    { name: 'links/etc/pwned', content: 'through the link\n' },
    { name: 'links/hard', type: 'link', linkname: '/etc/passwd' },
    { name: 'links/up', type: 'symlink', linkname: '../../../..' },
    { name: 'links/suid', content: '#!/bin/sh\n', mode: 0o4755 },
    { name: 'links/ok.txt', content: 'ok\n' },
  ],
};

function listing(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string): void => {
    for (const n of readdirSync(d).sort()) {
      const full = join(d, n);
      const st = lstatSync(full);
      out.push(`${prefix}${n}${st.isSymbolicLink() ? ' -> link' : st.isDirectory() ? '/' : ''}`);
      if (st.isDirectory() && !st.isSymbolicLink()) walk(full, `${prefix}${n}/`);
    }
  };
  walk(root, '');
  return out;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'nxc-lying-tar-'));
  // a root file system: static busybox, a lying tar first on the PATH, the lies, real links
  const rootfs = join(work, 'rootfs');
  execFileSync('mkdir', [
    '-p',
    `${rootfs}/bin`,
    `${rootfs}/usr/local/bin`,
    `${rootfs}/lies`,
    `${rootfs}/data`,
  ]);
  execFileSync('cp', ['/bin/busybox', `${rootfs}/bin/busybox`]);
  for (const tool of ['cat', 'sleep', 'dirname', 'basename'])
    execFileSync('ln', ['-s', 'busybox', `${rootfs}/bin/${tool}`]);
  // busybox's sh runs its own tar applet whatever the PATH says: the node's shell is dash
  const libs = execFileSync('ldd', ['/bin/dash'], { encoding: 'utf8' }).match(/\/\S+/g) ?? [];
  for (const file of ['/bin/dash', ...libs]) execFileSync('cp', ['--parents', '-L', file, rootfs]);
  execFileSync('ln', ['-s', 'dash', `${rootfs}/bin/sh`]);
  execFileSync('mkdir', ['-p', `${rootfs}/etc`]);
  writeFileSync(`${rootfs}/etc/passwd`, 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(`${rootfs}/etc/group`, 'root:x:0:\n');
  writeFileSync(
    `${rootfs}/usr/local/bin/tar`,
    '#!/bin/sh\nfor a; do last=$a; done\nexec cat "/lies/$last.tar"\n',
    { mode: 0o755 },
  );
  for (const [base, entries] of Object.entries(lies))
    writeFileSync(`${rootfs}/lies/${base}.tar`, await archive(entries));
  writeFileSync(`${rootfs}/data/f.txt`, 'real file\n');
  execFileSync('ln', ['-s', '/etc', `${rootfs}/data/etc`]);
  execFileSync('ln', ['-s', '../../../../../root/.bashrc', `${rootfs}/data/bashrc`]);
  execFileSync('tar', ['-C', rootfs, '-cf', join(work, 'rootfs.tar'), '.']);
  execFileSync('docker', ['import', join(work, 'rootfs.tar'), tag], { stdio: 'ignore' });
  execFileSync(
    'docker',
    [
      'run',
      '-d',
      '--name',
      name,
      '--tmpfs',
      '/tmp',
      '--label',
      'nxc.test=lying-tar',
      tag,
      '/bin/sleep',
      '600',
    ],
    { stdio: 'ignore' },
  );
  transport = new DockerTransport(new Docker(), new Map([['evil', name]]));
}, 120_000);

afterAll(() => {
  execFileSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
  execFileSync('docker', ['rmi', '-f', tag], { stdio: 'ignore' });
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('docker copyFrom from a lying container', () => {
  it.each([
    ['dotdot', 'an unsafe file name ".."'],
    ['absolute', 'an entry outside absolute: "/tmp/nxc-docker-pwned-'],
    ['outside', 'an entry outside outside: "elsewhere/pwned.txt"'],
  ])("refuses the node tar's %s entries: nothing outside, nothing inside", async (base, what) => {
    const area = mkdtempSync(join(work, 'area-'));
    const dest = join(area, 'out', 'deep', base);
    const error = await transport.copyFrom('evil', `/tmp/${base}`, dest).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: 'NXC_NODE_FAILED',
      message: expect.stringContaining(`node "evil" sent ${what}`),
    });
    expect((error as Error).message).not.toContain('\n');
    expect(listing(area)).toEqual(['out/', 'out/deep/']);
    expect(() => statSync(`/tmp/nxc-docker-pwned-${process.pid}.txt`)).toThrow();
  });

  it('creates no link, hard or symbolic, and drops the set-uid bit', async () => {
    const area = mkdtempSync(join(work, 'area-'));
    await transport.copyFrom('evil', '/tmp/links', join(area, 'links'));
    // `etc` became a plain folder holding the file sent "through" the link
    expect(listing(area)).toEqual(['links/', 'links/etc/', 'links/etc/pwned', 'links/ok.txt', 'links/suid']);
    expect(statSync(join(area, 'links/suid')).mode & 0o7777).toBe(0o755);
    expect(statSync(join(area, 'links/etc/pwned')).nlink).toBe(1);
  });

  it("leaves the container's real links out (archive API)", async () => {
    const area = mkdtempSync(join(work, 'area-'));
    await transport.copyFrom('evil', '/data', join(area, 'data'));
    expect(listing(area)).toEqual(['data/', 'data/f.txt']);
    expect(readFileSync(join(area, 'data/f.txt'), 'utf8')).toBe('real file\n');
  });
});
