/**
 * The SSH identity nodes authorize: a per-project ed25519 key kept in the user's state
 * folder, outside the project (made once, without ssh-keygen), or the user's own key given
 * with `-i`.
 */
import { constants as fsConstants } from 'node:fs';
import { chmod, copyFile, link, mkdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { NxcError, isNxcError } from './errors.js';
import { nodeCrypto } from './lazy-builtins.js';
import type { Project } from './project.js';
import type { Reporter } from './reporter.js';
import { projectStateDir, sshDir, userStateDir } from './state.js';
import { displayPath, errnoCode, firstLine } from './validation.js';

/** The SSH identity nodes authorize. */
export interface SshIdentity {
  /** Absolute path of the private key (mode 0600). */
  privateKeyPath: string;
  /** Public key line, e.g. `ssh-ed25519 AAAA... nxc@project`. */
  publicKey: string;
}

/** SSH wire format: uint32 length + bytes. */
function sshString(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function uint32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

/** Reads SSH wire strings one after the other. */
class SshReader {
  private offset = 0;
  constructor(private readonly data: Buffer) {}
  bytes(): Buffer {
    if (this.offset + 4 > this.data.length) throw new Error('truncated key');
    const length = this.data.readUInt32BE(this.offset);
    const start = this.offset + 4;
    if (start + length > this.data.length) throw new Error('truncated key');
    this.offset = start + length;
    return this.data.subarray(start, start + length);
  }
  string(): string {
    return this.bytes().toString('latin1');
  }
  uint32(): number {
    if (this.offset + 4 > this.data.length) throw new Error('truncated key');
    const value = this.data.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
}

const OPENSSH_MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');

/** An ed25519 key pair in the formats SSH servers read. */
export interface Ed25519KeyPair {
  /** Private key file, OpenSSH format ("openssh-key-v1", unencrypted): OpenSSH's sshd and ssh. */
  privateKey: string;
  /** Public key line, `ssh-ed25519 AAAA... <comment>`. */
  publicKey: string;
  /** Private key file in dropbear's own format (dropbear's `-r` does not read OpenSSH's). */
  dropbearPrivateKey: Buffer;
}

/** A new ed25519 key pair (see {@link Ed25519KeyPair}); host keys nxc gives nodes use it too. */
export function generateEd25519KeyPair(comment: string): Ed25519KeyPair {
  const { publicKey, privateKey } = nodeCrypto().generateKeyPairSync('ed25519');
  // Raw keys are the last 32 bytes of the DER encodings (SPKI / PKCS#8 have fixed prefixes for ed25519).
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  const publicBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = nodeCrypto().randomBytes(4).readUInt32BE(0);
  let privateSection = Buffer.concat([
    uint32(check),
    uint32(check),
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  // Padding 1, 2, 3... up to the cipher block size (8 for "none").
  const padding = Buffer.from(Array.from({ length: (8 - (privateSection.length % 8)) % 8 }, (_, i) => i + 1));
  privateSection = Buffer.concat([privateSection, padding]);
  const body = Buffer.concat([
    OPENSSH_MAGIC,
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(publicBlob),
    sshString(privateSection),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `ssh-ed25519 ${publicBlob.toString('base64')} ${comment}`,
    // dropbear: string "ssh-ed25519", string (seed || public key)
    dropbearPrivateKey: Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.concat([seed, pub]))]),
  };
}

/**
 * An ed25519 key pair in OpenSSH formats: the private key file ("openssh-key-v1",
 * unencrypted) and the public key line.
 */
export function generateEd25519Identity(comment: string): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateEd25519KeyPair(comment);
  return { privateKey, publicKey };
}

/** Public key line from a private key file's content (OpenSSH format, or PEM RSA/EC/ed25519). */
function publicKeyFromPrivate(content: string): string {
  const openssh = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(
    content,
  );
  if (openssh) {
    // The public key is stored in clear even when the private part is encrypted.
    const data = Buffer.from(openssh[1]!.replace(/\s+/g, ''), 'base64');
    if (!data.subarray(0, OPENSSH_MAGIC.length).equals(OPENSSH_MAGIC))
      throw new Error('not an openssh-key-v1 key');
    const reader = new SshReader(data.subarray(OPENSSH_MAGIC.length));
    reader.string(); // cipher
    reader.string(); // kdf
    reader.bytes(); // kdf options
    if (reader.uint32() < 1) throw new Error('the file holds no key');
    const blob = reader.bytes();
    return `${new SshReader(blob).string()} ${blob.toString('base64')}`;
  }
  const key = nodeCrypto().createPublicKey(nodeCrypto().createPrivateKey(content));
  const jwk = key.export({ format: 'jwk' });
  const b64u = (v: string | undefined) => Buffer.from(v ?? '', 'base64url');
  /** mpint: big-endian, with a leading 0 when the high bit is set. */
  const mpint = (v: Buffer) => sshString(v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
  if (jwk.kty === 'RSA') {
    const blob = Buffer.concat([sshString('ssh-rsa'), mpint(b64u(jwk.e)), mpint(b64u(jwk.n))]);
    return `ssh-rsa ${blob.toString('base64')}`;
  }
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(b64u(jwk.x))]);
    return `ssh-ed25519 ${blob.toString('base64')}`;
  }
  if (jwk.kty === 'EC') {
    const curve = { 'P-256': 'nistp256', 'P-384': 'nistp384', 'P-521': 'nistp521' }[jwk.crv ?? ''];
    if (!curve) throw new Error(`unsupported curve ${jwk.crv}`);
    const point = Buffer.concat([Buffer.from([4]), b64u(jwk.x), b64u(jwk.y)]);
    const type = `ecdsa-sha2-${curve}`;
    const blob = Buffer.concat([sshString(type), sshString(curve), sshString(point)]);
    return `${type} ${blob.toString('base64')}`;
  }
  throw new Error(`unsupported key type ${jwk.kty}`);
}

