/**
 * Waiting for a node's SSH server without hanging on it. Two traps: QEMU's user-mode
 * networking accepts TCP on the forwarded port long before the guest listens (the
 * connection then stays silent), and unreachable hosts on some networks hang instead of
 * refusing. So each probe is a short TCP connection that must receive the `SSH-` banner
 * within a short time; only then is a full handshake worth trying.
 */
import { connect } from 'node:net';
import { NxcError } from '@nxc/core/flavour';

export interface WaitForSshOptions {
  /** Overall deadline in ms (default 120 000). */
  timeoutMs?: number;
  /** How long one probe waits for connect + banner (default 1500 ms). */
  probeTimeoutMs?: number;
  /** Pause between failed probes (default 200 ms). */
  intervalMs?: number;
  signal?: AbortSignal;
  /**
   * Called before each probe; returns a reason when waiting is pointless (the VM process
   * died, the node failed to boot): the wait stops at once with that reason.
   */
  check?: () => string | undefined | Promise<string | undefined>;
  /** Name used in messages (default `host:port`). */
  name?: string;
}

export interface WaitForSshResult {
  /** The banner line, e.g. `SSH-2.0-dropbear_2022.83`. */
  banner: string;
  /** Time waited. */
  ms: number;
  /** Number of probes. */
  probes: number;
}

/** One probe: resolves with the banner line, or undefined when none came in time. */
export function probeSshBanner(host: string, port: number, timeoutMs = 1500): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let data = '';
    let settled = false;
    const done = (banner: string | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(banner);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const nl = data.indexOf('\n');
      if (data.startsWith('SSH-') && nl >= 0) done(data.slice(0, nl).trim());
      else if (data.length >= 4 && !'SSH-'.startsWith(data.slice(0, 4))) done(undefined);
      else if (data.length > 255) done(undefined);
    });
    socket.on('error', () => done(undefined));
    socket.on('close', () => done(undefined));
  });
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Resolves once `host:port` sends an SSH banner. Throws NxcError `NXC_NODE_UNREACHABLE` at
 * the deadline, `NXC_NODE_FAILED` when `check` reports a reason, `NXC_INTERRUPTED` on abort.
 */
export async function waitForSsh(
  host: string,
  port: number,
  options: WaitForSshOptions = {},
): Promise<WaitForSshResult> {
  const { timeoutMs = 120_000, probeTimeoutMs = 1500, intervalMs = 200, signal, check } = options;
  const name = options.name ?? `${host}:${port}`;
  const start = Date.now();
  let probes = 0;
  for (;;) {
    if (signal?.aborted)
      throw new NxcError('NXC_INTERRUPTED', `interrupted while waiting for SSH on ${name}`);
    const reason = check ? await check() : undefined;
    if (reason) throw new NxcError('NXC_NODE_FAILED', `${name}: ${reason}`);
    const left = timeoutMs - (Date.now() - start);
    if (left <= 0) {
      throw new NxcError(
        'NXC_NODE_UNREACHABLE',
        `${name}: no SSH server answered on ${host}:${port} within ${Math.round(timeoutMs / 1000)} s`,
        {
          hint: 'check the node console log; raise the timeout if the machine is slow',
        },
      );
    }
    probes++;
    const banner = await probeSshBanner(host, port, Math.min(probeTimeoutMs, left));
    if (banner) return { banner, ms: Date.now() - start, probes };
    await sleep(Math.min(intervalMs, Math.max(0, timeoutMs - (Date.now() - start))), signal);
  }
}
