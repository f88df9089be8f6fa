/**
 * Reading OpenSSH known_hosts files: what a Grid'5000 frontend's `/etc/ssh/ssh_known_hosts`
 * (and the user's `~/.ssh/known_hosts`) say about a machine before nxc first logs into it.
 * Supported: plain and hashed (`|1|salt|hash`) host fields, comma-separated patterns with
 * `*`, `?` and `!negation`, `[host]:port`, and the `@revoked` marker. `@cert-authority` lines
 * are skipped (ssh2 cannot check host certificates).
 */
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** One key line of a known_hosts file. */
export interface KnownHostLine {
  /** `file:line`, for messages. */
  source: string;
  /** The host field as written (patterns or a hashed name). */
  hosts: string;
  /** `<type> <base64>`, as {@link HostKeyStore} records keys. */
  record: string;
  revoked: boolean;
}

/** What the files say about one machine. */
export interface KnownHostKeys {
  /** Keys listed for it (records), with where each was found. */
  keys: { record: string; source: string }[];
  /** Keys marked `@revoked` (for any host). */
  revoked: Set<string>;
}

/** OpenSSH's default files: the system's, then the user's. */
export function defaultKnownHostsFiles(): string[] {
  const home = homedir();
  return [
    '/etc/ssh/ssh_known_hosts',
    '/etc/ssh/ssh_known_hosts2',
    join(home, '.ssh', 'known_hosts'),
    join(home, '.ssh', 'known_hosts2'),
  ];
}

/** Parses known_hosts text (`name` labels the sources). Malformed lines are skipped, as ssh does. */
export function parseKnownHosts(text: string, name: string): KnownHostLine[] {
  const lines: KnownHostLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let revoked = false;
    if (fields[0]?.startsWith('@')) {
      const marker = fields.shift();
      if (marker === '@cert-authority') return;
      if (marker !== '@revoked') return;
      revoked = true;
    }
    const [hosts, type, blob] = fields;
    if (!hosts || !type || !blob || !/^[A-Za-z0-9+/]+=*$/.test(blob)) return;
    lines.push({ source: `${name}:${i + 1}`, hosts, record: `${type} ${blob}`, revoked });
  });
  return lines;
}

/** Reads the files that exist (missing or unreadable ones are skipped). */
export async function readKnownHosts(files: string[]): Promise<KnownHostLine[]> {
  const all = await Promise.all(
    files.map(async (file) => {
      const text = await readFile(file, 'utf8').catch(() => undefined);
      return text === undefined ? [] : parseKnownHosts(text, file);
    }),
  );
  return all.flat();
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/** True when the host field `hosts` names `name` (already in `[host]:port` form when needed). */
export function hostFieldMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  let matched = false;
  for (const pattern of hosts.split(',')) {
    const negated = pattern.startsWith('!');
    if (globToRegExp(negated ? pattern.slice(1) : pattern).test(name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/**
 * The keys `lines` list for a machine known by any of `names` (its name as in the machine
 * file, its address), on `port`.
 */
export function lookupKnownHosts(lines: KnownHostLine[], names: string[], port = 22): KnownHostKeys {
  const wanted = names.filter(Boolean).map((n) => (port === 22 ? n : `[${n}]:${port}`));
  const keys: KnownHostKeys['keys'] = [];
  const revoked = new Set<string>();
  for (const line of lines) {
    if (line.revoked) {
      revoked.add(line.record);
      continue;
    }
    if (wanted.some((n) => hostFieldMatches(line.hosts, n)) && !keys.some((k) => k.record === line.record)) {
      keys.push({ record: line.record, source: line.source });
    }
  }
  return { keys: keys.filter((k) => !revoked.has(k.record)), revoked };
}
