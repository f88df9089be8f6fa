/**
 * How kernel and initrd reach the machines without the frontend sending one copy per machine:
 *
 * - `shared`: the machine reads them where the frontend has them (Grid'5000 mounts the user's
 *   NFS home at the same path on the frontend and the nodes); the machine copies the file to
 *   its push path and the copy's SHA-256, computed ON THE MACHINE, must be the frontend's;
 * - `relay`: a machine that holds verified artifacts forwards them to another one; the frontend
 *   only opens the two ends over its SSH connections (a `nc -l` on the receiver, a `nc` to it on
 *   the sender): no credential is ever given to a machine. Each holder serves one machine at a
 *   time and every receiver becomes a holder, so the number of holders doubles per round (a
 *   tree of depth log2 N) while the frontend sends one copy, to the first machine;
 * - `frontend`: the frontend pushes over SFTP (machines without netcat, the first machine, and
 *   the fallback of a machine whose relay failed).
 *
 * This module holds the scheduling (pure, unit-tested) and the node-side shell commands.
 */

/** Which netcat a machine has (probed over SSH). */
export type Netcat = 'busybox' | 'openbsd' | 'traditional' | 'none';

/**
 * Shell snippet printing `NXC-NC:<kind>` for the machine's netcat: OpenBSD's, busybox's (as `nc`
 * or as an applet only), or Hobbit's netcat 1.10 (Debian's netcat-traditional, whose `-h` starts
 * with `[v1.10`). Any other `nc` (ncat, GNU netcat…) is `none`: its options and its end of stream
 * are not the ones the relay commands use, so the frontend pushes to that machine.
 */
export const NETCAT_PROBE =
  "if command -v nc >/dev/null 2>&1; then if nc -h 2>&1 | grep -q OpenBSD; then echo NXC-NC:openbsd; elif nc --help 2>&1 | grep -qi busybox; then echo NXC-NC:busybox; elif nc -h 2>&1 | grep -q '^\\[v1\\.10'; then echo NXC-NC:traditional; else echo NXC-NC:none; fi; elif busybox --list 2>/dev/null | grep -qx nc; then echo NXC-NC:busybox; else echo NXC-NC:none; fi";

/** Parses the `NXC-NC:` line of {@link NETCAT_PROBE}'s output. */
export function parseNetcat(output: string): Netcat {
  const m = /NXC-NC:(busybox|openbsd|traditional|none)/.exec(output);
  return (m?.[1] as Netcat | undefined) ?? 'none';
}

/** Defines the shell function `ncx`: the machine's netcat (busybox's applet when `nc` is not on PATH). */
function ncDefinition(nc: Netcat): string {
  return nc === 'busybox'
    ? 'if command -v nc >/dev/null 2>&1; then ncx() { nc "$@"; }; else ncx() { busybox nc "$@"; }; fi'
    : 'ncx() { nc "$@"; }';
}

/** The line {@link receiverCommand} prints once its netcat listens (the sender may start). */
export const LISTENING_MARK = 'NXC-LISTENING';

/**
 * Receiving end: listens once on `port` and writes what arrives to `part` (quoted already).
 * netcat's stdin is a FIFO the shell holds open without writing: an empty or closed stdin makes
 * some netcats stop before the sender is done. Prints {@link LISTENING_MARK} once the kernel
 * shows the port listening (`/proc/net/tcp`, state 0A), so the sender starts only then and its
 * retries do not have to outlast a slow start (a loaded machine, a slow SSH session).
 */
export function receiverCommand(nc: Netcat, port: number, part: string, fifo: string): string {
  const listen = nc === 'openbsd' ? `-l ${port}` : `-l -p ${port}`;
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return [
    ncDefinition(nc),
    `rm -f ${fifo} ${part}`,
    `mkfifo ${fifo} || exit 1`,
    `ncx ${listen} < ${fifo} > ${part} & p=$!`,
    `exec 3> ${fifo}`,
    `until grep -q ':${hex} [0-9A-F]*:0000 0A' /proc/net/tcp /proc/net/tcp6 2>/dev/null; do kill -0 $p 2>/dev/null || break; sleep 0.05 2>/dev/null || sleep 1; done`,
    `echo ${LISTENING_MARK}`,
    'wait $p; rc=$?',
    'exec 3>&-',
    `rm -f ${fifo}`,
    'exit $rc',
  ].join('; ');
}

/**
 * Sending end: connects to `address:port` (retrying while the receiver starts) and sends `file`.
 * netcat reads the file itself: fed by a pipe (`cat a b | nc`, one stream for several files),
 * a netcat that reads 1 KB at a time (busybox) is woken thousands of times per copy, which made
 * relays 1.7 times slower on a loaded host (the scale bench, 50 machines).
 */
