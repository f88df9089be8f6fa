/**
 * A real SSH server (ssh2's server side, on loopback) whose SFTP subsystem serves a tree the
 * test describes, names included: what a compromised node's SFTP server could answer. Any
 * client key is accepted; the tree lives in memory.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { HostKeyStore, SshTransport } from '../src/index.js';

const { Server, utils } = ssh2;
const { STATUS_CODE } = utils.sftp;

/** A node of the served tree: a file (content), a directory (entries, in listing order) or a link. */
export type FakeEntry =
  | { kind: 'file'; content: string; mode?: number }
  | { kind: 'dir'; entries: [name: string, entry: FakeEntry][]; mode?: number }
  | { kind: 'link'; target: string };

export interface LyingSftpServer {
  port: number;
  /** Paths the client opened for reading (to check what was followed). */
  opened: string[];
  /** Requests seen: exec commands (refused or run) and SFTP subsystem starts. */
  requests: { exec: number; sftp: number; ran: string[] };
  close(): Promise<void>;
}

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

function attrsOf(entry: FakeEntry) {
  const now = Math.floor(Date.now() / 1000);
  const base = { uid: 0, gid: 0, atime: now, mtime: now };
  if (entry.kind === 'file')
    return { ...base, mode: S_IFREG | (entry.mode ?? 0o644), size: Buffer.byteLength(entry.content) };
  if (entry.kind === 'dir') return { ...base, mode: S_IFDIR | (entry.mode ?? 0o755), size: 4096 };
  return { ...base, mode: S_IFLNK | 0o777, size: entry.target.length };
}

/** Looks `path` up by exact names (no normalization: the lies are in the names). */
function lookup(root: Record<string, FakeEntry>, path: string): FakeEntry | undefined {
  if (root[path]) return root[path];
  // children of a listed directory, reached as `<dir>/<name>`
  for (const [top, entry] of Object.entries(root)) {
    if (!path.startsWith(`${top}/`) || entry.kind !== 'dir') continue;
    let current: FakeEntry | undefined = entry;
    let rest = path.slice(top.length + 1);
    while (current && current.kind === 'dir' && rest !== '') {
      const match: [string, FakeEntry] | undefined = current.entries
        .filter(([name]) => rest === name || rest.startsWith(`${name}/`))
        .sort((a, b) => b[0].length - a[0].length)[0];
      if (!match) return undefined;
      current = match[1];
      rest = rest.slice(match[0].length + 1);
    }
    if (rest === '') return current;
  }
  return undefined;
}

/** How the server answers session requests besides SFTP's content. */
export interface SessionBehaviour {
  /** Refuse this many exec requests first (CHANNEL_FAILURE), then run them: `echo` of the command. */
  refuseExec?: number;
  /** Refuse this many SFTP subsystem requests first. */
  refuseSftp?: number;
  /** Accept this many SFTP subsystem requests (after the refused ones) and close them at once. */
  dropSftp?: number;
  /** Close the connection right after refusing a request (a machine going down meanwhile). */
  hangUpAfterRefusal?: boolean;
  /** Start the command, then close the connection before its exit status (a machine going down). */
  hangUpDuringExec?: boolean;
}