function identityError(path: string, message: string, hint: string): NxcError {
  return new NxcError('NXC_USAGE', `identity ${displayPath(path)}: ${message}`, { hint });
}

/**
 * Reads an identity for `-i PATH`: the public key comes from `PATH.pub` when present, else
 * from the private key itself (OpenSSH format, even passphrase-protected, or PEM RSA/EC/ed25519).
 *
 * Like ssh, it refuses a private key that group or others can read or write: ssh (used by
 * `nxc connect`) would refuse it later anyway, with a less clear message.
 *
 * @throws NxcError `NXC_USAGE` when the file is missing, unreadable, too open, or not a key.
 */
export async function readIdentity(privateKeyPath: string): Promise<SshIdentity> {
  let mode: number;
  let content: string;
  try {
    const info = await stat(privateKeyPath);
    if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    mode = info.mode & 0o777;
    content = await readFile(privateKeyPath, 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    throw identityError(
      privateKeyPath,
      code === 'ENOENT' ? 'the file does not exist' : `cannot read it (${code ?? firstLine(error)})`,
      'pass a private key file with -i (e.g. -i ~/.ssh/id_ed25519), or omit -i to use the project key',
    );
  }
  if ((mode & 0o077) !== 0) {
    throw identityError(
      privateKeyPath,
      `permissions 0${mode.toString(8)} are too open (ssh refuses private keys others can access)`,
      `run \`chmod 600 ${privateKeyPath}\``,
    );
  }
  let publicKey: string | undefined;
  try {
    publicKey = (await readFile(`${privateKeyPath}.pub`, 'utf8')).trim().split('\n')[0]?.trim();
  } catch {
    publicKey = undefined;
  }
  if (!publicKey) {
    try {
      publicKey = publicKeyFromPrivate(content);
    } catch (error) {
      throw identityError(
        privateKeyPath,
        `not a private key nxc can read (${firstLine(error)})`,
        `put its public key in ${privateKeyPath}.pub, or pass an OpenSSH/PEM private key`,
      );
    }
  }
  return { privateKeyPath, publicKey };
}

/** Options of {@link ensureProjectIdentity}. */
export interface ProjectIdentityOptions {
  /** Told (a `warn` event) when a key is moved out of the project tree. */
  reporter?: Reporter;
}

/**
 * `<dir>` as a private folder: created 0700, or tightened to 0700 when it is ours; refused
 * when someone else owns it (they could read or swap the key).
 */
async function privateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await stat(dir);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new NxcError(
      'NXC_IO',
      `${dir} (where nxc keeps your project keys) belongs to uid ${st.uid}, not to you`,
      {
        hint: 'remove it (or set XDG_STATE_HOME to a folder of yours), or pass your own key with -i',
      },
    );
  }
  if ((st.mode & 0o077) !== 0) await chmod(dir, 0o700);
}

/** Moves `from` to `to` without replacing `to` (a hard link, else a copy across file systems). */
async function moveKeyFile(from: string, to: string, mode: number): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    if (errnoCode(error) !== 'EXDEV') throw error;
    await copyFile(from, to, fsConstants.COPYFILE_EXCL);
  }
  await chmod(to, mode);
  await rm(from, { force: true });
}

