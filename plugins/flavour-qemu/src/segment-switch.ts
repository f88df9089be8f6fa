/**
 * The private L2 segment of a qemu deployment: a learning Ethernet switch on a unix stream
 * socket inside the deployment's 0700 run folder, so only the deploying user can join it.
 * Every VM's segment NIC is a QEMU `-netdev stream` client of this socket; QEMU frames each
 * Ethernet frame with a 4-byte big-endian length. Frames go to the port that last sent from
 * the destination MAC, or to every other port (broadcast, multicast, unknown destination).
 *
 * Run detached by the deploy side (`node segment-switch.js --name NAME --socket PATH`); it
 * lives until SIGTERM, or until its socket is removed (the run folder is gone: nothing can
 * join any more). Node built-ins only: it starts fast and stays small.
 */
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** Largest frame accepted (jumbo frames included); a larger length means a broken peer. */
const MAX_FRAME = 65_550;
/** Bytes queued towards a port that stops reading before its frames are dropped (a busy switch port). */
const MAX_QUEUE = 4 << 20;

/** Starts the switch on `socketPath` (created 0600); resolves once it listens. */
export function serveSegment(socketPath: string): Promise<Server> {
  const ports = new Set<Socket>();
  const macs = new Map<string, Socket>();
  const send = (to: Socket, packet: Buffer): void => {
    if (!to.destroyed && to.writableLength < MAX_QUEUE) to.write(packet);
  };
  const server = createServer((port) => {
    ports.add(port);
    let pending: Buffer = Buffer.alloc(0);
    port.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const len = pending.readUInt32BE(0);
        if (len < 14 || len > MAX_FRAME) {
          port.destroy();
          return;
        }
        if (pending.length < 4 + len) break;
        const packet = pending.subarray(0, 4 + len);
        pending = pending.subarray(4 + len);
        const frame = packet.subarray(4);
        const src = frame.toString('hex', 6, 12);
        // a multicast source address is never learnt (it would capture that group's traffic)
        if ((frame[6]! & 1) === 0) macs.set(src, port);
        const dst = (frame[0]! & 1) === 0 ? macs.get(frame.toString('hex', 0, 6)) : undefined;
        if (dst && dst !== port && ports.has(dst)) send(dst, packet);
        else if (!dst) for (const p of ports) if (p !== port) send(p, packet);
      }
    });
    const drop = (): void => {
      ports.delete(port);
      for (const [mac, p] of macs) if (p === port) macs.delete(mac);
    };
    port.on('close', drop);
    port.on('error', drop);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const umask = process.umask(0o077);
    server.listen(socketPath, () => {
      process.umask(umask);
      chmodSync(socketPath, 0o600);
      resolve(server);
    });
  });
}

/** Command-line entry: `--name NAME` (how stop finds the process) `--socket PATH`. */
async function main(argv: string[]): Promise<void> {
  const socketPath = argv[argv.indexOf('--socket') + 1];
  if (!argv.includes('--socket') || !socketPath) {
    process.stderr.write('usage: segment-switch --name NAME --socket PATH\n');
    process.exit(2);
  }
  process.on('SIGHUP', () => undefined);
  const server = await serveSegment(socketPath);
  const quit = (): void => {
    server.close();
    rmSync(socketPath, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', quit);
  process.on('SIGINT', quit);
  setInterval(() => {
    if (!existsSync(socketPath)) quit();
  }, 2000);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`segment switch: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
