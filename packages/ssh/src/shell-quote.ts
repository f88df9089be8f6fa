/** POSIX shell quoting for commands sent over SSH (the remote side always parses a string). */

import { shellQuote } from '@nxc/core/flavour';

/** Core's one shell quoting, re-exported where SSH users have always found it. */
export { shellQuote };

/**
 * The command line sent to the node: a string runs under `sh -c` (so the user's login shell
 * does not matter), an argv is quoted word by word; `env` is prepended through `env`.
 */
export function remoteCommand(command: string | string[], env?: Record<string, string>): string {
  const envPart =
    env && Object.keys(env).length > 0
      ? `env ${Object.entries(env)
          .map(([k, v]) => shellQuote(`${k}=${v}`))
          .join(' ')} `
      : '';
  if (typeof command === 'string') return `${envPart}sh -c ${shellQuote(command)}`;
  if (command.length === 0) throw new TypeError('empty argv');
  return envPart + command.map(shellQuote).join(' ');
}
