/**
 * The `nxc` program: commander definitions of every verb. Only commander and picocolors are
 * loaded up front; the actions (one module, actions/index.ts, and @nxc/core) are imported when
 * a command runs, so `nxc --help` stays fast.
 */
import { Command, CommanderError, Option } from 'commander';
import { EXIT, UsageError, reportError } from './failure.js';
import { clearLive } from './render.js';
import type { Runtime } from './runtime.js';
import { installSignalHandlers } from './signals.js';

export { HANDLED_SIGNALS } from './signals.js';

const EXIT_HELP = `
Exit codes:
  0      success
  1      the command ran but failed (a node failed to start, a remote command or test failed)
  2      bad usage or input (flags, files, config); nothing was changed
  3      environment not ready (plugin not installed, daemon down, tool missing, project busy)
  70     internal error (a bug: rerun with --debug and report it)
  128+n  interrupted by signal n (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP); what was being
         created is removed (a third signal, or NXC_CLEANUP_TIMEOUT seconds, default 120,
         quits before that: \`nxc stop\` removes the rest)

Run \`nxc <command> --help\` for a command's options.`;

type ActionFn = (rt: Runtime, ...args: unknown[]) => Promise<number | undefined>;

/**
 * The actions, loaded once a command runs: one module (one file of the bundle) for all of
 * them, so a command pays for one file more than `nxc --help` (issue #17).
 */
const actions = () => import('./actions/index.js');
type Loader = () => Promise<ActionFn>;

const collect = (value: string, previous: string[] = []) => [...previous, value];

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`--timeout ${value}: expected a positive number of seconds`, 'e.g. --timeout 300');
  return n;
}

/** Options: `-C` and `-f` selecting the composition/flavour. */
function selection(cmd: Command, withFlavour = true): Command {
  cmd.option('-C, --composition <comp[::flavour]>', 'composition (and flavour), e.g. composition::docker');
  if (withFlavour) cmd.option('-f, --flavour <name>', 'flavour');
  return cmd;
}

/** The verbs, in the order `nxc --help` lists them (a test checks it against the program). */
export const VERBS = [
  'build',
  'check',
  'start',
  'stop',
  'status',
  'connect',
  'exec',
  'net',
  'logs',
  'driver',
  'init',
  'clean',
  'records',
  'flavours',
] as const;

/**
 * Builds the program. `state.run` receives each action's loader and its arguments. With
 * `only`, the program has that one verb: defining every verb's options costs each start a
 * few milliseconds (issue #17), and `nxc status` needs only its own.
 */
