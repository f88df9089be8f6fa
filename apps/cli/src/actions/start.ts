/** `nxc start`. */
import { parseParameterFlags, readParameterFile, start } from '@nxc/core';
import type { Runtime } from '../runtime.js';
import { printJson, project, renderer, table } from './common.js';
import { runDriver } from './driver.js';

interface StartFlags {
  composition?: string;
  flavour?: string;
  roleDistribution?: string[];
  machineFile?: string;
  waitMachineFile?: boolean;
  testScript?: boolean;
  interactive?: boolean;
  kernelParams?: string;
  identityFile?: string;
  parameter?: string[];
  parameterFile?: string;
  composeInfo?: string;
  timeout?: number;
  wait: boolean;
  accel?: string;
  flavourOption?: string[];
  json?: boolean;
}

export async function startAction(rt: Runtime, file: string | undefined, flags: StartFlags): Promise<number> {
  const parameters = {
    ...(flags.parameterFile ? await readParameterFile(flags.parameterFile) : {}),
    ...parseParameterFlags(flags.parameter ?? []),
  };
  const options: Record<string, unknown> = {
    ...parseParameterFlags(flags.flavourOption ?? [], '-O'),
    ...(flags.accel ? { accel: flags.accel } : {}),
  };
  const proj = await project(rt);
  const reporter = renderer(rt, flags.json);
  const result = await start(proj, {
    ...(flags.composition ? { composition: flags.composition } : {}),
    ...(flags.flavour ? { flavour: flags.flavour } : {}),
    ...(flags.composeInfo ? { composeInfoFile: flags.composeInfo } : {}),
    ...(file ? { roleDistributionFile: file } : {}),
    ...(flags.roleDistribution ? { roleFlags: flags.roleDistribution } : {}),
    ...(flags.machineFile ? { machineFile: flags.machineFile } : {}),
    ...(flags.waitMachineFile ? { waitMachineFile: true } : {}),
    ...(flags.identityFile ? { identityFile: flags.identityFile } : {}),
    ...(flags.kernelParams ? { kernelParams: flags.kernelParams } : {}),
    parameters,
    ...(Object.keys(options).length ? { options } : {}),
    wait: flags.wait,
    ...(flags.timeout ? { timeoutMs: flags.timeout * 1000 } : {}),
    reporter,
    signal: rt.signal,
  });
  reporter.clear();
  if (flags.json) {
    printJson(rt, {
      composition: result.composition,
      flavour: result.flavour,
      deploymentFile: result.deploymentFile,
      nodes: result.nodes,
    });
  } else {
    rt.stdout.write(
      `${table([
        ['HOST', 'ROLE', 'ADDRESS', 'STATE'],
        ...result.nodes.map((n) => [n.host, n.role, n.address, n.state]),
      ])}\n`,
    );
  }
  if (flags.testScript || flags.interactive) {
    return runDriver(rt, {
      composition: `${result.composition}::${result.flavour}`,
      ...(flags.identityFile ? { identityFile: flags.identityFile } : {}),
      ...(flags.testScript ? { testScript: true } : {}),
      ...(flags.interactive ? { interactive: true } : {}),
    });
  }
  return 0;
}
