/**
 * Node's built-in modules that cost a few milliseconds to load and that most commands never
 * use (issue #17: `nxc status` must start fast): loaded on first use instead of with the
 * module graph. (The loader is not named `require`: the bundler would replace that call.)
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);
let crypto: typeof import('node:crypto') | undefined;
let zlib: typeof import('node:zlib') | undefined;
let childProcess: typeof import('node:child_process') | undefined;
let util: typeof import('node:util') | undefined;

/** `node:crypto`, loaded on the first call. */
export function nodeCrypto(): typeof import('node:crypto') {
  crypto ??= load('node:crypto') as typeof import('node:crypto');
  return crypto;
}

/** `node:zlib`, loaded on the first call. */
export function nodeZlib(): typeof import('node:zlib') {
  zlib ??= load('node:zlib') as typeof import('node:zlib');
  return zlib;
}

/** `node:child_process`, loaded on the first call. */
export function nodeChildProcess(): typeof import('node:child_process') {
  childProcess ??= load('node:child_process') as typeof import('node:child_process');
  return childProcess;
}

/**
 * `node:util`, loaded on the first call: an ES import of it builds its whole namespace, which
 * loads util's lazily defined parts (MIME types, parseArgs) that nxc never uses.
 */
export function nodeUtil(): typeof import('node:util') {
  util ??= load('node:util') as typeof import('node:util');
  return util;
}
