/**
 * `forward_port` for containers: Docker publishes ports only when a container is created, so
 * a port forwarded later is a TCP relay in the nxc process, from 127.0.0.1:hostPort to the
 * container's address on the deployment's bridge network. It lives until the driver session
 * ends (`close()`), not as long as the container.
 */
import { type Server, type Socket, connect, createServer } from 'node:net';
import { NxcError } from '@nxc/core/flavour';

/** Relays opened by one driver session. */
export class PortRelays {
  private readonly servers = new Set<Server>();
  private readonly sockets = new Set<Socket>();

  /** Listens on 127.0.0.1:hostPort and relays every connection to `address:guestPort`. */
  async open(host: string, address: string, hostPort: number, guestPort: number): Promise<void> {
    const server = createServer((inbound) => {
      const outbound = connect({ host: address, port: guestPort });
      for (const s of [inbound, outbound]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new NxcError(
            'NXC_USAGE',
            `node "${host}": cannot forward 127.0.0.1:${hostPort} to its port ${guestPort}: ${error.code ?? error.message}`,
            { hint: `is port ${hostPort} already in use on this machine? pick another host port` },
          ),
        ),
      );
      server.listen({ host: '127.0.0.1', port: hostPort }, () => resolve());
    });
    this.servers.add(server);
  }

  /** Stops listening and cuts the relayed connections. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await Promise.all([...this.servers].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers.clear();
  }
}
