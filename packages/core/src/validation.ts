/**
 * Shared helpers to turn validation failures into ONE readable line naming the file and
 * the field (`build/composition::docker: roles.server.init: expected a /nix/store path`).
 * Internal: not exported from the package.
 */
import { isAbsolute, relative } from 'node:path';
import type { ZodError, ZodIssue } from 'zod';

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

/** The errno code of a Node.js system error, if any. */
export function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}
