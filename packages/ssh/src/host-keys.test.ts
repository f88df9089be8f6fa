import { describe, expect, it } from 'vitest';
import { HostKeyStore, hostKeyRecord } from './host-keys.js';

const blob = (type: string, body: string): Buffer => {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  return Buffer.concat([len, t, Buffer.from(body)]);
};

describe('HostKeyStore', () => {
  it('learns only when told to, then insists on the same key', () => {
    const a = blob('ssh-ed25519', 'AAA');
    const b = blob('ssh-ed25519', 'BBB');
    expect(hostKeyRecord(a).startsWith('ssh-ed25519 ')).toBe(true);
    const learned: string[] = [];
    const s = new HostKeyStore({}, { learn: true, onLearn: (h) => learned.push(h) });
    expect(s.verify('n1', a)).toBe(true);
    expect(s.verify('n1', a)).toBe(true);
    expect(s.verify('n1', b)).toBe(false);
    expect(s.mismatch('n1')).toMatchObject({
      host: 'n1',
      expected: hostKeyRecord(a),
      actual: hostKeyRecord(b),
    });
    expect(learned).toEqual(['n1']);
    const later = new HostKeyStore(s.toJSON());
    expect(later.verify('n1', a)).toBe(true);
    expect(later.verify('n2', a)).toBe(false);
    later.forget('n1');
    expect(later.get('n1')).toBeUndefined();
  });
});
