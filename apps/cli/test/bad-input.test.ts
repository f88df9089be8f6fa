/**
 * Bad input, table-driven: every case runs the real built `nxc` in a fresh project and must
 * exit with the documented code, print ONE `error:` line (what, where) and a `hint:` line,
 * no stack trace, and leave build/ and deploy/ exactly as they were.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertBuilt,
  composeInfo,
  fakeFlavour,
  makeProject,
  pluginFixture,
  runNxc,
  stateListing,
} from './helpers.js';

interface Case {
  name: string;
  args: string[];
  /** Files beside the default project files (overrides them by name; null removes one). */
  files?: Record<string, string | object | null>;
  /** Build links: name -> target relative to the project. Default: composition::fake -> ci.json. */
  builds?: Record<string, string>;
  env?: Record<string, string>;
  code: number;
  message: RegExp;
  hint?: RegExp;
}

const plugins = (...extra: string[]) => ({ 'nxc.config.json': { plugins: [fakeFlavour, ...extra] } });
const defaultBuild = { 'composition::fake': 'ci.json' };

const cases: Case[] = [
  // --- compose info -------------------------------------------------------------------
  {
    name: 'no build yet',
    args: ['start'],
    builds: {},
    code: 2,
    message: /^no build found in build\/$/,
    hint: /nxc build -f FLAVOUR/,
  },
  {
    name: '--compose-info file missing',
    args: ['start', '--compose-info', 'nope.json'],
    code: 2,
    message: /^compose info nope\.json does not exist$/,
  },
  {
    name: 'compose info not JSON',
    args: ['start'],
    files: { 'ci.json': '{ "roles": ' },
    code: 2,
    message: /^build\/composition::fake: not valid JSON \(Unexpected end of JSON input\)$/,
    hint: /nxc build -f/,
  },
  {
    name: 'compose info syntax error: file, line and column',
    args: ['start', '--compose-info', 'bad.json'],
    files: { 'bad.json': '{\n  "roles": {}}}\n' },
    code: 2,
    message: /^bad\.json:2:15: not valid JSON \(Unexpected non-whitespace character after JSON\)$/,
  },
  {
    name: 'compose info without roles',
    args: ['start'],
    files: {
      'ci.json': { nxc_compose_info: 1, composition: 'composition', flavour: { name: 'fake' }, all: {} },
    },
    code: 2,
    message: /^build\/composition::fake: roles: missing \(expected object\)$/,
  },
  {
    name: 'compose info roles of the wrong type',
    args: ['start'],
    files: { 'ci.json': composeInfo({ roles: 3 }) },
    code: 2,
    message: /^build\/composition::fake: roles: expected object, got number$/,
  },
  {
    name: 'compose info role without init',
    args: ['start'],
    files: { 'ci.json': composeInfo({ roles: { server: {} } }) },
    code: 2,
    message: /^build\/composition::fake: roles\.server\.init: missing \(expected string\)$/,
  },
  {
    name: '-C names a build that does not exist',
    args: ['start', '-C', 'composition::vm'],
    code: 2,
    message: /^no build of composition::vm in build\/ \(builds: composition::fake\)$/,
  },
  {
    name: '-C malformed',
    args: ['start', '-C', 'a::b::c'],
    code: 2,
    message: /^-C a::b::c: expected COMPOSITION or COMPOSITION::FLAVOUR$/,
  },
  {
    name: '-C composition escaping the state folders',
    args: ['start', '-C', '../../x::fake'],
    code: 2,
    message: /^composition name "\.\.\/\.\.\/x" cannot be used in a file name /,
    hint: /rename the composition/,
  },
  {
    name: 'build -C composition escaping build/',
    args: ['build', '-f', 'fake', '-C', '../x'],
    code: 2,
    message: /^composition name "\.\.\/x" cannot be used in a file name /,
  },
  {
    name: '-f flavour escaping the state folders',
    args: ['stop', '-f', '../fake'],
    code: 2,
    message: /^flavour name "\.\.\/fake" cannot be used in a file name /,
  },
  {
    name: 'compose info naming a composition that escapes deploy/',
    args: ['start', '--compose-info', 'evil.json'],
    files: { 'evil.json': composeInfo({ composition: '../../evil' }) },
    code: 2,
    message: /^evil\.json: composition: "\.\.\/\.\.\/evil" is not a usable name /,
  },
  {
    name: 'compose info with a role name that is a path',
    args: ['start'],
    files: {
      'ci.json': composeInfo({
        roles: { '../r': { init: '/nix/store/00000000000000000000000000000000-r/init' } },
      }),
    },
    code: 2,
    message: /^build\/composition::fake: roles: "\.\.\/r" is not a usable name /,
  },
  {
    name: '-C and -f disagree',
    args: ['start', '-C', 'composition::fake', '-f', 'docker'],
    code: 2,
    message: /^-C composition::fake names flavour "fake" but -f says "docker"$/,
  },
  {
    name: 'dangling build link',
    args: ['start'],
    builds: { 'composition::fake': '/nix/store/00000000000000000000000000000000-gone' },
    code: 2,
    message: /^build\/composition::fake is a dangling link/,
  },
  {
    name: 'compose info built for another flavour',
    args: ['start', '--compose-info', 'ci.json', '-f', 'other'],
    code: 2,
    message: /^ci\.json was built for flavour "fake", not "other"$/,
  },
  // --- role distribution: flags -------------------------------------------------------
  {
    name: '-r unknown role',
    args: ['start', '-r', 'agnet=2'],
    code: 2,
    message: /^-r agnet=2: role \"agnet\" is not in the composition \(roles: server, client\)$/,
  },
  {
    name: '-r zero count',
    args: ['start', '-r', 'client=0'],
    code: 2,
    message: /^-r client=0: role \"client\": count 0 is not a positive integer$/,
  },
  {
    name: '-r negative count',
    args: ['start', '-r', 'client=-2'],
    code: 2,
    message: /^-r client=-2: role \"client\": count -2 is not a positive integer$/,
  },
  {
    name: '-r fractional count',
    args: ['start', '-r', 'client=1.5'],
    code: 2,
    message: /^-r client=1\.5: role \"client\": count 1\.5 is not a positive integer$/,
  },
  {
    name: '-r without =',
    args: ['start', '-r', 'client'],
    code: 2,
    message: /^-r client: expected ROLE=COUNT or ROLE=HOST1,HOST2$/,
  },
  {
    name: '-r duplicate hostnames',
    args: ['start', '-r', 'client=a,a'],
    code: 2,
    message: /^-r client=a,a: role \"client\": hostname \"a\" is listed twice$/,
  },
  {
    name: '-r hostname clash across roles',
    args: ['start', '-r', 'client=server'],
    code: 2,
    message: /^-r client=server: hostname \"server\" is used by roles \"server\" and \"client\"$/,
  },
  // --- role distribution: files -------------------------------------------------------
  {
    name: 'distribution file missing',
    args: ['start', 'roles.yaml'],
    code: 2,
    message: /^role distribution file roles\.yaml does not exist$/,
  },
  {
    name: 'distribution file bad YAML',
    args: ['start', 'roles.yaml'],
    files: { 'roles.yaml': 'client: [1, 2\n' },
    code: 2,
    message: /^roles\.yaml:2: Flow sequence in block collection/,
  },
  {
    name: 'JSON distribution file syntax error: file, line and column',
    args: ['start', 'roles.json'],
    files: { 'roles.json': '{\n  "client": 2,\n}\n' },
    code: 2,
    message: /^roles\.json:3:1: not valid JSON \(Expected double-quoted property name\)$/,
  },
  {
    name: 'distribution file unknown role',
    args: ['start', 'roles.yaml'],
    files: { 'roles.yaml': 'server: 1\nworker: 2\n' },
    code: 2,
    message: /^roles\.yaml: role "worker" is not in the composition \(roles: server, client\)$/,
  },
  {
    name: 'distribution file negative count',
    args: ['start', 'roles.yaml'],
    files: { 'roles.yaml': 'client: -1\n' },
    code: 2,
    message: /^roles\.yaml: role \"client\": count -1 is not a positive integer$/,
  },
  {
    name: 'distribution file not a mapping',
    args: ['start', 'roles.yaml'],
    files: { 'roles.yaml': '- server\n- client\n' },
    code: 2,
    message: /^roles\.yaml: expected a mapping of role names, got a list$/,
  },
  {
    name: 'distribution file invalid hostname',
    args: ['start', 'roles.yaml'],
    files: { 'roles.yaml': 'client: [ok, Bad_Host]\n' },
    code: 2,
    message: /^roles\.yaml: role \"client\": \"Bad_Host\" is not a valid hostname$/,
  },
  {
    name: 'distribution file two default roles',
    args: ['start', 'roles.yaml', '-m', 'machines'],
    files: { 'roles.yaml': 'server: !DefaultRole 1\nclient: !DefaultRole 1\n', machines: 'a\nb\nc\n' },
    code: 2,
    message: /^roles\.yaml: roles \"server\" and \"client\" are both !DefaultRole$/,
  },
  {
    name: 'JSON distribution file with a string count',
    args: ['start', 'roles.json'],
    files: { 'roles.json': { client: 'three' } },
    code: 2,
    message: /^roles\.json: role \"client\": \"three\" is not a count, a list of hostnames or !DefaultRole$/,
  },
  // --- machine files ------------------------------------------------------------------
  {
    name: 'machine file missing',
    args: ['start', '-m', 'nodes.txt'],
    code: 2,
    message: /^machine file nodes\.txt does not exist$/,
  },
  {
    name: 'machine file empty',
    args: ['start', '-m', 'nodes.txt'],
    files: { 'nodes.txt': '\n\n' },
    code: 2,
    message: /^machine file nodes\.txt lists no host$/,
  },
  {
    name: 'too few machines',
    args: ['start', '-m', 'nodes.txt', '-r', 'client=3'],
    files: { 'nodes.txt': 'n1\nn2\nn1\n' },
    code: 2,
    message: /^the role distribution needs 4 machines but only 2 are available$/,
  },
  { name: '-W without -m', args: ['start', '-W'], code: 2, message: /^-W needs a machine file to wait for$/ },
  // --- parameters and flags -----------------------------------------------------------
  {
    name: '-p without =',
    args: ['start', '-p', 'iterations'],
    code: 2,
    message: /^-p iterations: expected KEY=VALUE$/,
  },
  {
    name: '-p with a misspelt role prefix',
    args: ['start', '-r', 'client=2', '-p', 'clinet.rate=10'],
    code: 2,
    message:
      /^parameter "clinet\.rate": "clinet" is neither a role nor a node of this deployment \(roles: server, client; nodes: server, client1, client2\)$/,
    hint: /did you mean "client\.rate"\?/,
  },
  {
    name: '-p for a node the distribution does not have',
    args: ['start', '-r', 'client=2', '-p', 'client3.rate=10'],
    code: 2,
    message: /^parameter "client3\.rate": "client3" is neither a role nor a node/,
  },
  {
    name: '-P not JSON',
    args: ['start', '-P', 'params.json'],
    files: { 'params.json': '{oops' },
    code: 2,
    message: /^params\.json:1:2: not valid JSON \(Expected property name or '\}'\)$/,
  },
  {
    name: '-P not an object',
    args: ['start', '-P', 'params.json'],
    files: { 'params.json': '[1,2]' },
    code: 2,
    message: /^params\.json: expected a JSON object of parameters$/,
  },
  {
    name: '--timeout not a number',
    args: ['start', '--timeout', 'soon'],
    code: 2,
    message: /^--timeout soon: expected a positive number of seconds$/,
  },
  {
    name: 'unknown option',
    args: ['start', '--colour'],
    code: 2,
    message: /^unknown option '--colour'$/,
    hint: /^see `nxc start --help`$/,
  },
  {
    name: 'an option of the command before it',
    args: ['--dry-run', 'build'],
    builds: {},
    code: 2,
    message: /^unknown option '--dry-run'$/,
    hint: /^options of a command go after it: `nxc build --dry-run \.\.\.` \(see `nxc build --help`\)$/,
  },
  {
    name: 'unknown command',
    args: ['strat'],
    code: 2,
    message: /^unknown command 'strat' \(Did you mean start\?\)$/,
  },
  {
    name: 'exec without a command',
    args: ['exec', 'all'],
    code: 2,
    message: /^nxc exec: no command given$/,
    hint: /--/,
  },
  {
    name: 'connect bad geometry',
    args: ['connect', '-g', '1+x'],
    code: 2,
    message: /^-g 1\+x: \"x\" is not a number$/,
  },
  // --- running-deployment commands without a deployment ------------------------------
  {
    name: 'stop without deployment',
    args: ['stop'],
    code: 2,
    message: /^no deployment in deploy\/$/,
    hint: /nxc start/,
  },
  {
    name: 'exec without deployment',
    args: ['exec', 'all', '--', 'true'],
    code: 2,
    message: /^no deployment in deploy\/$/,
  },
  {
    name: 'connect without deployment',
    args: ['connect', 'server'],
    code: 2,
    message: /^no deployment in deploy\/$/,
  },
  // --- config files -------------------------------------------------------------------
  {
    name: 'nxc.json not JSON',
    args: ['flavours'],
    files: { 'nxc.json': '{"composition": ' },
    code: 2,
    message: /^nxc\.json: not valid JSON \(Unexpected end of JSON input\)$/,
  },
  {
    name: 'nxc.json syntax error: file, line and column',
    args: ['flavours'],
    files: { 'nxc.json': '{\n  "composition": "composition.nix",\n}\n' },
    code: 2,
    message: /^nxc\.json:3:1: not valid JSON \(Expected double-quoted property name\)$/,
  },
  {
    name: 'nxc.json with a misspelt key',
    args: ['start'],
    files: { 'nxc.json': { composition: 'composition.nix', default_flavor: 'fake' } },
    code: 2,
    message: /^nxc\.json: unknown key "default_flavor"$/,
    hint: /^did you mean "default_flavour"\? known keys: composition, default_flavour, platform$/,
  },
  {
    name: 'nxc.json with a key of the new config',
    args: ['flavours'],
    files: { 'nxc.json': { composition: 'composition.nix', plugins: ['nxc-flavour-x'] } },
    code: 2,
    message:
      /^nxc\.json: plugins: nxc\.json holds the original nxc's keys only \(composition, default_flavour\), plugins there is not read$/,
    hint: /^move plugins to nxc\.config\.json/,
  },
  {
    name: 'package.json syntax error: file, line and column',
    args: ['flavours'],
    files: { 'package.json': '{\n  "name": "p"\n  "nxc": {}\n}\n' },
    code: 2,
    message: /^package\.json:3:3: cannot load it: Expected ',' or '\}' after property value$/,
  },
  {
    name: 'config plugins not a list',
    args: ['flavours'],
    files: { 'nxc.config.json': { plugins: 'nxc-flavour-x' } },
    code: 2,
    message: /^nxc\.config\.json: plugins: expected array, got string$/,
  },
  {
    name: 'config YAML invalid',
    args: ['flavours'],
    files: { 'nxc.config.json': null, 'nxc.config.yaml': 'plugins: [a\n' },
    code: 2,
    message: /^nxc\.config\.yaml: cannot load it/,
  },
  {
    name: 'two configs in one folder',
    args: ['flavours'],
    files: { '.nxcrc.yaml': 'plugins: []\n' },
    code: 2,
    message:
      /^\/\S+: two nxc configs in one folder \(\.nxcrc\.yaml, nxc\.config\.json\); nxc would read only the first$/,
    hint: /^keep one of them/,
  },
  {
    name: 'config default_flavour not a string',
    args: ['flavours'],
    files: { 'nxc.json': { default_flavour: 3 } },
    code: 2,
    message: /^nxc\.json: default_flavour: expected string, got number$/,
  },
  // --- build ---------------------------------------------------------------------------
  {
    name: 'build outside a project (no flake.nix)',
    args: ['build', '-f', 'fake'],
    files: { 'flake.nix': null },
    builds: {},
    code: 2,
    message: /^\/\S+: no flake\.nix, this is not an nxc project$/,
    hint: /nxc init/,
  },
  {
    name: 'build an unknown flavour',
    args: ['build', '-f', 'nope'],
    builds: {},
    code: 2,
    message: /^no plugin provides flavour "nope" \(installed: fake\)$/,
  },
  {
    name: 'build without a flavour',
    args: ['build'],
    builds: {},
    code: 2,
    message: /^no flavour given and the config names no default flavour$/,
    hint: /^pass -f FLAVOUR \(installed: fake\)$/,
  },
  {
    name: 'build another composition file',
    args: ['build', 'other.nix', '-f', 'fake'],
    builds: {},
    code: 2,
    message: /^nxc build other\.nix: the flake builds composition\.nix, not other\.nix$/,
  },
  // --- plugin packages ----------------------------------------------------------------
  {
    name: 'plugin package not installed',
    args: ['flavours'],
    files: plugins('nxc-flavour-nonexistent'),
    code: 3,
    message:
      /^flavour plugin \"nxc-flavour-nonexistent\" \(listed in nxc\.config\.json\) is not installed in \/\S+$/,
    hint: /^install it: `(npm install|pnpm add) -D nxc-flavour-nonexistent`$/,
  },
  {
    name: 'plugin path missing',
    args: ['flavours'],
    files: plugins('./plugins/nowhere'),
    code: 3,
    message:
      /^plugin \"\.\/plugins\/nowhere\" \(listed in nxc\.config\.json\) does not exist: \/\S+\/plugins\/nowhere$/,
  },
  {
    name: 'plugin with a bad export',
    args: ['flavours'],
    files: plugins(pluginFixture('bad-export')),
    code: 3,
    message: /^plugin \"nxc-flavour-bad-export\" does not export a flavour plugin \(got string\)$/,
  },
  {
    name: 'plugin for another API version',
    args: ['flavours'],
    files: plugins(pluginFixture('api-mismatch')),
    code: 3,
    message:
      /^plugin \"nxc-flavour-api-mismatch\" 0\.0\.0 was written for flavour API 99, this nxc has flavour API 2$/,
  },
  {
    name: 'plugin for flavour API 1',
    args: ['flavours'],
    files: plugins(pluginFixture('api-v1')),
    code: 3,
    message:
      /^plugin \"nxc-flavour-api-v1\" 0\.0\.0 was written for flavour API 1, this nxc has flavour API 2$/,
    hint: /^upgrade nxc-flavour-api-v1 to a version made for API 2; for its authors: flavour API 2 gives each flavour an `options` schema and `flags`.*stateSchema.*retryFailed.*docs\/writing-a-flavour\.md/,
  },
  {
    name: 'two plugins claim one flavour',
    args: ['flavours'],
    files: plugins(pluginFixture('conflict')),
    code: 2,
    message: /^flavour \"fake\" is provided by both nxc-flavour-clifake and nxc-flavour-conflict$/,
  },
  {
    name: 'unknown flavour',
    args: ['start'],
    builds: { 'composition::nope': 'ci.json' },
    files: { 'ci.json': composeInfo({ flavour: { name: 'nope' } }) },
    code: 2,
    message: /^no plugin provides flavour \"nope\" \(installed: fake\)$/,
  },
  {
    name: 'flavour not usable here',
    args: ['start'],
    env: { NXC_FAKE_UNUSABLE: '1' },
    code: 3,
    message: /^flavour fake: the fake daemon is down$/,
    hint: /^unset NXC_FAKE_UNUSABLE$/,
  },
];

