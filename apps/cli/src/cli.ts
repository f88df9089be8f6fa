#!/usr/bin/env node
// The `nxc` binary.
import { run } from './main.js';

function exit(code: number): void {
  // Flush piped stdout/stderr before exiting (connections a flavour left open must not keep us alive).
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

run(process.argv.slice(2)).then(exit, (error) => {
  process.stderr.write(`internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
  exit(70);
});
