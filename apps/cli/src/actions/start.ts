/** `nxc start`. */
import { readNetworkFile, start } from '@nxc/core';
import { givenFlavourFlags } from '../flavour-flags.js';
import { parseParameterFlags, readParameterFile } from '../parameters.js';
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
  flavourOption?: string[];
  retryFailed?: boolean;
  replay?: string;
  net?: string;
  json?: boolean;
  /** The flavours' own flags (see flavour-flags.ts). */
  [flavourFlag: string]: unknown;
}

const FAILED_STATES = new Set(['exited', 'unreachable', 'stopped']);

export async function startAction(rt: Runtime, file: string | undefined, flags: StartFlags): Promise<number> {
  const parameters = {
    ...(flags.parameterFile ? await readParameterFile(flags.parameterFile) : {}),
    ...parseParameterFlags(flags.parameter ?? []),
  };
  const network = flags.net ? await readNetworkFile(flags.net) : undefined;
  const options = parseParameterFlags(flags.flavourOption ?? [], '-O');
  const flavourFlags = givenFlavourFlags(flags);
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
    ...(Object.keys(flavourFlags).length ? { flags: flavourFlags } : {}),
    ...(flags.retryFailed ? { retryFailed: true } : {}),
    ...(flags.replay ? { replay: flags.replay } : {}),
    ...(network ? { network } : {}),
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
      ...(result.record ? { record: result.record.id, recordFile: result.recordFile } : {}),
      ...(result.record?.replayOf
        ? {
            replayOf: result.record.replayOf,
            replication: result.record.replication === true,
            ...(result.record.changedParameters
              ? { changedParameters: result.record.changedParameters }
              : {}),
          }
        : {}),
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
  // Nodes the flavour reports as failed (it kept the others running): the start failed.
  const failed = result.nodes.filter((n) => FAILED_STATES.has(n.state));
  if (failed.length > 0) {
    rt.stderr.write(
      `error: ${failed.length} of ${result.nodes.length} node(s) failed: ${failed
        .map((n) => `${n.host} (${n.state}${n.detail ? `: ${n.detail}` : ''})`)
        .join(', ')}\n` +
        'hint: the other nodes are up; `nxc start --retry-failed` redeploys the failed ones where the flavour can, else `nxc stop` and start again\n',
    );
    return 1;
  }
  if (flags.testScript || flags.interactive) {
    // a replay authorized the recorded identity file when no -i was given
    const recorded = result.record?.identity;
    const identityFile = flags.identityFile ?? (recorded?.kind === 'file' ? recorded.file : undefined);
    return runDriver(rt, {
      composition: `${result.composition}::${result.flavour}`,
      ...(identityFile ? { identityFile } : {}),
      ...(flags.testScript ? { testScript: true } : {}),
      ...(flags.interactive ? { interactive: true } : {}),
    });
  }
  return 0;
}
