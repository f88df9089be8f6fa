/**
 * `nxc driver [SCRIPT] [-t] [-I] [--junit FILE]` as one library call, so the CLI only
 * parses flags and prints: opens the project's running deployment, finds the script,
 * runs it, releases the transport.
 */
import * as core from '@nxc/core';
import { NxcError } from '@nxc/core';
import { openProjectDeployment } from './attach.js';
import { type RunTestScriptOptions, type TestScriptResult, runTestScript } from './run-test-script.js';

/** Options of {@link driverCommand} (the CLI flags). */
export interface DriverCommandOptions
  extends Pick<
    RunTestScriptOptions,
    'interactive' | 'junit' | 'timeoutS' | 'stdout' | 'stderr' | 'stdin' | 'signal' | 'python' | 'outDir'
  > {
  /** Project directory (or any folder below it). */
  projectDir: string;
  /** `-C composition` or `-C composition::flavour`. */
  composition?: string;
  /** `-f flavour`. */
  flavour?: string;
  /** `-i`: private key to reach the nodes. */
  identityFile?: string;
  /** A script file given on the command line. */
  scriptFile?: string;
  /** `-t`: run the composition's testScript (compose info `test_script`). */
  testScript?: boolean;
}

/**
 * Runs `nxc driver`. Without a script file and without `-t`, opens the interactive REPL
 * (as the original nxc does). Throws NxcError for usage problems; a failing script
 * resolves with `ok: false` and `error` (print it, exit with `error.exitCode`).
 */
export async function driverCommand(opts: DriverCommandOptions): Promise<TestScriptResult> {
  if (opts.scriptFile && opts.testScript) {
    throw new NxcError('NXC_USAGE', `give either a script file (${opts.scriptFile}) or -t, not both`, {
      hint: '-t runs the composition testScript; a file runs that file instead',
    });
  }
  const opened = await openProjectDeployment(opts.projectDir, opts);
  try {
    let scriptPath = opts.scriptFile;
    if (opts.testScript)
      scriptPath = await composeTestScript(opened.project, opened.composition, opened.flavour);
    const interactive = opts.interactive ?? (!scriptPath && !opts.testScript);
    return await runTestScript({
      transport: opened.transport,
      deployment: opened.deployment,
      control: opened.control,
      ...(opened.console ? { console: opened.console } : {}),
      ...(opened.network ? { network: opened.network } : {}),
      scriptPath,
      interactive,
      junit: opts.junit,
      timeoutS: opts.timeoutS,
      stdout: opts.stdout,
      stderr: opts.stderr,
      stdin: opts.stdin,
      signal: opts.signal,
      python: opts.python,
      outDir: opts.outDir,
    });
  } finally {
    try {
      await opened.console?.close?.();
    } finally {
      await opened.transport.close();
    }
  }
}

/** Path of the composition's testScript, from the build's compose info. */
export async function composeTestScript(
  project: core.Project,
  composition: string,
  flavour: string,
): Promise<string> {
  const file = core.composeInfoPath(project, composition, flavour);
  const info = await core.readComposeInfo(file, { composition }).catch((error: unknown) => {
    if (core.isNxcError(error)) {
      throw new NxcError(
        'NXC_COMPOSE_INFO',
        `cannot find the testScript of ${composition}::${flavour}: ${error.message}`,
        {
          hint: `rebuild with \`nxc build -C ${composition} -f ${flavour}\`, or give the script file to \`nxc driver\``,
        },
      );
    }
    throw error;
  });
  if (!info.testScript) {
    throw new NxcError('NXC_COMPOSE_INFO', `composition ${composition} has no testScript (${file})`, {
      hint: "add `testScript = ''...'';` to the composition and rebuild, or give a script file",
    });
  }
  return info.testScript;
}
