/**
 * `nxc driver` and `nxc start -t/-I`: @nxc/driver's driverCommand (loaded only here) runs
 * the Python test script over the deployment's transport; the CLI prints its failure.
 */
import { NxcError } from '@nxc/core';
import { reportError } from '../failure.js';
import type { Runtime } from '../runtime.js';

/** Which deployment and script the driver runs. */
export interface DriverRequest {
  composition?: string;
  flavour?: string;
  identityFile?: string;
  /** A script file; else `testScript` runs the composition's, else the REPL opens. */
  script?: string;
  testScript?: boolean;
  interactive?: boolean;
  junit?: string;
}

async function loadDriver(): Promise<typeof import('@nxc/driver')> {
  try {
    return await import('@nxc/driver');
  } catch (error) {
    if (
      (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
      String(error).includes('@nxc/driver')
    ) {
      throw new NxcError('NXC_PLUGIN_MISSING', 'the test-script driver (@nxc/driver) is not installed', {
        hint: 'install it next to nxc: `pnpm add -D @nxc/driver`',
      });
    }
    throw error;
  }
}

/** Runs the driver against the selected deployment; returns the exit code. */
export async function runDriver(rt: Runtime, req: DriverRequest): Promise<number> {
  const driver = await loadDriver();
  const result = await driver.driverCommand({
    projectDir: rt.cwd,
    ...(req.composition ? { composition: req.composition } : {}),
    ...(req.flavour ? { flavour: req.flavour } : {}),
    ...(req.identityFile ? { identityFile: req.identityFile } : {}),
    ...(req.script ? { scriptFile: req.script } : {}),
    ...(req.testScript ? { testScript: true } : {}),
    ...(req.interactive !== undefined ? { interactive: req.interactive } : {}),
    ...(req.junit ? { junit: req.junit } : {}),
    stdout: rt.stdout,
    stderr: rt.stderr,
    stdin: rt.stdin,
    signal: rt.signal,
  });
  if (result.error) return reportError(result.error, rt.stderr, rt.debug, rt.signal.aborted);
  return result.exitCode;
}

interface DriverFlags {
  composition?: string;
  flavour?: string;
  identityFile?: string;
  testScript?: boolean;
  interactive?: boolean;
  junit?: string;
}

export async function driverAction(
  rt: Runtime,
  script: string | undefined,
  flags: DriverFlags,
): Promise<number> {
  return runDriver(rt, {
    ...(flags.composition ? { composition: flags.composition } : {}),
    ...(flags.flavour ? { flavour: flags.flavour } : {}),
    ...(flags.identityFile ? { identityFile: flags.identityFile } : {}),
    ...(script ? { script } : {}),
    ...(flags.testScript ? { testScript: true } : {}),
    ...(flags.interactive ? { interactive: true } : {}),
    ...(flags.junit ? { junit: flags.junit } : {}),
  });
}