/** Starts the server; `tree` maps absolute remote paths to what they are. */
export async function startLyingSftpServer(
  tree: Record<string, FakeEntry>,
  behaviour: SessionBehaviour = {},
): Promise<LyingSftpServer> {
  // ssh-keygen, not ssh2's generateKeyPairSync: about 1 ed25519 key in 256 of the latter does
  // not parse (ssh2 issues #1390, #1513: it strips leading zero bytes of the public key)
  const keyDir = mkdtempSync(join(tmpdir(), 'nxc-lying-host-key-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyDir, 'key')]);
  const hostKey = readFileSync(join(keyDir, 'key'));
  rmSync(keyDir, { recursive: true, force: true });
  const opened: string[] = [];
  const requests = { exec: 0, sftp: 0, ran: [] as string[] };
  const clients = new Set<{ end(): void }>();
  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('authentication', (ctx) => {
      if (ctx.method === 'publickey') ctx.accept();
      else ctx.reject(['publickey']);
    });
    client.on('error', () => undefined);
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('exec', (acceptExec, rejectExec, info) => {
          requests.exec++;
          if (requests.exec <= (behaviour.refuseExec ?? 0)) {
            rejectExec();
            if (behaviour.hangUpAfterRefusal) client.end();
            return;
          }
          requests.ran.push(info.command);
          const channel = acceptExec();
          // the transport's command line first prints the shell's PID on a marker line
          channel.write(`NXC-PID:4242\nran: ${info.command}\n`);
          if (behaviour.hangUpDuringExec) {
            setTimeout(() => client.end(), 50);
            return;
          }
          channel.exit(0);
          channel.end();
        });
        session.on('sftp', (acceptSftp, rejectSftp) => {
          requests.sftp++;
          if (requests.sftp <= (behaviour.refuseSftp ?? 0)) {
            rejectSftp();
            if (behaviour.hangUpAfterRefusal) client.end();
            return;
          }
          const sftp = acceptSftp();
          if (requests.sftp <= (behaviour.refuseSftp ?? 0) + (behaviour.dropSftp ?? 0)) {
            sftp.end();
            return;
          }
          sftp.on('end', () => sftp.end());
          const handles = new Map<string, { path: string; entry: FakeEntry; listed?: boolean }>();
          let next = 0;
          const newHandle = (path: string, entry: FakeEntry): Buffer => {
            const id = String(next++);
            handles.set(id, { path, entry });
            return Buffer.from(id);
          };
          sftp.on('STAT', (reqid, path) => {
            let entry = lookup(tree, path);
            if (entry?.kind === 'link') entry = lookup(tree, entry.target);
            if (!entry) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
            sftp.attrs(reqid, attrsOf(entry));
          });
          sftp.on('LSTAT', (reqid, path) => {
            const entry = lookup(tree, path);
            if (!entry) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
            sftp.attrs(reqid, attrsOf(entry));
          });
          sftp.on('OPENDIR', (reqid, path) => {
            const entry = lookup(tree, path);
            if (!entry || entry.kind !== 'dir') return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
            sftp.handle(reqid, newHandle(path, entry));
          });
          sftp.on('READDIR', (reqid, handle) => {
            const h = handles.get(handle.toString());
            if (!h || h.entry.kind !== 'dir') return sftp.status(reqid, STATUS_CODE.FAILURE);
            if (h.listed) return sftp.status(reqid, STATUS_CODE.EOF);
            h.listed = true;
            sftp.name(
              reqid,
              h.entry.entries.map(([filename, entry]) => ({
                filename,
                longname: filename,
                attrs: attrsOf(entry),
              })),
            );
          });
          sftp.on('OPEN', (reqid, path) => {
            let entry = lookup(tree, path);
            if (entry?.kind === 'link') entry = lookup(tree, entry.target);
            if (!entry || entry.kind !== 'file') return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
            opened.push(path);
            sftp.handle(reqid, newHandle(path, entry));
          });
          sftp.on('FSTAT', (reqid, handle) => {
            const h = handles.get(handle.toString());
            if (!h) return sftp.status(reqid, STATUS_CODE.FAILURE);
            sftp.attrs(reqid, attrsOf(h.entry));
          });
          sftp.on('READ', (reqid, handle, offset, length) => {
            const h = handles.get(handle.toString());
            if (!h || h.entry.kind !== 'file') return sftp.status(reqid, STATUS_CODE.FAILURE);
            const data = Buffer.from(h.entry.content);
            if (offset >= data.length) return sftp.status(reqid, STATUS_CODE.EOF);
            sftp.data(reqid, data.subarray(offset, offset + length));
          });
          sftp.on('READLINK', (reqid, path) => {
            const entry = lookup(tree, path);
            if (entry?.kind !== 'link') return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
            sftp.name(reqid, [{ filename: entry.target, longname: entry.target, attrs: {} as never }]);
          });
          sftp.on('REALPATH', (reqid, path) => {
            sftp.name(reqid, [{ filename: path, longname: path, attrs: {} as never }]);
          });
          sftp.on('CLOSE', (reqid, handle) => {
            handles.delete(handle.toString());
            sftp.status(reqid, STATUS_CODE.OK);
          });
        });
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    opened,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.end();
        server.close(() => resolve());
      }),
  };
}

/**
 * For one test file: a client key made once (ssh-keygen), a work folder, and `node()` starting a
 * lying server with a transport to it as node `name`; both closed after each test.
 */
export function useLyingNode(name: string): {
  work(): string;
  node(tree: Record<string, FakeEntry>, behaviour?: SessionBehaviour): Promise<SshTransport>;
  server(): LyingSftpServer | undefined;
} {
  let work = '';
  let key = '';
  let server: LyingSftpServer | undefined;
  let transport: SshTransport | undefined;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'nxc-lying-node-'));
    key = join(work, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  });
  afterEach(async () => {
    await transport?.close();
    await server?.close();
    transport = undefined;
    server = undefined;
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });
  return {
    work: () => work,
    server: () => server,
    async node(tree, behaviour = {}) {
      server = await startLyingSftpServer(tree, behaviour);
      transport = new SshTransport({
        nodes: { [name]: { address: '127.0.0.1', port: server.port } },
        privateKey: key,
        hostKeys: new HostKeyStore({}, { learn: true }),
        connectTimeoutMs: 5000,
      });
      return transport;
    },
  };
}
