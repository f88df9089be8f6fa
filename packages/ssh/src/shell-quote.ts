/** POSIX shell quoting for commands sent over SSH (the remote side always parses a string). */

/** Quotes one word for a POSIX shell: `it's` -> `'it'\''s'`. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

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
