import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { utils } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NxcError } from './errors.js';
import { makeProject } from './project.js';
import type { ProgressEvent } from './reporter.js';
import {
  ensureProjectIdentity,
  generateEd25519Identity,
  generateEd25519KeyPair,
  readIdentity,
} from './ssh-identity.js';
import { clean } from './state.js';

const config = {
  plugins: [],
  composition: 'composition.nix',
  nix: { flags: [], overrideInputs: {} },
  flavourOptions: {},
};
let base: string;
let state: string;
const savedState = process.env.XDG_STATE_HOME;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'nxc-ssh-'));
  state = join(base, 'state');
  process.env.XDG_STATE_HOME = state;
});
afterAll(async () => {
  if (savedState === undefined) Reflect.deleteProperty(process.env, 'XDG_STATE_HOME');
  else process.env.XDG_STATE_HOME = savedState;
  await rm(base, { recursive: true, force: true });
});

/** `ssh-keygen -y -f`: the public key OpenSSH derives from a private key file. */
function sshKeygenPublic(file: string): string {
  return keyPart(execFileSync('ssh-keygen', ['-y', '-P', '', '-f', file], { encoding: 'utf8' }).trim());
}
const keyPart = (line: string) => line.split(' ').slice(0, 2).join(' ');

async function failure(p: Promise<unknown>): Promise<NxcError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NxcError);
  return error as NxcError;
}

describe('generateEd25519Identity', () => {
  it('writes a private key OpenSSH and ssh2 accept, matching the public key', async () => {
    for (let i = 0; i < 5; i++) {
      const pair = generateEd25519Identity('nxc@test');
      const file = join(base, `gen${i}`);
      await writeFile(file, pair.privateKey, { mode: 0o600 });
      expect(sshKeygenPublic(file)).toBe(keyPart(pair.publicKey));
      const parsed = utils.parseKey(pair.privateKey);
      expect(parsed).not.toBeInstanceOf(Error);
      const key = Array.isArray(parsed) ? parsed[0]! : (parsed as Exclude<typeof parsed, Error | unknown[]>);
      expect(key.type).toBe('ssh-ed25519');
      expect(key.comment).toBe('nxc@test');
      expect(key.isPrivateKey()).toBe(true);
      expect(`ssh-ed25519 ${key.getPublicSSH().toString('base64')}`).toBe(keyPart(pair.publicKey));
      // The key actually signs: ssh2 signs and verifies with it.
      const data = Buffer.from('challenge');
      const signature = key.sign(data);
      expect(signature).toBeInstanceOf(Buffer);
      expect(key.verify(data, signature as Buffer)).toBe(true);
    }
  });
});

describe('generateEd25519KeyPair', () => {
  it("writes dropbear's own format of the same key (dropbearkey -y reads it)", async () => {
    const pair = generateEd25519KeyPair('host');
    const file = join(base, 'dropbear_ed25519_host_key');
    await writeFile(file, pair.dropbearPrivateKey, { mode: 0o600 });
    const out = execFileSync('dropbearkey', ['-y', '-f', file], { encoding: 'utf8' });
    const line = out.split('\n').find((l) => l.startsWith('ssh-ed25519 '));
    expect(keyPart(line ?? '')).toBe(keyPart(pair.publicKey));
    const openssh = join(base, 'openssh_host_key');
    await writeFile(openssh, pair.privateKey, { mode: 0o600 });
    expect(sshKeygenPublic(openssh)).toBe(keyPart(pair.publicKey));
  });
});

