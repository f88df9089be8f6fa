/**
 * `nxc driver` and `nxc start -t/-I`: run the Python test script with @nxc/driver (loaded only
 * here) over the deployment's transport.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { NxcError, composeInfoPath, openDeployment, readComposeInfo } from '@nxc/core';
import { reportError } from '../failure.js';
import type { Runtime } from '../runtime.js';
import { project } from './common.js';

/** Which deployment and script the driver runs. */
export interface DriverRequest {
  composition?: string;
  flavour?: string;
  identityFile?: string;
  /** Script file; default: the compose info's test_script. */
  script?: string;
  interactive: boolean;
  junit?: string;
}

type DriverModule = typeof import('@nxc/driver');

async function loadDriver(): Promise<DriverModule> {
  try {
    return await import('@nxc/driver');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String(error).includes('@nxc/driver')) {
      throw new NxcError('NXC_PLUGIN_MISSING', 'the test-script driver (@nxc/driver) is not installed', {
        hint: 'install it next to nxc: `pnpm add -D @nxc/driver`',
      });
    }
    throw error;
  }
}

/** Runs the driver against the selected deployment; returns the exit code. */
export async function runDriver(rt: Runtime, req: DriverRequest): Promise<number> {
  const proj = await project(rt);
  const driver = await loadDriver();
  const { ctx, deployer } = await openDeployment(proj, {
    ...(req.composition ? { composition: req.composition } : {}),
    ...(req.flavour ? { flavour: req.flavour } : {}),
    ...(req.identityFile ? { identityFile: req.identityFile } : {}),
    signal: rt.signal,
  });
  let scriptPath = req.script ? path.resolve(rt.cwd, req.script) : undefined;
  if (!scriptPath) {
    const info = composeInfoPath(proj, ctx.composition, ctx.flavour);
    if (existsSync(info)) scriptPath = (await readComposeInfo(info, { composition: ctx.composition })).testScript;
    if (!scriptPath && !req.interactive) {
      throw new NxcError('NXC_USAGE', `${ctx.composition}::${ctx.flavour} has no test script`, {
        hint: 'add a testScript to the composition and rebuild, or give a script file: `nxc driver FILE`',
      });
    }
  }
  const transport = await deployer.transport(ctx);
  try {
    const result = await driver.runTestScript({
      transport,
      deployment: ctx.deployment,
      ...(scriptPath ? { scriptPath } : {}),
      interactive: req.interactive,
      ...(req.junit ? { junit: path.resolve(rt.cwd, req.junit) } : {}),
      stdout: rt.stdout,
      stderr: rt.stderr,
      stdin: rt.stdin,
      signal: rt.signal,
    });
    if (result.error) reportError(result.error, rt.stderr, rt.debug, rt.signal.aborted);
    return result.exitCode;
  } finally {
    await transport.close();
  }
}

interface DriverFlags {
  composition?: string;
  flavour?: string;
  identityFile?: string;
  testScript?: boolean;
  interactive?: boolean;
  junit?: string;
}

export async function driverAction(rt: Runtime, script: string | undefined, flags: DriverFlags): Promise<number> {
  return runDriver(rt, {
    ...(flags.composition ? { composition: flags.composition } : {}),
    ...(flags.flavour ? { flavour: flags.flavour } : {}),
    ...(flags.identityFile ? { identityFile: flags.identityFile } : {}),
    ...(script ? { script } : {}),
    ...(flags.junit ? { junit: flags.junit } : {}),
    interactive: flags.interactive === true,
  });
}