/**
 * Moves an identity from the project tree (`.nxc/ssh/`, where nxc used to keep it) to `dir`.
 * Returns true when it moved one.
 */
async function migrateLegacyIdentity(project: Project, privateKeyPath: string): Promise<boolean> {
  const legacy = join(sshDir(project), 'id_ed25519');
  try {
    await stat(legacy);
  } catch {
    return false;
  }
  try {
    await moveKeyFile(legacy, privateKeyPath, 0o600);
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false; // another nxc moved it first
    throw error;
  }
  await moveKeyFile(`${legacy}.pub`, `${privateKeyPath}.pub`, 0o644).catch(() => undefined);
  await rmdir(sshDir(project)).catch(() => undefined);
  return true;
}

/**
 * Returns the project's identity, creating it the first time: an ed25519 key kept OUT of the
 * project tree, in `$XDG_STATE_HOME/nxc/projects/<id>/ssh/id_ed25519` (+ `.pub`; default
 * `~/.local/state/nxc/...`, see `projectStateDir`), folders 0700, private key 0600 from its
 * creation (written aside under an exclusive name, then hard-linked into place, so concurrent
 * calls agree on the first key and no reader ever sees a partial or readable file). A key left
 * in the project's `.nxc/ssh/` by an older nxc is moved there, once, with a warning.
 *
 * @throws NxcError `NXC_USAGE` when the existing key is unusable (e.g. too open);
 *   `NXC_IO` when the state folder cannot be written.
 */
export async function ensureProjectIdentity(
  project: Project,
  opts: ProjectIdentityOptions = {},
): Promise<SshIdentity> {
  let dir: string;
  try {
    dir = join(await projectStateDir(project, { create: true }), 'ssh');
    await privateDir(dirname(dir));
    await privateDir(dir);
  } catch (error) {
    if (isNxcError(error)) throw error;
    throw new NxcError(
      'NXC_IO',
      `cannot prepare the project SSH key folder under ${displayPath(userStateDir())} (${errnoCode(error) ?? firstLine(error)})`,
      {
        hint: 'check that it (or XDG_STATE_HOME) is writable and that .nxc/ is, or pass your own key with -i',
      },
    );
  }
  const privateKeyPath = join(dir, 'id_ed25519');
  try {
    await stat(privateKeyPath);
    // It exists: use it, or say why it is unusable rather than replace the user's key.
    return await readIdentity(privateKeyPath);
  } catch (error) {
    if (error instanceof NxcError) throw error;
    if (errnoCode(error) !== 'ENOENT') {
      throw new NxcError(
        'NXC_IO',
        `cannot access ${displayPath(privateKeyPath)} (${errnoCode(error) ?? firstLine(error)})`,
        { hint: 'check the permissions of that folder, or pass your own key with -i' },
      );
    }
  }
  try {
    if (await migrateLegacyIdentity(project, privateKeyPath)) {
      opts.reporter?.emit({
        type: 'warn',
        message: `moved the project SSH key from ${displayPath(sshDir(project))}/ to ${dir}/ (keys no longer live in the project, where \`nix build\` could copy them into /nix/store)`,
      });
      return await readIdentity(privateKeyPath);
    }
    const pair = generateEd25519Identity(`nxc@${basename(project.root) || 'project'}`);
    const tmp = join(dir, `.id_ed25519.${nodeCrypto().randomUUID()}`);
    await writeFile(`${tmp}.pub`, `${pair.publicKey}\n`, { mode: 0o644, flag: 'wx' });
    await writeFile(tmp, pair.privateKey, { mode: 0o600, flag: 'wx' });
    try {
      await rename(`${tmp}.pub`, `${privateKeyPath}.pub.${basename(tmp)}`);
      await link(tmp, privateKeyPath);
      await rename(`${privateKeyPath}.pub.${basename(tmp)}`, `${privateKeyPath}.pub`);
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
      // Another process created it first: use theirs.
    } finally {
      await rm(tmp, { force: true });
      await rm(`${tmp}.pub`, { force: true });
      await rm(`${privateKeyPath}.pub.${basename(tmp)}`, { force: true });
    }
  } catch (error) {
    if (error instanceof NxcError) throw error;
    throw new NxcError(
      'NXC_IO',
      `cannot create the project SSH key in ${displayPath(dir)} (${errnoCode(error) ?? firstLine(error)})`,
      { hint: 'check that this folder is writable, or pass your own key with -i' },
    );
  }
  return readIdentity(privateKeyPath);
}