describe('ensureProjectIdentity', () => {
  /** Every file under `dir` (relative), for "where are the keys" checks. */
  async function files(dir: string): Promise<string[]> {
    const { readdir } = await import('node:fs/promises');
    return (await readdir(dir, { recursive: true, withFileTypes: true }))
      .filter((e) => !e.isDirectory())
      .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
      .sort();
  }
  /** Files under `dir` whose CONTENT holds a private key (by content, not by name). */
  async function privateKeysIn(dir: string): Promise<string[]> {
    const found: string[] = [];
    for (const f of await files(dir)) {
      if ((await readFile(join(dir, f), 'utf8')).includes('PRIVATE KEY')) found.push(f);
    }
    return found;
  }

  it('keeps the key out of the project, in $XDG_STATE_HOME/nxc, with safe modes, once', async () => {
    const root = join(base, 'proj');
    await mkdir(root);
    const project = makeProject(root, config);
    const first = await ensureProjectIdentity(project);
    const id = (await readFile(join(root, '.nxc/project-id'), 'utf8')).trim();
    expect(id).toMatch(/^proj-[0-9a-f]{16}$/);
    const keyDir = join(state, 'nxc/projects', id, 'ssh');
    expect(first.privateKeyPath).toBe(join(keyDir, 'id_ed25519'));
    expect(first.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+=* nxc@proj$/);
    for (const d of [keyDir, dirname(keyDir), join(state, 'nxc')])
      expect((await stat(d)).mode & 0o777, d).toBe(0o700);
    expect((await stat(first.privateKeyPath)).mode & 0o777).toBe(0o600);
    expect((await stat(`${first.privateKeyPath}.pub`)).mode & 0o777).toBe(0o644);
    expect((await readFile(`${first.privateKeyPath}.pub`, 'utf8')).trim()).toBe(first.publicKey);
    expect(sshKeygenPublic(first.privateKeyPath)).toBe(keyPart(first.publicKey));
    // the project tree holds only the id and a .gitignore hiding .nxc/ from `git add -A`
    expect(await files(root)).toEqual(['.nxc/.gitignore', '.nxc/project-id']);
    expect(await readFile(join(root, '.nxc/.gitignore'), 'utf8')).toMatch(/^\*$/m);
    expect(await privateKeysIn(root)).toEqual([]);
    const again = await ensureProjectIdentity(project);
    expect(again).toEqual(first);
  });

  it('defaults to ~/.local/state/nxc (a relative XDG_STATE_HOME is ignored)', async () => {
    const home = join(base, 'home');
    const root = join(base, 'proj-home');
    await mkdir(root);
    const saved = { HOME: process.env.HOME, XDG_STATE_HOME: process.env.XDG_STATE_HOME };
    process.env.HOME = home;
    process.env.XDG_STATE_HOME = 'relative/state';
    try {
      const identity = await ensureProjectIdentity(makeProject(root, config));
      expect(identity.privateKeyPath.startsWith(join(home, '.local/state/nxc/projects/proj-home-'))).toBe(
        true,
      );
    } finally {
      process.env.HOME = saved.HOME;
      process.env.XDG_STATE_HOME = saved.XDG_STATE_HOME;
    }
  });

  it('a moved or renamed project keeps its key; `clean --all` forgets it', async () => {
    const root = join(base, 'before');
    await mkdir(root);
    const first = await ensureProjectIdentity(makeProject(root, config));
    const moved = join(base, 'elsewhere', 'after');
    await mkdir(dirname(moved));
    await rename(root, moved);
    const project = makeProject(moved, config);
    expect(await ensureProjectIdentity(project)).toEqual(first);
    const { removed } = await clean(project, { all: true });
    expect(removed).toContain(dirname(dirname(first.privateKeyPath)));
    await expect(stat(first.privateKeyPath)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(keyPart((await ensureProjectIdentity(project)).publicKey)).not.toBe(keyPart(first.publicKey));
  });

  it('moves a key an older nxc left in .nxc/ssh/ out of the project, telling it once', async () => {
    const root = join(base, 'legacy');
    await mkdir(join(root, '.nxc/ssh'), { recursive: true, mode: 0o700 });
    const old = generateEd25519Identity('nxc@legacy');
    await writeFile(join(root, '.nxc/ssh/id_ed25519'), old.privateKey, { mode: 0o600 });
    await writeFile(join(root, '.nxc/ssh/id_ed25519.pub'), `${old.publicKey}\n`);
    const project = makeProject(root, config);
    const events: ProgressEvent[] = [];
    const reporter = { emit: (e: ProgressEvent) => events.push(e) };
    const identity = await ensureProjectIdentity(project, { reporter });
    expect(identity.publicKey).toBe(old.publicKey);
    expect(identity.privateKeyPath.startsWith(join(state, 'nxc/projects/'))).toBe(true);
    expect((await stat(identity.privateKeyPath)).mode & 0o777).toBe(0o600);
    expect(events).toEqual([
      {
        type: 'warn',
        message: expect.stringMatching(
          /^moved the project SSH key from .*\.nxc\/ssh\/ to .*\/ssh\/ \(keys no longer live/,
        ),
      },
    ]);
    expect(await privateKeysIn(root)).toEqual([]);
    expect(await files(root)).toEqual(['.nxc/.gitignore', '.nxc/project-id']);
    await ensureProjectIdentity(project, { reporter });
    expect(events).toHaveLength(1);
  });

  it('concurrent first calls agree on one key', async () => {
    const root = join(base, 'race');
    await mkdir(root);
    const project = makeProject(root, config);
    const results = await Promise.all(Array.from({ length: 6 }, () => ensureProjectIdentity(project)));
    expect(new Set(results.map((r) => r.publicKey)).size).toBe(1);
    expect(sshKeygenPublic(results[0]!.privateKeyPath)).toBe(keyPart(results[0]!.publicKey));
    expect(await files(dirname(results[0]!.privateKeyPath))).toEqual(['id_ed25519', 'id_ed25519.pub']);
  });

  it('a lost .pub is derived from the private key', async () => {
    const root = join(base, 'nopub');
    await mkdir(root);
    const project = makeProject(root, config);
    const first = await ensureProjectIdentity(project);
    await rm(`${first.privateKeyPath}.pub`);
    expect(keyPart((await ensureProjectIdentity(project)).publicKey)).toBe(keyPart(first.publicKey));
  });

  it('does not replace a project key that became too open', async () => {
    const root = join(base, 'open');
    await mkdir(root);
    const project = makeProject(root, config);
    const first = await ensureProjectIdentity(project);
    await chmod(first.privateKeyPath, 0o644);
    const error = await failure(ensureProjectIdentity(project));
    expect(error.message).toMatch(/permissions 0644 are too open/);
  });

  it('refuses a key folder another user owns; tightens a loose one of yours', async () => {
    const root = join(base, 'owned');
    await mkdir(root);
    const project = makeProject(root, config);
    const first = await ensureProjectIdentity(project);
    const keyDir = dirname(first.privateKeyPath);
    await chmod(keyDir, 0o755);
    await ensureProjectIdentity(project);
    expect((await stat(keyDir)).mode & 0o777).toBe(0o700);
    if (process.getuid?.() !== 0) throw new Error('this test needs root (to chown a folder to nobody)');
    await chown(keyDir, 65534, 65534);
    const error = await failure(ensureProjectIdentity(project));
    expect(error.message).toMatch(
      /ssh \(where nxc keeps your project keys\) belongs to uid 65534, not to you$/,
    );
  });
});

describe('readIdentity (-i)', () => {
  it('uses PATH.pub when present', async () => {
    const file = join(base, 'withpub');
    const pair = generateEd25519Identity('me@laptop');
    await writeFile(file, pair.privateKey, { mode: 0o600 });
    await writeFile(`${file}.pub`, `${pair.publicKey}\n`);
    expect(await readIdentity(file)).toEqual({ privateKeyPath: file, publicKey: pair.publicKey });
  });

  it.each([
    ['ed25519 from ssh-keygen, passphrase-protected', ['-t', 'ed25519', '-N', 'secret']],
    ['rsa from ssh-keygen (OpenSSH format)', ['-t', 'rsa', '-b', '2048', '-N', '']],
    ['ecdsa from ssh-keygen', ['-t', 'ecdsa', '-N', '']],
  ])('derives the public key without .pub: %s', async (_name, args) => {
    const file = join(base, `kg-${Math.random().toString(36).slice(2)}`);
    execFileSync('ssh-keygen', [...args, '-q', '-C', 'x', '-f', file]);
    const expected = keyPart(await readFile(`${file}.pub`, 'utf8'));
    await rm(`${file}.pub`);
    expect((await readIdentity(file)).publicKey).toBe(expected);
  });

  it.each([
    [
      'rsa',
      () =>
        generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
          format: 'pem',
          type: 'pkcs1',
        }),
    ],
    [
      'ec',
      () =>
        generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'sec1' }),
    ],
  ])('derives the public key of a PEM %s key like ssh-keygen', async (_name, make) => {
    const file = join(base, `pem-${_name}`);
    await writeFile(file, make() as string, { mode: 0o600 });
    expect((await readIdentity(file)).publicKey).toBe(sshKeygenPublic(file));
  });

  it('derives the public key of a PEM (PKCS#8) ed25519 key (ssh-keygen cannot read those)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const file = join(base, 'pem-ed25519');
    await writeFile(file, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    const blob = Buffer.concat([
      Buffer.from([0, 0, 0, 11]),
      Buffer.from('ssh-ed25519'),
      Buffer.from([0, 0, 0, 32]),
      raw,
    ]);
    expect((await readIdentity(file)).publicKey).toBe(`ssh-ed25519 ${blob.toString('base64')}`);
  });

  it.each([
    ['missing', async () => join(base, 'nope'), /the file does not exist/],
    ['a directory', async () => base, /cannot read it \(EISDIR\)/],
    [
      'group-readable',
      async () => {
        const f = join(base, 'open-key');
        await writeFile(f, generateEd25519Identity('x').privateKey, { mode: 0o640 });
        await chmod(f, 0o640);
        return f;
      },
      /permissions 0640 are too open/,
    ],
    [
      'not a key',
      async () => {
        const f = join(base, 'garbage');
        await writeFile(f, 'hello\n', { mode: 0o600 });
        return f;
      },
      /not a private key nxc can read/,
    ],
  ])('%s -> one-line error', async (_name, make, expected) => {
    const error = await failure(readIdentity(await make()));
    expect(error.code).toBe('NXC_USAGE');
    expect(error.message).toMatch(/^identity /);
    expect(error.message).toMatch(expected);
    expect(error.hint).toBeTruthy();
  });
});
