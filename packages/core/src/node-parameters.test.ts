import { describe, expect, it } from 'vitest';
import { NxcError } from './errors.js';
import { routeParameters } from './node-parameters.js';

const nodes = [
  { role: 'server', host: 'server' },
  { role: 'client', host: 'client1' },
  { role: 'client', host: 'client2' },
  { role: 'client', host: 'client3' },
];

function refusal(parameters: Record<string, unknown>, targets = nodes): NxcError {
  try {
    routeParameters(parameters, targets);
  } catch (error) {
    expect(error).toBeInstanceOf(NxcError);
    return error as NxcError;
  }
  throw new Error('expected a refusal');
}

describe('routeParameters', () => {
  it('node > role > global', () => {
    const routed = routeParameters({ rate: 5, 'client.rate': 10, 'client2.rate': 20 }, nodes);
    expect(routed.global).toEqual({ rate: 5 });
    expect(routed.byHost).toEqual({ client1: { rate: 10 }, client2: { rate: 20 }, client3: { rate: 10 } });
  });

  it('the order keys are given in does not change the precedence', () => {
    const routed = routeParameters({ 'client2.rate': 20, 'client.rate': 10, rate: 5 }, nodes);
    expect(routed.byHost.client2).toEqual({ rate: 20 });
    expect(routed.byHost.client1).toEqual({ rate: 10 });
  });

  it('a single-node role is addressed by its name as role or host alike', () => {
    expect(routeParameters({ 'server.port': 80 }, nodes).byHost).toEqual({ server: { port: 80 } });
  });

  it('splits at the first dot only, and keeps values as given', () => {
    const routed = routeParameters({ 'client.db.url': 'x', 'client3.list': [1, 2] }, nodes);
    expect(routed.byHost.client1).toEqual({ 'db.url': 'x' });
    expect(routed.byHost.client3).toEqual({ 'db.url': 'x', list: [1, 2] });
    expect(routed.global).toEqual({});
  });

  it('keeps a dotted key global when its prefix is no role or node, as the original nxc did', () => {
    const routed = routeParameters({ 'experiment.duration': 60, 'a.b': 1 }, nodes);
    expect(routed).toEqual({ global: { 'experiment.duration': 60, 'a.b': 1 }, byHost: {} });
  });

  it('a nested object is a global value, not a per-role one', () => {
    const routed = routeParameters({ client: { rate: 3 } }, nodes);
    expect(routed).toEqual({ global: { client: { rate: 3 } }, byHost: {} });
  });

  it.each([
    [
      'clinet.rate',
      /"clinet" is neither a role nor a node of this deployment \(roles: server, client; nodes: server, client1, client2, client3\)/,
      /did you mean "client.rate"\?/,
    ],
    // a node the distribution does not have (e.g. -r client=3 when the script expects 4)
    ['client4.rate', /"client4" is neither a role nor a node/, /did you mean "client.rate"\?/],
    ['Client2.rate', /"Client2" is neither a role nor a node/, /did you mean "client2.rate"\?/],
    ['client.', /no parameter name after "client."/, /-p client.rate=10/],
  ])('refuses %s', (key, message, hint) => {
    const error = refusal({ [key]: 1 });
    expect(error.code).toBe('NXC_USAGE');
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(new RegExp(`^parameter "${key.replace('.', '\\.')}": `));
    expect(error.message).toMatch(message);
    expect(error.hint).toMatch(hint);
  });

  it('refuses a prefix that is both a node of one role and another role', () => {
    const targets = [
      { role: 'front', host: 'cache' },
      { role: 'cache', host: 'cache1' },
      { role: 'cache', host: 'cache2' },
    ];
    const error = refusal({ 'cache.size': 1 }, targets);
    expect(error.message).toBe('parameter "cache.size": "cache" is both a node (of role front) and a role');
  });
});

describe('routeParameters, collecting every problem (nxc check)', () => {
  it('reports each misrouted key, leaves it out and routes the others', () => {
    const nodes = [
      { role: 'server', host: 'server' },
      { role: 'client', host: 'client1' },
      { role: 'client', host: 'client2' },
    ];
    const problems: string[] = [];
    const routed = routeParameters(
      { 'clent.rate': 1, 'client.': 2, 'client2.rate': 3, rate: 4 },
      nodes,
      (p) => problems.push(p.message),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^parameter "clent.rate": "clent" is neither a role nor a node/),
      'parameter "client.": no parameter name after "client."',
    ]);
    expect(routed).toEqual({ global: { rate: 4 }, byHost: { client2: { rate: 3 } } });
  });
});
