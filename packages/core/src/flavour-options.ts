/**
 * A flavour's options as users give them: the config's `flavourOptions[flavour]`, `-O
 * key=value` and the flavour's own `nxc start` flags, merged in that order and validated with
 * the flavour's schema before anything is created. Every mistake is one line naming where
 * the option came from, with a did-you-mean for a misspelt name, and exit code 2.
 */
import type { ZodIssue } from 'zod';
import { NxcError } from './errors.js';
import type { Project } from './project.js';
import type { Flavour, FlavourFlag, Schema } from './transposition.js';
import { closest, displayPath, formatFieldPath, formatIssue } from './validation.js';

/** A flag's names and whether it takes a value, read from {@link FlavourFlag.flag}. */
export interface FlagSpelling {
  /** `--accel` */
  long: string;
  /** `-y`, when the flag has a short form. */
  short?: string;
  /** True when the flag takes a value (`<value>` in its spelling). */
  takesValue: boolean;
}

const FLAG_SPELLING = /^(?:(-[A-Za-z]),\s*)?(--[a-z0-9][a-z0-9-]*)(?:\s+<[^>]+>)?$/;

/**
 * Reads a flag's spelling (`--accel <mode>`, `-y, --yes`).
 * @throws Error for a malformed spelling (a plugin bug, reported by the loader).
 */
export function flagSpelling(flag: string): FlagSpelling {
  const match = FLAG_SPELLING.exec(flag.trim());
  if (!match) throw new Error(`flag "${flag}" is not written like "--name <value>" or "-n, --name"`);
  return {
    long: match[2]!,
    ...(match[1] ? { short: match[1] } : {}),
    takesValue: flag.includes('<'),
  };
}

/** Where each option given to a start came from, for messages. */
type Origin = Map<string, string>;

/** What {@link resolveFlavourOptions} merges and validates. */
export interface FlavourOptionsInput {
  project: Project;
  /** The flavour being started. */
  flavour: Flavour;
  /** Every installed flavour: a flag of another one is refused naming its owners. */
  installed: readonly Pick<Flavour, 'name' | 'flags'>[];
  /** `-O key=value` (already parsed) and options given by library callers. */
  options?: Record<string, unknown>;
  /** Flavour flags given on the command line, by long name: `{ '--accel': 'kvm', '--reuse': true }`. */
  flags?: Record<string, string | boolean>;
  /**
   * Collects every problem instead of throwing the first: each is passed here (every unknown
   * option, every ill-typed value) and the options at fault are left out.
   */
  onProblem?: (problem: NxcError) => void;
}

type Fail = (problem: NxcError) => void;

function failer(onProblem: ((problem: NxcError) => void) | undefined): Fail {
  return (problem) => {
    if (!onProblem) throw problem;
    onProblem(problem);
  };
}

function configOrigin(project: Project, flavour: string): string {
  const where = project.configFile ? displayPath(project.configFile) : 'the config';
  return `${where}, ${formatFieldPath(['flavourOptions', flavour])}`;
}

/** The option names a schema knows, when it is a zod object (else undefined). */
export function optionNames(schema: Schema<unknown> | undefined): string[] | undefined {
  const shape = (schema as { shape?: unknown } | undefined)?.shape;
  return shape && typeof shape === 'object' ? Object.keys(shape) : undefined;
}

function usage(message: string, hint: string): NxcError {
  return new NxcError('NXC_USAGE', message, { hint, exitCode: 2 });
}

/** The value a flag sets, converted by its type. */
function flagValue(spec: FlavourFlag, long: string, raw: string | boolean): unknown {
  if (spec.type === 'boolean') return raw === true || raw === 'true';
  const text = String(raw);
  if (spec.type === 'number') {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n)) {
      throw usage(`${long} ${text}: expected a number`, `e.g. \`${long} 8080\``);
    }
    return n;
  }
  return text;
}

