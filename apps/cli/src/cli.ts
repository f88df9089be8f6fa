#!/usr/bin/env node
// The `nxc` binary.
import nodeModule from 'node:module';

// Node.js >= 22.1 keeps the compiled code of the modules it loads on disk (in its own cache
// folder, or $NODE_COMPILE_CACHE), which spares every later start most of its module loading
// (issue #17); older Node.js has no such call. It must run before the rest is imported.
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { run, HANDLED_SIGNALS } = await import('./main.js');

function exit(code: number): void {
  // The command is over and its outcome decided: a signal now must not kill the process with
  // another status (a finished start would look interrupted while its nodes run).
  for (const signal of Object.keys(HANDLED_SIGNALS)) process.on(signal, () => {});
  // Flush piped stdout/stderr before exiting (connections a flavour left open must not keep us alive).
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

run(process.argv.slice(2)).then(exit, (error) => {
  process.stderr.write(`internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
  exit(70);
});