const projects: string[] = [];

beforeAll(() => assertBuilt());
afterAll(async () => {
  await Promise.all(projects.map((p) => rm(p, { recursive: true, force: true })));
});

/** The case's project: a minimal flake and composition, the test plugins, the case's files and builds. */
async function projectFor(c: (typeof cases)[number]): Promise<string> {
  const dir = await makeProject(
    {
      'flake.nix': '{ outputs = _: { }; }\n',
      'composition.nix': '{ ... }: { roles = { }; }\n',
      'ci.json': composeInfo(),
      ...plugins(),
      ...c.files,
    },
    c.builds ?? defaultBuild,
  );
  projects.push(dir);
  return dir;
}

describe.concurrent('nxc rejects bad input with one clear line and no half-made state', () => {
  it.each(cases)('$name', async (c) => {
    const dir = await projectFor(c);
    const before = await stateListing(dir);
    const r = await runNxc(dir, c.args, c.env);
    const lines = r.stderr.trimEnd().split('\n');
    const summary = `nxc ${c.args.join(' ')} -> exit ${r.code}\n${r.stderr}`;
    expect(lines[0], summary).toMatch(/^error: /);
    expect(lines[0]!.slice('error: '.length), summary).toMatch(c.message);
    expect(r.code, summary).toBe(c.code);
    expect(lines.length, summary).toBe(2);
    expect(lines[1], summary).toMatch(/^hint: \S/);
    if (c.hint) expect(lines[1]!.slice('hint: '.length), summary).toMatch(c.hint);
    expect(r.stderr, summary).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
    expect(await stateListing(dir)).toEqual(before);
  });

  // The same mistakes with --json (inserted before `--`; a command without --json refuses it,
  // a mistake too): stdout is ONE JSON line, the error as stderr says it, and the exit code.
  it.each(cases)('$name, with --json', async (c) => {
    const dir = await projectFor(c);
    const dash = c.args.indexOf('--');
    const args =
      dash >= 0
        ? [...c.args.slice(0, dash), '--json', ...c.args.slice(dash)]
        : c.args.includes('--json')
          ? c.args
          : [...c.args, '--json'];
    const before = await stateListing(dir);
    const r = await runNxc(dir, args, c.env);
    const summary = `nxc ${args.join(' ')} -> exit ${r.code}\n${r.stdout}${r.stderr}`;
    const out = r.stdout.split('\n');
    expect(out, summary).toHaveLength(2);
    expect(out[1], summary).toBe('');
    const parsed = JSON.parse(out[0]!) as {
      ok: boolean;
      error: { code: string; message: string; hint?: string; exitCode: number };
    };
    const lines = r.stderr.trimEnd().split('\n');
    expect(parsed, summary).toEqual({
      ok: false,
      error: {
        code: expect.stringMatching(/^NXC_[A-Z_]+$/),
        message: lines[0]!.slice('error: '.length),
        hint: lines[1]!.slice('hint: '.length),
        exitCode: r.code,
      },
    });
    expect(r.code, summary).not.toBe(0);
    expect(await stateListing(dir)).toEqual(before);
  });

  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });
});
