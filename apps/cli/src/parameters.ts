/** `nxc start -p key=value` and `-P file.json`: the user parameters put into the deployment document. */
import { readFile } from 'node:fs/promises';
import { NxcError } from '@nxc/core';

/**
 * Parses `-p key=value` flags. A value that reads as JSON (`3`, `true`, `"x"`, `[1,2]`) keeps
 * its type, anything else is a string (the original nxc used Python literals).
 */
export function parseParameterFlags(flags: string[], flagName = '-p'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) {
      throw new NxcError('NXC_USAGE', `${flagName} ${flag}: expected KEY=VALUE`, {
        hint: `write it like \`${flagName} iterations=3\``,
      });
    }
    const key = flag.slice(0, eq);
    const raw = flag.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // plain string
    }
    out[key] = value;
  }
  return out;
}

/** Reads `-P FILE`: a JSON object of parameters. */
export async function readParameterFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new NxcError(
      'NXC_IO',
      `cannot read parameter file ${file}: ${(error as NodeJS.ErrnoException).code}`,
      {
        hint: 'check the path given to -P',
      },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // `file:LINE:COLUMN` when the parser names the position
    const m = /^(.*?)(?: in JSON)? at position (\d+)/.exec((error as Error).message);
    const before = m ? text.slice(0, Number(m[2])) : '';
    const at = m ? `:${before.split('\n').length}:${before.length - before.lastIndexOf('\n')}` : '';
    const reason = m ? (m[1] as string) : (error as Error).message;
    throw new NxcError('NXC_USAGE', `${file}${at}: not valid JSON (${reason})`, {
      hint: 'the -P file must hold a JSON object, e.g. {"iterations": 3}',
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new NxcError('NXC_USAGE', `${file}: expected a JSON object of parameters`, {
      hint: 'the -P file must hold a JSON object, e.g. {"iterations": 3}',
    });
  }
  return value as Record<string, unknown>;
}
