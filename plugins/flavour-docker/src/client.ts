/**
 * The Engine API client of the deploy side: dockerode with a bound on every call that should
 * answer quickly (list, create, start, inspect, remove...). A daemon that accepts connections
 * and never answers (hung, overloaded, a broken proxy) would otherwise hang start, stop and
 * status forever. Streams (attach, logs, exec sessions, image import) and `wait` stay
 * unbounded: they last as long as the work they carry.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { NxcError } from '@nxc/core/flavour';
import type Docker from 'dockerode';
import { engineEndpoint } from './engine.js';
import { DEFAULT_API_TIMEOUT_MS } from './options.js';

export { DEFAULT_API_TIMEOUT_MS };

const require = createRequire(import.meta.url);

/**
 * The modules dockerode and docker-modem load when they are required, for work nxc never
 * asks of them at start-up: gRPC and protobuf (dockerode's `lib/session.js`, for BuildKit
 * sessions of `buildImage`, which nxc does not call) and ssh2 (docker-modem's `lib/ssh.js`,
 * for an `ssh://` DOCKER_HOST). Loading them took ~150 ms of every docker command (`status`,
 * `exec`, `stop`...) on a 2-core machine, three quarters of dockerode's cost (issue #17).
 */
export const DEFERRED_DOCKERODE_MODULES = [
  { from: 'dockerode', file: 'session.js' },
  { from: 'docker-modem', file: 'ssh.js' },
] as const;

/**
 * Puts a stand-in for the module `file` (which exports a function) in Node's require cache,
 * where Node lets a program add entries: whoever requires `file` gets a function that loads
 * the real module on its first call and hands every call to it. Nothing happens when `file`
 * is already loaded, or is not there (another layout of the package: it is then loaded as
 * usual, which costs time, not correctness).
 */
function deferModule(file: string): void {
  if (require.cache[file] || !existsSync(file)) return;
  let real: ((...args: unknown[]) => unknown) | undefined;
  const standIn = function (this: unknown, ...args: unknown[]): unknown {
    if (!real) {
      if (require.cache[file]?.exports === standIn) delete require.cache[file];
      real = require(file) as (...args: unknown[]) => unknown;
    }
    return real.apply(this, args);
  };
  require.cache[file] = {
    id: file,
    filename: file,
    path: dirname(file),
    loaded: true,
    exports: standIn,
    children: [],
    paths: [],
  } as unknown as NodeJS.Module;
}

let dockerode: typeof Docker | undefined;

/** dockerode, required with its {@link DEFERRED_DOCKERODE_MODULES} deferred. */
export function loadDockerode(): typeof Docker {
  if (dockerode) return dockerode;
  const main = require.resolve('dockerode');
  const modem = createRequire(main).resolve('docker-modem');
  const dirs: Record<string, string> = { dockerode: dirname(main), 'docker-modem': dirname(modem) };
  for (const { from, file } of DEFERRED_DOCKERODE_MODULES) deferModule(join(dirs[from] as string, file));
  dockerode = require('dockerode') as typeof Docker;
  return dockerode;
}

/** What docker-modem's `dial` receives (the fields nxc looks at). */
interface DialOptions {
  path: string;
  method: string;
  isStream?: boolean;
  hijack?: boolean;
  openStdin?: boolean;
  file?: unknown;
  abortSignal?: AbortSignal;
}
type DialCallback = (error: unknown, data?: unknown) => void;

function unbounded(options: DialOptions): boolean {
  return (
    options.isStream === true ||
    options.hijack === true ||
    options.openStdin === true ||
    options.file !== undefined ||
    /\/wait(\?|$)/.test(options.path)
  );
}

/** `GET /containers/json`: the call, without its query string, for messages. */
function callName(options: DialOptions): string {
  return `${options.method} ${options.path.split('?')[0]}`;
}

/**
 * A dockerode client whose bounded calls fail after `timeoutMs` with `NXC_TIMEOUT` naming the
 * daemon and the call that did not answer (the request is aborted, not left behind).
 */
export function engineClient(timeoutMs = DEFAULT_API_TIMEOUT_MS): Docker {
  const docker = new (loadDockerode())();
  const modem = docker.modem as unknown as { dial(options: DialOptions, callback: DialCallback): void };
  const dial = modem.dial.bind(modem);
  modem.dial = (options, callback) => {
    if (unbounded(options)) return dial(options, callback);
    const controller = new AbortController();
    const signal = options.abortSignal
      ? AbortSignal.any([options.abortSignal, controller.signal])
      : controller.signal;
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      controller.abort();
      callback(
        new NxcError(
          'NXC_TIMEOUT',
          `the Docker daemon at ${engineEndpoint().display} did not answer ${callName(options)} within ${Math.round(timeoutMs / 100) / 10} s`,
          {
            hint: 'check that dockerd is alive (`docker info`); once it answers, `nxc stop` removes what is left',
          },
        ),
      );
    }, timeoutMs);
    dial({ ...options, abortSignal: signal }, (error, data) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      callback(error, data);
    });
  };
  return docker;
}
