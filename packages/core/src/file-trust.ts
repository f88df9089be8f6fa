/**
 * Which files nxc may load code (or plugin names) from. A config or a plugin runs as the user
 * who runs nxc; on a shared machine another user could plant `/tmp/nxc.config.mjs` or
 * `/tmp/node_modules/@nxc/flavour-docker`. The rule, as OpenSSH applies to its key files: the
 * file and the folder holding it belong to you or root, and nobody else can write them (a
 * world- or group-writable folder is fine when it is sticky, like /tmp: others cannot replace
 * your files there). A group-writable file is fine when its group is your private group (no
 * other member), what `umask 002` distributions give every user.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errnoCode } from './validation.js';

interface Ids {
  uid: number;
  name?: string;
}

async function passwd(): Promise<string[][]> {
  const text = await readFile('/etc/passwd', 'utf8').catch(() => '');
  return text.split('\n').map((l) => l.split(':'));
}

async function groups(): Promise<string[][]> {
  const text = await readFile('/etc/group', 'utf8').catch(() => '');
  return text.split('\n').map((l) => l.split(':'));
}

/** The user name of `uid` (from /etc/passwd), for messages. */
export async function userName(uid: number): Promise<string | undefined> {
  return (await passwd()).find((f) => f[2] === String(uid))?.[0];
}

/**
 * True when group `gid` has exactly one member, `uid` (as primary or listed member), per
 * /etc/passwd and /etc/group. Unknown groups (e.g. only in LDAP) are not private.
 */
async function isPrivateGroup(gid: number, me: Ids): Promise<boolean> {
  const group = (await groups()).find((f) => f[2] === String(gid));
  if (!group) return false;
  const members = new Set<string>();
  for (const f of await passwd()) if (f[3] === String(gid) && f[0]) members.add(f[0]);
  for (const m of (group[3] ?? '').split(',')) if (m.trim()) members.add(m.trim());
  const name = me.name ?? (await userName(me.uid));
  return members.size === 1 && name !== undefined && members.has(name);
}

/**
 * Why `path` (a file, or a folder with `directory`) cannot be trusted, or undefined when it
 * can (see the module comment). Follows links: what counts is what gets loaded.
 */
export async function untrustedReason(path: string, directory = false): Promise<string | undefined> {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined; // no POSIX ownership (Windows)
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (error) {
    return `cannot be checked (${errnoCode(error) ?? 'unknown error'})`;
  }
  if (st.uid !== uid && st.uid !== 0) {
    const owner = await userName(st.uid);
    return `belongs to ${owner ? `user ${owner}` : 'another user'} (uid ${st.uid})`;
  }
  const sticky = directory && (st.mode & 0o1000) !== 0;
  if (st.mode & 0o002 && !sticky) return 'can be changed by every user (mode o+w)';
  if (st.mode & 0o020 && !sticky && !(await isPrivateGroup(st.gid, { uid }))) {
    return `can be changed by the members of group ${st.gid} (mode g+w)`;
  }
  return undefined;
}

/**
 * Why the code in `file` cannot be trusted: the file itself, or a folder that decides who can
 * replace it (the one holding the name, and the one holding the real file when it is a link).
 * Undefined when all pass.
 */
export async function untrustedFile(file: string): Promise<string | undefined> {
  const own = await untrustedReason(file);
  if (own) return own;
  const real = await realpath(file).catch(() => file);
  for (const dir of new Set([dirname(file), dirname(real)])) {
    const why = await untrustedReason(dir, true);
    if (why) return `its folder ${dir} ${why}`;
  }
  return undefined;
}
