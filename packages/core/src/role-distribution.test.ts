import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NxcError } from './errors.js';
import {
  isValidHostname,
  mergeRoleDistributions,
  parseRoleFlags,
  readRoleDistributionFile,
  resolveNodes,
} from './role-distribution.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nxc-rd-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

function catchSync(fn: () => unknown): NxcError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(NxcError);
    return error as NxcError;
  }
  throw new Error('expected an NxcError');
}

async function catchAsync(p: Promise<unknown>): Promise<NxcError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NxcError);
  return error as NxcError;
}

const hosts = (nodes: { role: string; host: string }[]) => nodes.map((n) => `${n.role}:${n.host}`);

describe('readRoleDistributionFile', () => {
  it.each([
    [
      'counts and lists (YAML)',
      'roles.yaml',
      'server: 1\nagent: [foo, bar]\n',
      { server: 1, agent: ['foo', 'bar'] },
    ],
    ['block list (YAML)', 'r.yml', 'agent:\n  - a1\n  - a2\n', { agent: ['a1', 'a2'] }],
    [
      '!DefaultRole n',
      'g5k.yaml',
      'server: 1\nnode: !DefaultRole 2\n',
      { server: 1, node: { kind: 'default', min: 2 } },
    ],
    [
      '!DefaultRole alone = at least 1',
      'g5k.yaml',
      'node: !DefaultRole\n',
      { node: { kind: 'default', min: 1 } },
    ],
    [
      'defaultRole mapping (YAML)',
      'd.yaml',
      'node: {defaultRole: 0}\n',
      { node: { kind: 'default', min: 0 } },
    ],
    [
      'JSON',
      'roles.json',
      '{"server": 2, "agent": ["x"], "node": {"defaultRole": 3}}',
      {
        server: 2,
        agent: ['x'],
        node: { kind: 'default', min: 3 },
      },
    ],
  ])('%s', async (_name, file, text, expected) => {
    expect(await readRoleDistributionFile(await put(file, text))).toEqual(expected);
  });

  it.each([
    ['empty', 'e.yaml', '  \n', /e.yaml: the file is empty/],
    ['only a comment', 'c.yaml', '# nothing\n', /c.yaml: the file is empty/],
    ['a list', 'l.yaml', '- server\n- agent\n', /l.yaml: expected a mapping of role names, got a list/],
    ['a scalar', 's.yaml', 'server\n', /s.yaml: expected a mapping of role names, got "server"/],
    ['zero', 'z.yaml', 'agent: 0\n', /z.yaml: role "agent": count 0 is not a positive integer/],
    ['negative', 'n.yaml', 'agent: -2\n', /role "agent": count -2 is not a positive integer/],
    ['fraction', 'f.yaml', 'agent: 1.5\n', /role "agent": count 1.5 is not a positive integer/],
    [
      'string',
      's2.yaml',
      'agent: three\n',
      /role "agent": "three" is not a count, a list of hostnames or !DefaultRole/,
    ],
    ['null', 'nu.yaml', 'agent:\n', /role "agent": null is not a count/],
    ['mapping', 'm.yaml', 'agent: {count: 3}\n', /role "agent": a mapping is not a count/],
    ['empty list', 'el.yaml', 'agent: []\n', /role "agent": the hostname list is empty/],
    [
      'bad hostname',
      'h.yaml',
      'agent: [good, bad_name]\n',
      /role "agent": "bad_name" is not a valid hostname/,
    ],
    ['number in list', 'h2.yaml', 'agent: [1]\n', /role "agent": 1 is not a valid hostname/],
    ['duplicate in list', 'd.yaml', 'agent: [a, A]\n', /role "agent": hostname "A" is listed twice/],
    [
      'bad !DefaultRole',
      'dr.yaml',
      'node: !DefaultRole many\n',
      /dr.yaml:1: !DefaultRole many is not a non-negative integer/,
    ],
    ['YAML syntax', 'y.yaml', 'server: [1\n', /y.yaml:\d+: /],
    ['duplicate key', 'dk.yaml', 'a: 1\na: 2\n', /dk.yaml:2: Map keys must be unique/],
    ['bad JSON', 'b.json', '{"a": }', /b.json: not valid JSON/],
    [
      'bad defaultRole',
      'bd.json',
      '{"a": {"defaultRole": -1}}',
      /role "a": defaultRole -1 is not a non-negative integer/,
    ],
  ])('%s -> one-line NXC_DISTRIBUTION', async (_name, file, text, expected) => {
    const error = await catchAsync(readRoleDistributionFile(await put(file, text)));
    expect(error.code).toBe('NXC_DISTRIBUTION');
    expect(error.message).toMatch(expected);
    expect(error.message).not.toContain('\n');
    expect(error.hint).toBeTruthy();
  });

  it('missing file', async () => {
    const error = await catchAsync(readRoleDistributionFile(join(dir, 'nope.yaml')));
    expect(error.message).toMatch(/role distribution file .*nope.yaml does not exist/);
  });
});