export function senderCommand(nc: Netcat, address: string, port: number, file: string): string {
  // At the end of the file, OpenBSD's netcat keeps the connection open unless -N, and Debian's
  // netcat-traditional waits for the receiver to close it (which never happens) unless -q 0.
  const opts = nc === 'openbsd' ? '-N ' : nc === 'traditional' ? '-q 0 ' : '';
  return [
    ncDefinition(nc),
    'i=0',
    `until ncx ${opts}${address} ${port} < ${file}; do i=$((i + 1)); [ $i -ge 40 ] && exit 1; sleep 0.25 2>/dev/null || sleep 1; done`,
  ].join('; ');
}

/** One machine as the scheduler sees it. */
export interface DistNode {
  id: string;
  /** It can receive from and forward to other machines (it has a netcat). */
  relayCapable: boolean;
}

/** Where a machine gets its artifacts from. */
export type Assignment = { kind: 'frontend'; fallback: boolean } | { kind: 'relay'; from: string };

/**
 * Pure scheduling of the distribution. Machines {@link want} the artifacts; {@link next} says
 * what to start now; {@link finished} reports a transfer's outcome. The frontend serves a
 * machine that cannot relay, a machine whose relay failed, and the first relay-capable machine
 * (only while no holder exists nor is about to); every free holder serves the next machine.
 */
export class DistributionPlan {
  private readonly nodes = new Map<string, DistNode>();
  private readonly waiting: Array<{ id: string; fallback: boolean; avoid?: string }> = [];
  /** Relay-capable holders, and whether each is sending now. */
  private readonly holders = new Map<string, boolean>();
  /** Transfers in flight: receiver id -> relay-capable receiver. */
  private readonly inflight = new Map<string, boolean>();

  constructor(private readonly mode: 'auto' | 'direct') {}

  /** A machine that already holds the artifacts (cached, read from the shared home). */
  holds(node: DistNode): void {
    this.nodes.set(node.id, node);
    if (node.relayCapable && this.mode === 'auto') this.holders.set(node.id, false);
  }

  /**
   * A machine that needs the artifacts; `fallback`: only the frontend may serve it; `avoid`: a
   * holder to use only when no other one is free (the one whose relay to it just failed).
   */
  want(node: DistNode, fallback = false, avoid?: string): void {
    this.nodes.set(node.id, node);
    this.waiting.push({ id: node.id, fallback, ...(avoid !== undefined ? { avoid } : {}) });
  }

  /** A holder that must not serve any more (it failed, or it leaves). */
  drop(id: string): void {
    this.holders.delete(id);
  }

  /** Transfers to start now (each waiting machine at most once). */
  next(): Array<{ to: string; assignment: Assignment }> {
    const out: Array<{ to: string; assignment: Assignment }> = [];
    // pushes the frontend owes anyway first: one of them may seed the others
    const forced = (w: { id: string; fallback: boolean }): boolean =>
      w.fallback || this.mode === 'direct' || !this.nodes.get(w.id)?.relayCapable;
    for (const w of [...this.waiting.filter(forced), ...this.waiting.filter((w) => !forced(w))]) {
      const node = this.nodes.get(w.id);
      if (!node) continue;
      let assignment: Assignment | undefined;
      if (w.fallback || !node.relayCapable || this.mode === 'direct') {
        assignment = { kind: 'frontend', fallback: w.fallback };
      } else {
        const frees = [...this.holders].filter(([, busy]) => !busy).map(([id]) => id);
        const free = frees.find((id) => id !== w.avoid) ?? frees[0];
        if (free !== undefined) {
          this.holders.set(free, true);
          assignment = { kind: 'relay', from: free };
        } else if (this.holders.size === 0 && ![...this.inflight.values()].some(Boolean)) {
          // nothing holds the artifacts nor is about to: the frontend seeds one machine
          assignment = { kind: 'frontend', fallback: false };
        }
      }
      if (!assignment) continue;
      this.waiting.splice(this.waiting.indexOf(w), 1);
      this.inflight.set(w.id, node.relayCapable && this.mode === 'auto');
      out.push({ to: w.id, assignment });
    }
    return out;
  }

  /**
   * Outcome of the transfer to `to`. `ok`: it holds the artifacts now. `sender`: the holder that
   * sent (relay), with `senderOk` false when it failed (it serves no more).
   */
  finished(to: string, ok: boolean, sender?: { id: string; ok: boolean }): void {
    this.inflight.delete(to);
    if (sender) {
      if (sender.ok && this.holders.has(sender.id)) this.holders.set(sender.id, false);
      else this.holders.delete(sender.id);
    }
    const node = this.nodes.get(to);
    if (ok && node) this.holds(node);
  }

  /** Machines still waiting for a source. */
  get pending(): number {
    return this.waiting.length;
  }
}
