/**
 * Per-deployment host keys (trust on first use). `nxc start` learns each node's key on the
 * first connection and saves the record in the deployment state; every later connection
 * (exec, connect, driver, stop) checks against it. nxc never reads or writes
 * ~/.ssh/known_hosts, so a redeploy (new keys, same ports) never trips a "host
 * identification has changed" warning, while a key change during one deployment's life is
 * refused.
 */
import { createHash } from 'node:crypto';

/** Saved form: deployment hostname -> `<key type> <base64 key blob>` (known_hosts style). */
export type HostKeyRecords = Record<string, string>;

/** A refused host key (kept so the transport can report it precisely). */
export interface HostKeyMismatch {
  host: string;
  expected: string;
  actual: string;
  /**
   * Who vouches for `expected` when it is not this deployment's record (e.g. the known_hosts
   * file and line, or `the key nxc gave it`).
   */
  source?: string;
}

/** SHA256 fingerprint as OpenSSH prints it (`SHA256:base64-without-padding`). */
export function fingerprint(record: string): string {
  const blob = Buffer.from(record.split(' ')[1] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** `<type> <base64>` from the raw SSH public key blob ssh2 hands to `hostVerifier`. */
export function hostKeyRecord(blob: Buffer): string {
  let type = 'unknown';
  if (blob.length >= 4) {
    const len = blob.readUInt32BE(0);
    if (len > 0 && len < 64 && blob.length >= 4 + len) type = blob.subarray(4, 4 + len).toString('latin1');
  }
  return `${type} ${blob.toString('base64')}`;
}

export interface HostKeyStoreOptions {
  /**
   * Accept and record keys of hosts not yet known (true during `nxc start`; false later, so a
   * node the deployment never saw is refused).
   */
  learn?: boolean;
  /** Called when a key is learnt (e.g. to persist the deployment state). */
  onLearn?: (host: string, record: string) => void;
}

/** The host keys of one deployment. */
export class HostKeyStore {
  private readonly keys = new Map<string, string>();
  private readonly mismatches = new Map<string, HostKeyMismatch>();
  private readonly learn: boolean;
  private readonly onLearn?: (host: string, record: string) => void;
  private readonly trusted = new Map<string, { records: string[]; source: string }>();
  private readonly revoked = new Set<string>();
  private readonly learned = new Set<string>();

  constructor(known: HostKeyRecords = {}, options: HostKeyStoreOptions = {}) {
    for (const [host, rec] of Object.entries(known)) this.keys.set(host, rec);
    this.learn = options.learn ?? false;
    this.onLearn = options.onLearn;
  }

  /**
   * Accepts any of `records` for `host` (keys a known_hosts file lists, or the key nxc gave
   * the node), and no other even when learning; `source` names them in refusals.
   */
  trust(host: string, records: string[], source: string): void {
    this.trusted.set(host, { records: [...records], source });
  }

  /** Keys refused for every host (known_hosts `@revoked`). */
  revoke(records: Iterable<string>): void {
    for (const r of records) this.revoked.add(r);
  }

  /** Checks (or, when learning, records) the key a node presented. */
  verify(host: string, blob: Buffer): boolean {
    const actual = hostKeyRecord(blob);
    if (this.revoked.has(actual)) {
      this.mismatches.set(host, {
        host,
        expected: '(revoked)',
        actual,
        source: 'a @revoked known_hosts line',
      });
      return false;
    }
    const trusted = this.trusted.get(host);
    if (trusted) {
      if (trusted.records.includes(actual)) {
        this.keys.set(host, actual);
        this.mismatches.delete(host);
        return true;
      }
      this.mismatches.set(host, { host, expected: trusted.records[0] ?? '', actual, source: trusted.source });
      return false;
    }
    const expected = this.keys.get(host);
    if (expected === undefined) {
      if (!this.learn) {
        this.mismatches.set(host, { host, expected: '(none recorded)', actual });
        return false;
      }
      this.keys.set(host, actual);
      this.learned.add(host);
      this.mismatches.delete(host);
      this.onLearn?.(host, actual);
      return true;
    }
    if (expected === actual) {
      this.mismatches.delete(host);
      return true;
    }
    this.mismatches.set(host, { host, expected, actual });
    return false;
  }

  /** True when the key of `host` was accepted on first use (nothing vouched for it). */
  learnt(host: string): boolean {
    return this.learned.has(host);
  }

  /** The last refused key of `host`, if its last check failed. */
  mismatch(host: string): HostKeyMismatch | undefined {
    return this.mismatches.get(host);
  }

  /** Forget one host (its node was recreated by this deployment's own start). */
  forget(host: string): void {
    this.keys.delete(host);
  }

  /** Records a key learnt elsewhere (a node this deployment restarted and re-verified). */
  set(host: string, record: string): void {
    this.keys.set(host, record);
    this.mismatches.delete(host);
  }

  get(host: string): string | undefined {
    return this.keys.get(host);
  }

  /** Records to save in the deployment state. */
  toJSON(): HostKeyRecords {
    return Object.fromEntries(this.keys);
  }
}