/** Options set by flags, refusing a flag the flavour does not have. */
function fromFlags(input: FlavourOptionsInput, origin: Origin, fail: Fail): Record<string, unknown> {
  const { flavour } = input;
  const out: Record<string, unknown> = {};
  for (const [long, raw] of Object.entries(input.flags ?? {})) {
    const spec = flavour.flags?.find((f) => flagSpelling(f.flag).long === long);
    if (!spec) {
      const owners = input.installed.filter((f) => f.flags?.some((g) => flagSpelling(g.flag).long === long));
      if (owners.length > 0) {
        fail(
          usage(
            `${long} is an option of flavour${owners.length > 1 ? 's' : ''} ${owners.map((f) => f.name).join(', ')}, not of ${flavour.name}`,
            `drop ${long}, or start ${owners.length > 1 ? 'one of those flavours' : 'that flavour'} (-f ${owners[0]!.name}); \`nxc start -f ${flavour.name} --help\` lists ${flavour.name}'s flags`,
          ),
        );
        continue;
      }
      fail(
        usage(
          `unknown option ${long} for flavour ${flavour.name}`,
          `\`nxc start -f ${flavour.name} --help\` lists its flags`,
        ),
      );
      continue;
    }
    try {
      out[spec.option] = flagValue(spec, long, raw);
    } catch (error) {
      fail(error as NxcError);
      continue;
    }
    origin.set(spec.option, long);
  }
  return out;
}

/** The line for one schema issue, naming where the option came from. */
function describeIssue(
  issue: ZodIssue,
  flavour: Flavour,
  origin: Origin,
  names: string[] | undefined,
): NxcError {
  const known = names && names.length > 0 ? names.join(', ') : 'none';
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const guess = names ? closest(key, names) : undefined;
    return usage(
      `flavour ${flavour.name}: unknown option "${key}" (in ${origin.get(key) ?? 'the options'})${guess ? `; did you mean "${guess}"?` : ''}`,
      `options of ${flavour.name}: ${known}`,
    );
  }
  const key = typeof issue.path[0] === 'string' ? issue.path[0] : undefined;
  const where = key ? ` (in ${origin.get(key) ?? 'the options'})` : '';
  return usage(
    `flavour ${flavour.name}: option ${formatIssue(issue)}${where}`,
    `fix the value; \`nxc start -f ${flavour.name} --help\` and the flavour's documentation describe its options`,
  );
}

/**
 * Merges the config's `flavourOptions[flavour]`, `options` and `flags` (later wins) and parses
 * them with the flavour's schema. Reads nothing, writes nothing.
 *
 * @throws NxcError `NXC_USAGE` (exit 2): a flag of another flavour (naming its owners), an
 *   unknown option (with a did-you-mean), an ill-typed value, options for a flavour that
 *   takes none. With `onProblem`, every such problem goes there instead, and the result is
 *   undefined when there was one.
 */
export function resolveFlavourOptions(input: FlavourOptionsInput): unknown {
  const { project, flavour } = input;
  let failed = false;
  const fail = failer(
    input.onProblem &&
      ((problem) => {
        failed = true;
        input.onProblem?.(problem);
      }),
  );
  const origin: Origin = new Map();
  const fromConfig = project.config.flavourOptions[flavour.name] ?? {};
  for (const key of Object.keys(fromConfig)) origin.set(key, configOrigin(project, flavour.name));
  for (const key of Object.keys(input.options ?? {})) origin.set(key, '-O');
  const flags = fromFlags(input, origin, fail);
  const merged = { ...fromConfig, ...(input.options ?? {}), ...flags };
  const parsed = parseOptions(flavour, merged, origin, fail);
  return failed ? undefined : parsed;
}

/**
 * The options of a running deployment: the config's alone (flags were for its start).
 * @throws NxcError `NXC_USAGE` as {@link resolveFlavourOptions}.
 */
export function configuredOptions(project: Project, flavour: Flavour): unknown {
  const fromConfig = project.config.flavourOptions[flavour.name] ?? {};
  const origin: Origin = new Map(
    Object.keys(fromConfig).map((k) => [k, configOrigin(project, flavour.name)]),
  );
  return parseOptions(flavour, fromConfig, origin, failer(undefined));
}

function parseOptions(flavour: Flavour, given: Record<string, unknown>, origin: Origin, fail: Fail): unknown {
  const schema = flavour.options;
  const names = optionNames(schema);
  if (!schema) {
    for (const key of Object.keys(given)) {
      fail(
        usage(
          `flavour ${flavour.name} takes no option, got "${key}" (in ${origin.get(key) ?? 'the options'})`,
          'remove it',
        ),
      );
    }
    return {};
  }
  // Unknown keys are refused even when a schema lets them through: a typo must not pass.
  const merged = { ...given };
  if (names) {
    for (const unknown of Object.keys(given).filter((k) => !names.includes(k))) {
      fail(
        describeIssue(
          { code: 'unrecognized_keys', keys: [unknown], path: [], message: '' },
          flavour,
          origin,
          names,
        ),
      );
      delete merged[unknown];
    }
  }
  const parsed = schema.safeParse(merged);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) fail(describeIssue(issue, flavour, origin, names));
  return undefined;
}