export function buildProgram(
  rt: Runtime,
  state: { exitCode: number },
  only?: (typeof VERBS)[number],
): Command {
  const want = (verb: (typeof VERBS)[number]) => only === undefined || only === verb;
  const program = new Command('nxc');
  program
    .description("NixOS Compose: build and deploy a NixOS composition on docker, QEMU VMs or Grid'5000")
    .option('--debug', 'print stack traces and verbose progress')
    .version('0.1.0', '-V, --version')
    .showSuggestionAfterError(true)
    .addHelpText('after', EXIT_HELP)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => rt.stdout.write(s),
      writeErr: (s) => rt.stderr.write(s),
      outputError: () => {},
    });

  const wire = (cmd: Command, load: Loader) => {
    cmd.exitOverride().configureOutput({ outputError: () => {} });
    cmd.action(async (...args: unknown[]) => {
      const globals = program.opts<{ debug?: boolean }>();
      rt.debug = globals.debug === true;
      const action = await load();
      // commander passes (...positionals, options, command)
      const passed = args.slice(0, -1);
      // `nxc net check --json`: the parent `nxc net` declares --json too and takes it first
      if (cmd.parent?.name() === 'net' && passed.length > 0) {
        passed[passed.length - 1] = { ...cmd.parent.opts(), ...(passed.at(-1) as object) };
      }
      const code = await action(rt, ...passed);
      state.exitCode = code ?? EXIT.ok;
    });
    return cmd;
  };

  if (want('build'))
    wire(
      selection(program.command('build').description('build the composition for a flavour (Nix)'))
        .argument('[composition-file]', 'composition file (default from the config, composition.nix)')
        .option('-L, --list-compositions-flavours', 'list the compositions and flavours that can be built')
        .option('-F, --list-flavours', 'list installed flavours')
        .option('--fast', 'no network lookups for unlocked flake inputs (nix --offline)')
        .option('--dry-run', 'show what would be built without building')
        .option('--show-trace', 'show Nix evaluation traces')
        .option('--nix-flags <flags>', 'extra flags for nix build, e.g. "--impure"')
        .option(
          '-o, --out-link <path>',
          'path of the link to the compose info (default build/<comp>::<flavour>)',
        )
        .option('--json', 'print the result as JSON'),
      async () => (await actions()).buildAction as ActionFn,
    );

  if (want('check'))
    wire(
      selection(
        program
          .command('check')
          .description(
            'check a composition for a flavour without building: Nix evaluation, role distribution, parameters, machines, flavour options (every problem at once)',
          ),
      )
        .argument('[role-distribution-file]', 'YAML/JSON file: role -> count or hostnames (as nxc start)')
        .option('-r, --role-distribution <role=N|role=h1,h2>', 'nodes of a role (repeatable)', collect)
        .option('-m, --machine-file <file>', 'machines to deploy on: enough for the nodes?')
        .option(
          '-p, --parameter <key=value>',
          'parameter for the nodes (repeatable): key=v for all, ROLE.key=v, HOST.key=v',
          collect,
        )
        .option('-P, --parameter-file <file>', 'JSON file of parameters')
        .option(
          '-O, --flavour-option <key=value>',
          "flavour option, over the config's flavourOptions (repeatable)",
          collect,
        )
        .option('--fast', 'no network lookups for unlocked flake inputs (nix --offline)')
        .option('--show-trace', 'show Nix evaluation traces')
        .option('--nix-flags <flags>', 'extra flags for nix eval, e.g. "--impure"')
        .option('--json', 'print { ok, problems, ... } as JSON'),
      async () => (await actions()).checkAction as ActionFn,
    );

  if (want('start'))
    wire(
      selection(program.command('start').description('start nodes from the last build'))
        .argument('[role-distribution-file]', 'YAML/JSON file: role -> count or hostnames')
        .option('-r, --role-distribution <role=N|role=h1,h2>', 'nodes of a role (repeatable)', collect)
        .option('-m, --machine-file <file>', 'machines to deploy on (one per line, duplicates collapsed)')
        .option('-W, --wait-machine-file', 'wait until the machine file exists')
        .option('-t, --test-script', "run the composition's test script once started")
        .option('-I, --interactive', "open the driver's Python REPL once started")
        .option('-k, --kernel-params <params>', 'extra kernel parameters (kexec/VM flavours)')
        .option('-i, --identity-file <key>', 'SSH private key nodes authorize (default: the project key)')
        .option(
          '-p, --parameter <key=value>',
          'parameter for the nodes (repeatable): key=v for all, ROLE.key=v, HOST.key=v',
          collect,
        )
        .option('-P, --parameter-file <file>', 'JSON file of parameters added to the deployment')
        .option('--compose-info <file>', 'use this compose info instead of build/')
        .option(
          '--net <file>',
          'network conditions to apply once the nodes are up (JSON/YAML list of {from, to, delay, jitter, loss, rate, partition})',
        )
        .addOption(new Option('--timeout <seconds>', 'per-node readiness timeout').argParser(seconds))
        .option('--no-wait', 'return once nodes are launched, without waiting for them to be ready')
        .option(
          '-O, --flavour-option <key=value>',
          "flavour option, over the config's flavourOptions (repeatable; checked by the flavour)",
          collect,
        )
        .option(
          '--retry-failed',
          'redeploy only the nodes that failed in the running deployment (flavours that can)',
        )
        .option(
          '--replay <record>',
          'deploy a recorded deployment again (record id, short id or path; -p makes it a replication)',
        )
        .option('--json', 'print the started nodes as JSON')
        .addHelpText('after', '\nEach flavour adds its own flags: `nxc start -f FLAVOUR --help` lists them.'),
      async () => (await actions()).startAction as ActionFn,
    );

  if (want('stop'))
    wire(
      selection(
        program
          .command('stop')
          .description(
            'stop the deployment and remove its nodes (and anything else of the project still running)',
          ),
      )
        .option('-i, --identity-file <key>', 'SSH private key (default: the project key)')
        .option('--json', 'print what was stopped as JSON'),
      async () => (await actions()).stopAction as ActionFn,
    );

  if (want('status'))
    wire(
      selection(
        program.command('status').description('state of each node of the running deployments'),
      ).option('--json', 'print as JSON'),
      async () => (await actions()).statusAction as ActionFn,
    );

  if (want('connect'))
    wire(
      selection(
        program.command('connect').description('interactive shell on a node; several nodes -> tmux panes'),
      )
        .argument('[host...]', 'hostnames or @role (default: every node)')
        .option('-l, --user <user>', 'remote user', 'root')
        .option('-g, --geometry <geometry>', 'tmux panes: "1+3+2" (columns of 1, 3, 2 panes) or "2*3"')
        .option('-i, --identity-file <key>', 'SSH private key (default: the project key)'),
      async () => (await actions()).connectAction as ActionFn,
    );

  if (want('exec'))
    wire(
      selection(
        program
          .command('exec')
          .description('run a command on nodes in parallel: nxc exec TARGET... -- CMD')
          .usage('[options] TARGET... -- COMMAND...'),
      )
        .argument('<target...>', 'hostnames, @role, or all')
        .option('-l, --user <user>', 'remote user')
        .option('-i, --identity-file <key>', 'SSH private key (default: the project key)')
        .addOption(new Option('--timeout <seconds>', 'per-node timeout').argParser(seconds))
        .option('--json', 'print per-node stdout, stderr and exit code as JSON'),
      async () => (await actions()).execAction as ActionFn,
    );

  if (want('net')) {
    const net = selection(
      program
        .command('net')
        .description(
          'network conditions between nodes: show (default), partition, heal, delay, loss, rate, check, restore',
        ),
    ).option('--json', 'print as JSON');
    wire(net, async () => (await actions()).netShowAction as ActionFn);
    wire(
      selection(
        net
          .command('partition')
          .description('cut every node of one side off from every node of the other: A... -- B...')
          .usage('[options] TARGET... -- TARGET...'),
      )
        .argument('<target...>', 'one side: hostnames, @role, or all (the other side after --)')
        .option('--json', 'print the conditions in force as JSON'),
      async () => (await actions()).netPartitionAction as ActionFn,
    );
    wire(
      selection(
        net.command('heal').description('remove the conditions nxc put in force (all, or those of TARGETs)'),
      )
        .argument('[target...]', 'only conditions touching these nodes (default: every condition)')
        .option('--json', 'print the conditions left as JSON'),
      async () => (await actions()).netHealAction as ActionFn,
    );
    wire(
      selection(
        net
          .command('restore')
          .description(
            'put the recorded conditions back on nodes that lost them (rebooted, restarted); all, or TARGETs',
          ),
      )
        .argument('[target...]', 'only these nodes (default: every node with a condition)')
        .option('--json', 'print the conditions in force and the nodes restored as JSON'),
      async () => (await actions()).netRestoreAction as ActionFn,
    );
    for (const [kind, what, example, value, action] of [
      [
        'delay',
        'add latency (each way) between two sets of nodes',
        '50ms',
        'delay: 50ms, 1s',
        'netDelayAction',
      ],
      [
        'loss',
        'drop a share of the packets between two sets of nodes',
        '5%',
        'loss in percent: 5%',
        'netLossAction',
      ],
      [
        'rate',
        'limit the bandwidth (each way) between two sets of nodes',
        '10mbit',
        'rate: 512kbit, 10mbit, 1gbit',
        'netRateAction',
      ],
    ] as const) {
      const cmd = selection(
        net.command(kind).description(`${what}, e.g. nxc net ${kind} client1 @server ${example}`),
      )
        .argument('<a>', 'hostname, @role or all')
        .argument('<b>', 'hostname, @role or all')
        .argument('<value>', value)
        .option('--json', 'print the conditions in force as JSON');
      if (kind === 'delay') cmd.option('--jitter <delay>', 'random variation of the delay, e.g. 5ms');
      wire(cmd, async () => (await actions())[action] as ActionFn);
    }
    wire(
      selection(
        net
          .command('check')
          .description(
            'measure round trips and reachability between nodes (ping from the nodes), next to what is asked',
          ),
      )
        .option('--all', 'every pair of nodes, not only those with a condition')
        .addOption(new Option('--count <n>', 'pings each way (default 10)').argParser((v) => Number(v)))
        .option('--json', 'print the measures as JSON'),
      async () => (await actions()).netCheckAction as ActionFn,
    );
  }

  if (want('logs'))
    wire(
      selection(program.command('logs').description('node logs (container output, consoles)'), false)
        .argument('[node...]', 'hostnames or @role (default: every node)')
        .option('--flavour <name>', 'flavour')
        .option('-f, --follow', 'keep printing new lines')
        .addOption(
          new Option('-n, --tail <lines>', 'last lines per node').argParser((v) => Number.parseInt(v, 10)),
        )
        .option('--json', 'print JSON lines'),
      async () => (await actions()).logsAction as ActionFn,
    );

  if (want('driver'))
    wire(
      selection(program.command('driver').description('run the test script against the running deployment'))
        .argument('[script]', "Python test script (default: the composition's testScript)")
        .option('-t, --test-script', "run the composition's testScript")
        .option('-I, --interactive', 'Python REPL with the machine objects (default without SCRIPT or -t)')
        .option('-i, --identity-file <key>', 'SSH private key (default: the project key)')
        .option('--junit <file>', 'write a JUnit XML report'),
      async () => (await actions()).driverAction as ActionFn,
    );

  if (want('init'))
    wire(
      program
        .command('init')
        .description('create a project from a template')
        .argument('[dir]', 'directory to initialise', '.')
        .option('-t, --template <name>', 'template name', 'basic')
        .option('--list', 'list templates')
        .option('--force', 'overwrite existing files'),
      async () => (await actions()).initAction as ActionFn,
    );

  if (want('clean'))
    wire(
      program
        .command('clean')
        .description(
          'remove build/, deploy/ and artifact/ state of the project (deployment records are kept)',
        )
        .option('--records', 'also remove the deployment records (artifact/*/*/records/)')
        .option('--all', 'also remove .nxc/ (project SSH key, generated Nix library) and the records')
        .option('--force', 'clean even if a deployment still runs')
        .option('--json', 'print what was removed as JSON'),
      async () => (await actions()).cleanAction as ActionFn,
    );

  if (want('records'))
    wire(
      program
        .command('records')
        .description('deployment records, newest first; `nxc records show ID` prints one')
        .usage('[options] | show ID')
        .argument('[show]', '"show": print one record')
        .argument('[id]', 'record id, its last 8 hex digits, or a unique prefix')
        .option('--json', 'print as JSON'),
      async () => (await actions()).recordsAction as ActionFn,
    );

  if (want('flavours'))
    wire(
      program
        .command('flavours')
        .description('list installed flavours')
        .option('--check', 'also check each flavour can run on this machine')
        .option('--json', 'print as JSON'),
      async () => (await actions()).flavoursAction as ActionFn,
    );

  return program;
}