describe('parseRoleFlags', () => {
  it.each([
    [['agent=3'], { agent: 3 }],
    [['server=foo,bar'], { server: ['foo', 'bar'] }],
    [['server=foo'], { server: ['foo'] }],
    [['agent=3', 'server=1'], { agent: 3, server: 1 }],
    [[' agent = 2 '], { agent: 2 }],
  ])('%j', (flags, expected) => {
    expect(parseRoleFlags(flags)).toEqual(expected);
  });

  it.each([
    [['agent'], 'NXC_USAGE', /-r agent: expected ROLE=COUNT or ROLE=HOST1,HOST2/],
    [['=3'], 'NXC_USAGE', /-r =3: expected ROLE=COUNT/],
    [['agent='], 'NXC_USAGE', /-r agent=: expected ROLE=COUNT/],
    [['agent=0'], 'NXC_DISTRIBUTION', /-r agent=0: role "agent": count 0 is not a positive integer/],
    [['agent=-1'], 'NXC_DISTRIBUTION', /count -1 is not a positive integer/],
    [['agent=2.5'], 'NXC_DISTRIBUTION', /count 2.5 is not a positive integer/],
    [['agent=a,,b'], 'NXC_DISTRIBUTION', /"" is not a valid hostname/],
    [['agent=a_b'], 'NXC_DISTRIBUTION', /"a_b" is not a valid hostname/],
    [['agent=a,a'], 'NXC_DISTRIBUTION', /hostname "a" is listed twice/],
    [['agent=1', 'agent=2'], 'NXC_USAGE', /-r agent=2: role "agent" is given twice/],
  ])('%j -> error', (flags, code, expected) => {
    const error = catchSync(() => parseRoleFlags(flags));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(expected);
  });
});

describe('resolveNodes', () => {
  const roles = ['server', 'agent'];

  it.each([
    ['one per role by default', {}, ['server:server', 'agent:agent']],
    ['count 1 -> role name', { spec: { agent: 1 } }, ['server:server', 'agent:agent']],
    [
      'count n -> role1..rolen',
      { spec: { agent: 3 } },
      ['server:server', 'agent:agent1', 'agent:agent2', 'agent:agent3'],
    ],
    [
      'list -> those names',
      { spec: { server: ['s-a', 's-b'] } },
      ['server:s-a', 'server:s-b', 'agent:agent'],
    ],
    ['composition defaults', { defaults: { agent: 2 } }, ['server:server', 'agent:agent1', 'agent:agent2']],
    ['defaults as list', { defaults: { server: ['main'] } }, ['server:main', 'agent:agent']],
    [
      'spec overrides defaults',
      { spec: { agent: 1 }, defaults: { agent: 5 } },
      ['server:server', 'agent:agent'],
    ],
    [
      'default role takes the leftovers',
      { spec: { server: 1, agent: { kind: 'default', min: 2 } }, machineCount: 4 },
      ['server:server', 'agent:agent1', 'agent:agent2', 'agent:agent3'],
    ],
    [
      'default role with exactly one leftover',
      { spec: { agent: { kind: 'default', min: 1 } }, machineCount: 2 },
      ['server:server', 'agent:agent'],
    ],
    [
      'default role without machines = its minimum',
      { spec: { agent: { kind: 'default', min: 2 } } },
      ['server:server', 'agent:agent1', 'agent:agent2'],
    ],
    [
      'default role min 0 and nothing left',
      { spec: { agent: { kind: 'default', min: 0 } }, machineCount: 1 },
      ['server:server'],
    ],
    [
      'fewer nodes than machines is fine',
      { spec: { agent: 2 }, machineCount: 10 },
      ['server:server', 'agent:agent1', 'agent:agent2'],
    ],
  ] as const)('%s', (_name, input, expected) => {
    expect(hosts(resolveNodes({ roles, ...(input as object) }))).toEqual(expected);
  });

  it('flags override the file per role, the file overrides defaults', async () => {
    const file = await readRoleDistributionFile(await put('prec.yaml', 'server: [alpha]\nagent: 4\n'));
    const flags = parseRoleFlags(['agent=2']);
    const nodes = resolveNodes({
      roles: ['server', 'agent', 'db'],
      spec: mergeRoleDistributions(file, flags),
      defaults: { db: 2, server: 3 },
    });
    expect(hosts(nodes)).toEqual(['server:alpha', 'agent:agent1', 'agent:agent2', 'db:db1', 'db:db2']);
  });

  it('unknown role names its source and lists the known roles', async () => {
    const file = await readRoleDistributionFile(await put('roles.yaml', 'agnet: 2\n'));
    const error = catchSync(() =>
      resolveNodes({ roles, spec: mergeRoleDistributions(file, parseRoleFlags(['server=1'])) }),
    );
    expect(error.code).toBe('NXC_DISTRIBUTION');
    expect(error.message).toMatch(
      /roles.yaml: role "agnet" is not in the composition \(roles: server, agent\)$/,
    );
    expect(error.hint).toBe('did you mean "agent"?');
    const fromFlag = catchSync(() => resolveNodes({ roles, spec: parseRoleFlags(['db=1']) }));
    expect(fromFlag.message).toBe('-r db=1: role "db" is not in the composition (roles: server, agent)');
    expect(fromFlag.hint).toBe("use one of the composition's roles");
  });

  it.each([
    [
      'duplicate hostnames across roles',
      { spec: { server: ['agent'] } },
      'NXC_DISTRIBUTION',
      /hostname "agent" is used by roles "server" and "agent"/,
    ],
    [
      'generated name collides with a list',
      { spec: { server: ['agent2'], agent: 2 } },
      'NXC_DISTRIBUTION',
      /hostname "agent2" is used by roles "server" and "agent"/,
    ],
    [
      'two default roles',
      { spec: { server: { kind: 'default', min: 1 }, agent: { kind: 'default', min: 1 } } },
      'NXC_DISTRIBUTION',
      /roles "server" and "agent" are both !DefaultRole/,
    ],
    [
      'too few machines',
      { spec: { agent: 4 }, machineCount: 3 },
      'NXC_MACHINES',
      /needs 5 machines but only 3 are available/,
    ],
    [
      'too few leftovers',
      { spec: { agent: { kind: 'default', min: 3 } }, machineCount: 3 },
      'NXC_MACHINES',
      /role "agent" needs at least 3 machines left over, but 3 machines minus 1 for the other roles leaves 2/,
    ],
    [
      'bad defaults',
      { defaults: { agent: 0 } },
      'NXC_DISTRIBUTION',
      /the composition's rolesDistribution: role "agent": count 0/,
    ],
  ] as const)('%s', (_name, input, code, expected) => {
    const error = catchSync(() => resolveNodes({ roles, ...(input as object) }));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(expected);
  });

  it('a role name that is not a hostname needs explicit names', () => {
    const error = catchSync(() => resolveNodes({ roles: ['web_server'] }));
    expect(error.message).toMatch(
      /role "web_server" cannot name its nodes: "web_server" is not a valid hostname/,
    );
    expect(hosts(resolveNodes({ roles: ['web_server'], spec: { web_server: ['web'] } }))).toEqual([
      'web_server:web',
    ]);
  });
});

