/**
 * Shared helpers to turn validation failures into ONE readable line naming the file and
 * the field (`build/composition::docker: roles.server.init: expected a /nix/store path`).
 * Internal: not exported from the package.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, relative } from 'node:path';
import type { ZodError, ZodIssue } from 'zod';
import { NxcError, type NxcErrorCode } from './errors.js';

/** A path as users should read it: relative to the working directory when inside it. */
export function displayPath(file: string): string {
  if (!isAbsolute(file)) return file;
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/** `roles.server.init`, `deployment["172.20.0.2"].host`, `flavours[0].name`. */
export function formatFieldPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

function lowerFirst(text: string): string {
  return text.length > 0 ? text[0]!.toLowerCase() + text.slice(1) : text;
}

/** One issue as `field: message` (just `message` at the top level). */
export function formatIssue(issue: ZodIssue): string {
  let message: string;
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}`;
  } else if (issue.code === 'invalid_type' && issue.received === 'undefined') {
    message = `missing (expected ${issue.expected})`;
  } else if (issue.code === 'invalid_type') {
    message = `expected ${issue.expected}, got ${issue.received}`;
  } else if (issue.code === 'invalid_union' && issue.unionErrors.length > 0) {
    // Report the branch that went furthest: its first issue is the most specific one.
    const deepest = issue.unionErrors
      .flatMap((e) => e.issues)
      .sort((a, b) => b.path.length - a.path.length)[0];
    if (deepest) return formatIssue(deepest);
    message = lowerFirst(issue.message);
  } else {
    message = lowerFirst(issue.message);
  }
  const field = formatFieldPath(issue.path);
  return field === '' ? message : `${field}: ${message}`;
}

/** First issue of a ZodError as one line, with a count of the others. */
export function formatZodError(error: ZodError): string {
  const [first, ...rest] = error.issues;
  if (!first) return 'invalid value';
  return (
    formatIssue(first) +
    (rest.length > 0 ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '')
  );
}

/**
 * A JSON.parse error of `text` as `{ at, reason }`: `at` is `:LINE:COLUMN` of the error
 * ('' when the parser names no position, as at the end of the input), `reason` its message
 * without the position.
 */
export function jsonSyntaxError(text: string, error: unknown): { at: string; reason: string } {
  const message = firstLine(error);
  const m = /^(.*?)(?: in JSON)? at position (\d+)/.exec(message);
  if (!m) return { at: '', reason: message };
  const before = text.slice(0, Number(m[2]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return { at: `:${line}:${column}`, reason: m[1] as string };
}

/** First line of an arbitrary error's message, for wrapping foreign errors into one line. */
export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (
    text
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? 'unknown error'
  );
}

/**
 * Reads a file the user named (machine file, role distribution...) as UTF-8, turning I/O
 * failures into one line: `<what> <path> does not exist` / `is a directory` / `cannot read
 * <what> <path> (<errno>)`, with `hint` (a permission hint for EACCES).
 */
export async function readUserFile(
  file: string,
  options: { code: NxcErrorCode; what: string; hint: string },
): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const where = displayPath(file);
    const code = errnoCode(error);
    throw new NxcError(
      options.code,
      code === 'ENOENT'
        ? `${options.what} ${where} does not exist`
        : code === 'EISDIR'
          ? `${options.what} ${where} is a directory`
          : `cannot read ${options.what} ${where} (${code ?? firstLine(error)})`,
      { hint: code === 'EACCES' ? `check its permissions (ls -l ${where})` : options.hint },
    );
  }
}

/** The errno code of a Node.js system error, if any. */
export function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps count 1). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate a mistyped `name` most likely meant (case-insensitive, at most 2 edits), if any. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const dist = distance(name.toLowerCase(), candidate.toLowerCase());
    if (dist < bestDistance) {
      best = candidate;
      bestDistance = dist;
    }
  }
  return bestDistance <= Math.min(2, Math.max(1, Math.floor(name.length / 3))) ? best : undefined;
}
