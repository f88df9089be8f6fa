import { describe, expect, it } from 'vitest';
import type { DeploymentDocument } from '../deployment.js';
import { parseSelector } from './select.js';
import { resolveTargets } from './targets.js';

const doc: DeploymentDocument = {
  deployment: {
    '172.20.0.2': { role: 'server', host: 'server' },
    '172.20.0.3': { role: 'client', host: 'client1' },
    '172.20.0.4': { role: 'client', host: 'client2' },
  },
  'ssh_key.pub': 'ssh-ed25519 AAAA test',
  composition: 'composition',
  flavour: 'docker',
  user: 'me',
};

describe('resolveTargets', () => {
  it('all, @role, hostnames and addresses, deduplicated in order', () => {
    expect(resolveTargets(doc, ['all']).map((n) => n.host)).toEqual(['server', 'client1', 'client2']);
    expect(resolveTargets(doc, []).map((n) => n.host)).toEqual(['server', 'client1', 'client2']);
    expect(resolveTargets(doc, ['@client', 'client1']).map((n) => n.host)).toEqual(['client1', 'client2']);
    expect(resolveTargets(doc, ['172.20.0.2'])[0]).toEqual({
      host: 'server',
      role: 'server',
      address: '172.20.0.2',
    });
  });
  it('names unknown hosts and roles with the choices', () => {
    expect(() => resolveTargets(doc, ['clinet1'])).toThrow(
      'no node "clinet1" in the deployment (nodes: server, client1, client2)',
    );
    expect(() => resolveTargets(doc, ['@worker'])).toThrow(
      'no node has role "worker" in the deployment (roles: server, client)',
    );
  });
});

describe('parseSelector', () => {
  it('splits comp::flavour and merges -f', () => {
    expect(parseSelector({ composition: 'c::docker' })).toEqual({ composition: 'c', flavour: 'docker' });
    expect(parseSelector({ composition: 'c', flavour: 'vm' })).toEqual({ composition: 'c', flavour: 'vm' });
    expect(parseSelector({ composition: '::docker' })).toEqual({ flavour: 'docker' });
    expect(parseSelector({})).toEqual({});
  });
  it('rejects contradictions and malformed values', () => {
    expect(() => parseSelector({ composition: 'c::docker', flavour: 'vm' })).toThrow(
      '-C c::docker names flavour "docker" but -f says "vm"',
    );
    expect(() => parseSelector({ composition: 'c::' })).toThrow(
      'expected COMPOSITION or COMPOSITION::FLAVOUR',
    );
  });
});