describe('isValidHostname', () => {
  it.each([
    ['server', true],
    ['node-1', true],
    ['A1', true],
    ['x'.repeat(63), true],
    ['x'.repeat(64), false],
    ['-a', false],
    ['a-', false],
    ['a.b', false],
    ['', false],
    ['a b', false],
  ])('%s -> %s', (name, ok) => {
    expect(isValidHostname(name)).toBe(ok);
  });
});

describe('collecting every problem (nxc check)', () => {
  const roles = ['server', 'agent'];

  it('resolveNodes reports an unknown role, too few machines and a clash, and plans the rest', () => {
    const problems: NxcError[] = [];
    const spec = mergeRoleDistributions(parseRoleFlags(['agnt=2', 'server=node-a,agent', 'agent=1']));
    const nodes = resolveNodes({ roles, spec, machineCount: 1, onProblem: (p) => problems.push(p) });
    expect(problems.map((p) => [p.code, p.message, p.hint])).toEqual([
      [
        'NXC_DISTRIBUTION',
        '-r agnt=2: role "agnt" is not in the composition (roles: server, agent)',
        'did you mean "agent"?',
      ],
      ['NXC_MACHINES', 'the role distribution needs 3 machines but only 1 is available', expect.any(String)],
      [
        'NXC_DISTRIBUTION',
        '-r agent=1: hostname "agent" is used by roles "server" and "agent"',
        expect.any(String),
      ],
    ]);
    expect(nodes.map((n) => `${n.role}:${n.host}`)).toEqual(['server:node-a', 'server:agent']);
  });

  it('parseRoleFlags reports each bad flag and keeps the good ones', () => {
    const problems: string[] = [];
    const spec = parseRoleFlags(['server=0', 'agent', 'agent=2'], (p) => problems.push(p.message));
    expect(problems).toEqual([
      expect.stringMatching(/^-r server=0: role "server": count 0/),
      '-r agent: expected ROLE=COUNT or ROLE=HOST1,HOST2',
    ]);
    expect(spec).toEqual({ agent: 2 });
  });

  it('readRoleDistributionFile reports each bad entry', async () => {
    const file = join(dir, 'two-bad.yaml');
    await writeFile(file, 'server: 0\nagent: [Bad_Name]\nother: 2\n');
    const problems: string[] = [];
    const spec = await readRoleDistributionFile(file, { onProblem: (p) => problems.push(p.message) });
    expect(problems).toHaveLength(2);
    expect(spec).toEqual({ other: 2 });
  });

  it('without a collector, the first problem is thrown as before', () => {
    expect(() => resolveNodes({ roles, spec: { agnt: 1 }, machineCount: 0 })).toThrow(/role "agnt"/);
  });
});
