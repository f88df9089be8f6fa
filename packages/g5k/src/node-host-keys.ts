/**
 * Host keys of the systems nxc kexecs. A node booted by kexec would make a fresh SSH host key
 * that nothing vouches for, so trusting it on first use lets anyone answering at its address
 * (a shared L2) pass for it. Instead nxc makes each node's key and hands it over with the
 * node's initrd, through the SSH connection it has verified before kexec: an extra newc cpio
 * appended to the pushed initrd (Linux unpacks concatenated archives, as NixOS does for
 * `boot.initrd.secrets`), holding
 *   nxc/ssh_host_ed25519_key(.pub)     OpenSSH format: stage 1 installs it as the root's
 *                                      /etc/ssh/ssh_host_ed25519_key (nix/modules/stage1.nix)
 *   nxc/dropbear_ed25519_host_key      the same key for dropbear-based systems
 * After kexec only that key is accepted. nxc also remembers, per machine, the key of the
 * system it last deployed there ($XDG_STATE_HOME/nxc/g5k-host-keys/<machine>), so a machine
 * still running an nxc system is recognised on the next start.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Ed25519KeyPair, generateEd25519KeyPair, isSafeName, userStateDir } from '@nxc/core/flavour';

/** A node's host key, made by nxc. */
export interface NodeHostKey {
  /** `<type> <base64>`, as host key stores record keys. */
  record: string;
  pair: Ed25519KeyPair;
}

/** A new host key for the node `host` (its comment names it). */
export function newNodeHostKey(host: string): NodeHostKey {
  const pair = generateEd25519KeyPair(`nxc-host-key@${host}`);
  return { record: pair.publicKey.split(' ').slice(0, 2).join(' '), pair };
}

/** One newc cpio entry: header, NUL-terminated name, data, each padded to 4 bytes. */
function cpioEntry(ino: number, name: string, mode: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const nameBytes = Buffer.from(`${name}\0`);
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0];
  const header = Buffer.from(`070701${fields.map(hex).join('')}`, 'latin1');
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const head = Buffer.concat([header, nameBytes]);
  return Buffer.concat([head, pad(head.length), data, pad(data.length)]);
}

/**
 * The archive appended to an initrd of `initrdSize` bytes: zero bytes up to a multiple of 4
 * first (the kernel skips zeros between archives, and reads an uncompressed one only at a
 * 4-byte boundary), then the key files.
 */
export function hostKeyInitrd(key: NodeHostKey, initrdSize: number): Buffer {
  const S_IFDIR = 0o040000;
  const S_IFREG = 0o100000;
  return Buffer.concat([
    Buffer.alloc((4 - (initrdSize % 4)) % 4),
    cpioEntry(1, 'nxc', S_IFDIR | 0o700),
    cpioEntry(2, 'nxc/ssh_host_ed25519_key', S_IFREG | 0o600, Buffer.from(key.pair.privateKey)),
    cpioEntry(3, 'nxc/ssh_host_ed25519_key.pub', S_IFREG | 0o644, Buffer.from(`${key.pair.publicKey}\n`)),
    cpioEntry(4, 'nxc/dropbear_ed25519_host_key', S_IFREG | 0o600, key.pair.dropbearPrivateKey),
    cpioEntry(0, 'TRAILER!!!', 0),
  ]);
}

/** Where nxc remembers the key of the system it last deployed on each machine. */
export function hostKeysDir(): string {
  return join(userStateDir(), 'g5k-host-keys');
}

/** The key of the nxc system last deployed on `machine` (and the file saying so), if any. */
export async function rememberedHostKey(
  machine: string,
  dir = hostKeysDir(),
): Promise<{ record: string; file: string } | undefined> {
  if (!isSafeName(machine)) return undefined;
  const file = join(dir, machine);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  const record = text?.split('\n')[0]?.split(' ').slice(0, 2).join(' ');
  return record && /^ssh-\S+ [A-Za-z0-9+/]+=*$/.test(record) ? { record, file } : undefined;
}

/** Remembers that `machine` runs a system nxc gave `record` (atomic, one file per machine). */
export async function rememberHostKey(
  machine: string,
  record: string,
  note: string,
  dir = hostKeysDir(),
): Promise<void> {
  if (!isSafeName(machine)) return;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const file = join(dir, machine);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${record} ${note}\n`, { mode: 0o600 });
  await rename(tmp, file);
}
