/** `nxc check`: core's `check()` (no build), every problem printed, then the exit code. */
import { type CheckProblem, check, isNxcError } from '@nxc/core';
import { reportError } from '../failure.js';
import { parseParameterFlags, readParameterFile } from '../parameters.js';
import type { Runtime } from '../runtime.js';
import { printJson, project } from './common.js';

interface CheckFlags {
  composition?: string;
  flavour?: string;
  roleDistribution?: string[];
  machineFile?: string;
  parameter?: string[];
  parameterFile?: string;
  flavourOption?: string[];
  showTrace?: boolean;
  nixFlags?: string;
  fast?: boolean;
  json?: boolean;
}

/** Runs `fn`; a user mistake becomes a problem (reported with the others) instead of stopping. */
async function parsed<T>(problems: CheckProblem[], fn: () => Promise<T> | T): Promise<T | undefined> {
  try {
    return await fn();
  } catch (error) {
    if (!isNxcError(error)) throw error;
    problems.push({
      code: error.code,
      message: error.message,
      ...(error.hint ? { hint: error.hint } : {}),
      exitCode: error.exitCode,
    });
    return undefined;
  }
}

export async function checkAction(rt: Runtime, file: string | undefined, flags: CheckFlags): Promise<number> {
  const problems: CheckProblem[] = [];
  const fromFile = flags.parameterFile
    ? await parsed(problems, () => readParameterFile(flags.parameterFile as string))
    : undefined;
  const fromFlags = await parsed(problems, () => parseParameterFlags(flags.parameter ?? []));
  const options = await parsed(problems, () => parseParameterFlags(flags.flavourOption ?? [], '-O'));
  const parameters = { ...fromFile, ...fromFlags };
  const result = await check(await project(rt), {
    ...(flags.composition ? { composition: flags.composition } : {}),
    ...(flags.flavour ? { flavour: flags.flavour } : {}),
    ...(file ? { roleDistributionFile: file } : {}),
    ...(flags.roleDistribution ? { roleFlags: flags.roleDistribution } : {}),
    ...(flags.machineFile ? { machineFile: flags.machineFile } : {}),
    ...(Object.keys(parameters).length > 0 ? { parameters } : {}),
    ...(options && Object.keys(options).length > 0 ? { options } : {}),
    ...(flags.showTrace ? { showTrace: true } : {}),
    ...(flags.nixFlags ? { nixFlags: flags.nixFlags } : {}),
    ...(flags.fast ? { fast: true } : {}),
    signal: rt.signal,
  });
  const all = [...problems, ...result.problems];
  const exitCode =
    all.length === 0 ? 0 : all.some((p) => p.exitCode === 2) ? 2 : (all[0] as CheckProblem).exitCode;
  if (flags.json) {
    printJson(rt, {
      ok: all.length === 0,
      flavour: result.flavour,
      targets: result.targets,
      checked: result.checked,
      problems: all,
    });
    return exitCode;
  }
  for (const p of all) {
    reportError(
      Object.assign(new Error(p.message), {
        name: 'NxcError',
        code: p.code,
        exitCode: p.exitCode,
        ...(p.hint ? { hint: p.hint } : {}),
        // Nix's excerpt or trace under its line only when asked: each problem stays one line
        ...(flags.showTrace && p.details ? { details: p.details } : {}),
      }),
      rt.stderr,
      false,
      false,
    );
  }
  if (all.length > 0) return exitCode;
  const targets = result.targets
    .map((t) => `${t.composition}::${t.flavour} (${t.nodes.map((n) => n.host).join(', ')})`)
    .join(', ');
  rt.stdout.write(`ok: ${targets} evaluated without building; checked ${result.checked.join(', ')}\n`);
  return 0;
}
