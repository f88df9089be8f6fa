/**
 * Serving the deployment document to booting nodes when it does not fit on the kernel command
 * line (or with `--remote-deployment-info`). The server listens on the deploying host's
 * address that the nodes route to (found by asking the kernel which source address it would
 * use towards a node), never on every interface. Plain HTTP on a shared network: nodes check
 * the document against the digest they get on the kernel command line (`deploy_sha256=`).
 */
import { createSocket } from 'node:dgram';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type DeploymentDocument, NxcError, deploymentBody } from '@nxc/core/flavour';

/**
 * The local address this host uses to reach `address` (a UDP "connect" sends nothing; it only
 * asks the routing table).
 */
export function sourceAddressFor(address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.on('error', (e) => {
      socket.close();
      reject(e);
    });
    socket.connect(9, address, () => {
      const local = socket.address().address;
      socket.close();
      resolve(local);
    });
  });
}

/** A running deployment server. */
export interface DeploymentServer {
  /** URL nodes fetch (`deploy=<url>`). */
  url: string;
  /** SHA-256 (hex) of the bytes served: nodes get it as `deploy_sha256=` and refuse anything else. */
  sha256: string;
  /** Addresses that fetched the document so far. */
  fetchedBy(): string[];
  close(): Promise<void>;
}

/** Serves `doc` at `http://<host>:<port>/deployment.json` (port 0: any free port). */
export async function serveDeployment(
  doc: DeploymentDocument,
  options: { host: string; port?: number },
): Promise<DeploymentServer> {
  const served = deploymentBody(doc);
  const body = served.body;
  const fetched = new Set<string>();
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/deployment.json') {
      fetched.add((req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new NxcError(
          'NXC_DEPLOYMENT',
          `cannot serve the deployment on ${options.host}:${options.port ?? 0}: ${e.code ?? e.message}`,
          {
            hint: 'choose another port with --port (or free this one)',
          },
        ),
      ),
    );
    server.listen(options.port ?? 0, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host}:${port}/deployment.json`;
  return {
    url,
    sha256: served.sha256,
    fetchedBy: () => [...fetched],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