/**
 * Adds the installed flavours' flags to `nxc start` (see flavour-flags.ts). Outside a project,
 * or with a broken plugin, `start --help` still shows the generic flags; a start reports the
 * problem as it would have.
 */
async function withFlavourFlags(program: Command, rt: Runtime, head: string[]): Promise<void> {
  const start = program.commands.find((c) => c.name() === 'start');
  if (!start) return;
  try {
    await (await actions()).addFlavourFlags(start, rt, head);
  } catch (error) {
    if (!head.includes('--help') && !head.includes('-h')) throw error;
  }
}

/**
 * Runs nxc with `argv` (without node and script) and returns the exit code. Installs the
 * SIGINT/SIGTERM/SIGHUP handlers (see signals.ts): the first signal aborts the running
 * command, which cleans up; the exit code is then 128 + the signal's number.
 */
export async function run(argv: string[], partial: Partial<Runtime> = {}): Promise<number> {
  const controller = new AbortController();
  const dash = argv.indexOf('--');
  const head = dash >= 0 ? argv.slice(0, dash) : argv;
  const rest = dash >= 0 ? argv.slice(dash + 1) : [];
  const rt: Runtime = {
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    debug: argv.includes('--debug'),
    signal: controller.signal,
    rest,
    self: [process.execPath, process.argv[1] ?? 'nxc'],
    ...partial,
  };
  const state = { exitCode: EXIT.ok as number };
  // `--json` anywhere before `--`: an error is printed as JSON on stdout too
  const json = head.includes('--json') ? rt.stdout : undefined;
  const signals = installSignalHandlers({
    abort: () => controller.abort(),
    stderr: rt.stderr,
    clear: clearLive,
  });
  try {
    // `nxc VERB ...`: the program needs that verb only (anything else, such as `nxc --help`,
    // `nxc help VERB` or a misspelt verb, gets every verb, for the list and the suggestions)
    const first = head[0];
    const only = VERBS.find((v) => v === first);
    const program = buildProgram(rt, state, only);
    if (head.find((a) => !a.startsWith('-')) === 'start') await withFlavourFlags(program, rt, head);
    await program.parseAsync(head, { from: 'user' });
    if (controller.signal.aborted && state.exitCode === EXIT.ok) {
      return signals.exitCode() ?? EXIT.interrupted;
    }
    return signals.exitCode() ?? state.exitCode;
  } catch (error) {
    clearLive();
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      ) {
        return EXIT.ok;
      }
      const message = error.message.replace(/^error:\s*/, '');
      const verb = head.find((a) => !a.startsWith('-'));
      // `nxc --json start`: the option exists, but after the verb
      const unknown = /^unknown option '([^']+)'/.exec(message)?.[1];
      const early = verb !== undefined && unknown !== undefined && head.indexOf(unknown) < head.indexOf(verb);
      return reportError(
        new UsageError(
          message,
          early
            ? `options of a command go after it: \`nxc ${verb} ${unknown} ...\` (see \`nxc ${verb} --help\`)`
            : `see \`nxc ${verb && !message.includes('unknown command') ? `${verb} ` : ''}--help\``,
        ),
        rt.stderr,
        rt.debug,
        false,
        json,
      );
    }
    const code = reportError(error, rt.stderr, rt.debug, controller.signal.aborted, json);
    return signals.exitCode() ?? code;
  } finally {
    signals.dispose();
  }
}
