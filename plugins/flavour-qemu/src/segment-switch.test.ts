import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { type Server, type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serveSegment } from './segment-switch.js';

let dir: string;
let server: Server;
let socket: string;
const clients: Socket[] = [];

/** A VM's view of the switch: frames in QEMU's stream format, as they arrive. */
async function port(): Promise<{ sock: Socket; got: Buffer[]; send(frame: Buffer): void }> {
  const sock = connect(socket);
  clients.push(sock);
  await new Promise((r) => sock.once('connect', r));
  const got: Buffer[] = [];
  let pending = Buffer.alloc(0);
  sock.on('data', (d: Buffer) => {
    pending = Buffer.concat([pending, d]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
      got.push(pending.subarray(4, 4 + pending.readUInt32BE(0)));
      pending = pending.subarray(4 + pending.readUInt32BE(0));
    }
  });
  return {
    sock,
    got,
    send(frame) {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(frame.length);
      sock.write(Buffer.concat([len, frame]));
    },
  };
}

const mac = (n: number): Buffer => Buffer.from([0x52, 0x54, 0, 1, 0, n]);
const frame = (dst: Buffer, src: Buffer, tag: string): Buffer =>
  Buffer.concat([dst, src, Buffer.from([0x08, 0x00]), Buffer.from(tag.padEnd(46, '.'))]);
const BROADCAST = Buffer.alloc(6, 0xff);
const settle = () => new Promise((r) => setTimeout(r, 100));
const tags = (got: Buffer[]) => got.map((f) => f.subarray(14).toString().replace(/\.+$/, ''));

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nxc-switch-'));
  socket = join(dir, 'segment.sock');
  server = await serveSegment(socket);
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('segment switch', () => {
  it('listens on a socket only its owner may use', () => {
    expect(statSync(socket).mode & 0o777).toBe(0o600);
  });

  it('floods broadcasts and unknown destinations, then sends unicast only to the learnt port', async () => {
    const [a, b, c] = [await port(), await port(), await port()];
    a.send(frame(BROADCAST, mac(1), 'who-has'));
    await settle();
    expect([tags(a.got), tags(b.got), tags(c.got)]).toEqual([[], ['who-has'], ['who-has']]);
    // b answers a: a's MAC was learnt from its broadcast, so c does not see the answer
    b.send(frame(mac(1), mac(2), 'is-at'));
    await settle();
    expect([tags(a.got), tags(c.got)]).toEqual([['is-at'], ['who-has']]);
    // to a MAC nobody sent from yet: every other port
    c.send(frame(mac(9), mac(3), 'unknown'));
    await settle();
    expect([tags(a.got), tags(b.got)]).toEqual([
      ['is-at', 'unknown'],
      ['who-has', 'unknown'],
    ]);
  });

  it('forgets a port that leaves, and drops a peer that sends a bogus length', async () => {
    const [a, b] = [await port(), await port()];
    b.send(frame(BROADCAST, mac(2), 'hello'));
    await settle();
    b.sock.destroy();
    await settle();
    a.send(frame(mac(2), mac(1), 'to-gone'));
    const c = await port();
    c.sock.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    await new Promise((r) => c.sock.once('close', r));
    // the switch still serves the others
    const d = await port();
    a.send(frame(BROADCAST, mac(1), 'still-up'));
    await settle();
    expect(tags(d.got)).toEqual(['still-up']);
  });
});
