import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HostKeyStore, hostKeyRecord } from './host-keys.js';
import { hostFieldMatches, lookupKnownHosts, parseKnownHosts } from './known-hosts.js';

const KEY_A = 'AAAAC3NzaC1lZDI1NTE5AAAAIAYNIwgiAxMslDqU23RbqKvDhaexlATy5sK7ROtpRK42';
const KEY_B = 'AAAAC3NzaC1lZDI1NTE5AAAAIBm6hsz0Yc1I0xWAB3uyCVxzNMbG8Ivn1kt3Hb1/0E7M';
const hashed = (name: string) => {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
};

describe('known_hosts', () => {
  const text = [
    '# Grid5000 nodes',
    `graphene-1.nancy.grid5000.fr,graphene-1,172.16.64.1 ssh-ed25519 ${KEY_A}`,
    `${hashed('grisou-3.nancy.grid5000.fr')} ssh-ed25519 ${KEY_B} comment`,
    `*.lyon.grid5000.fr,!evil.lyon.grid5000.fr ssh-ed25519 ${KEY_A}`,
    `[node-9]:2222 ssh-ed25519 ${KEY_B}`,
    `@cert-authority *.grid5000.fr ssh-ed25519 ${KEY_B}`,
    'malformed line',
    '',
  ].join('\n');
  const lines = parseKnownHosts(text, '/etc/ssh/ssh_known_hosts');

  it.each([
    [['graphene-1.nancy.grid5000.fr'], [`ssh-ed25519 ${KEY_A}`]],
    [['node-x', '172.16.64.1'], [`ssh-ed25519 ${KEY_A}`]],
    [['grisou-3.nancy.grid5000.fr'], [`ssh-ed25519 ${KEY_B}`]],
    [['taurus-2.lyon.grid5000.fr'], [`ssh-ed25519 ${KEY_A}`]],
    [['evil.lyon.grid5000.fr'], []],
    [['unknown-7'], []],
  ])('%j -> %j', (names, records) => {
    expect(lookupKnownHosts(lines, names).keys.map((k) => k.record)).toEqual(records);
  });

  it('names the file and line, honours ports and @revoked', () => {
    expect(lookupKnownHosts(lines, ['graphene-1']).keys[0]?.source).toBe('/etc/ssh/ssh_known_hosts:2');
    expect(lookupKnownHosts(lines, ['node-9']).keys).toEqual([]);
    expect(lookupKnownHosts(lines, ['node-9'], 2222).keys.map((k) => k.record)).toEqual([
      `ssh-ed25519 ${KEY_B}`,
    ]);
    const revoked = parseKnownHosts(`${text}\n@revoked * ssh-ed25519 ${KEY_A}\n`, 'f');
    expect(lookupKnownHosts(revoked, ['graphene-1']).keys).toEqual([]);
    expect(hostFieldMatches('GRAPHENE-1', 'graphene-1')).toBe(true);
  });

  it('a store trusting listed keys accepts them only, even when learning, and says who listed them', () => {
    const blob = (b64: string) => Buffer.from(b64, 'base64');
    const store = new HostKeyStore({}, { learn: true });
    store.trust('graphene-1', [`ssh-ed25519 ${KEY_A}`], 'the key /etc/ssh/ssh_known_hosts:2 lists');
    expect(store.verify('graphene-1', blob(KEY_B))).toBe(false);
    expect(store.mismatch('graphene-1')).toEqual({
      host: 'graphene-1',
      expected: `ssh-ed25519 ${KEY_A}`,
      actual: hostKeyRecord(blob(KEY_B)),
      source: 'the key /etc/ssh/ssh_known_hosts:2 lists',
    });
    expect(store.verify('graphene-1', blob(KEY_A))).toBe(true);
    expect(store.get('graphene-1')).toBe(`ssh-ed25519 ${KEY_A}`);
    store.revoke([`ssh-ed25519 ${KEY_A}`]);
    expect(store.verify('graphene-1', blob(KEY_A))).toBe(false);
  });
});
