import { describe, expect, it } from 'vitest';
import {
  allocateAddresses,
  candidateSubnets,
  formatCidr,
  intToIp,
  ipToInt,
  overlaps,
  parseCidr,
  prefixFor,
} from './network.js';

describe('address allocation', () => {
  it('converts addresses both ways', () => {
    expect(intToIp(ipToInt('172.18.3.250'))).toBe('172.18.3.250');
    expect(ipToInt('255.255.255.255')).toBe(0xffffffff);
    expect(() => ipToInt('1.2.3')).toThrow();
    expect(formatCidr(parseCidr('172.18.3.7/24'))).toBe('172.18.3.0/24');
  });

  it('detects overlapping subnets', () => {
    expect(overlaps(parseCidr('172.18.0.0/16'), parseCidr('172.18.5.0/24'))).toBe(true);
    expect(overlaps(parseCidr('172.18.0.0/24'), parseCidr('172.18.1.0/24'))).toBe(false);
  });

  it('sizes the subnet for the node count (network, gateway, broadcast kept free)', () => {
    expect(prefixFor(3)).toBe(24);
    expect(prefixFor(253)).toBe(24);
    expect(prefixFor(254)).toBe(23);
    expect(prefixFor(1000)).toBe(22);
  });

  it('skips subnets in use by the engine or the host', () => {
    const taken = [parseCidr('172.17.0.0/16'), parseCidr('172.18.0.0/24'), parseCidr('172.18.1.0/24')];
    const first = candidateSubnets(4, taken).next().value!;
    expect(formatCidr(first)).toBe('172.18.2.0/24');
    const all = [...candidateSubnets(4, [parseCidr('0.0.0.0/0')])];
    expect(all).toEqual([]);
  });

  it('gives the gateway the first address and nodes the following ones', () => {
    const { gateway, addresses } = allocateAddresses(parseCidr('172.18.2.0/24'), 4);
    expect(gateway).toBe('172.18.2.1');
    expect(addresses).toEqual(['172.18.2.2', '172.18.2.3', '172.18.2.4', '172.18.2.5']);
    expect(allocateAddresses(parseCidr('10.0.0.0/24'), 253).addresses.at(-1)).toBe('10.0.0.254');
    expect(() => allocateAddresses(parseCidr('10.0.0.0/24'), 254)).toThrow(/cannot hold/);
  });
});
