/**
 * The Engine API client of the deploy side: dockerode with a bound on every call that should
 * answer quickly (list, create, start, inspect, remove...). A daemon that accepts connections
 * and never answers (hung, overloaded, a broken proxy) would otherwise hang start, stop and
 * status forever. Streams (attach, logs, exec sessions, image import) and `wait` stay
 * unbounded: they last as long as the work they carry.
 */
import { NxcError } from '@nxc/core/flavour';
import Docker from 'dockerode';
import { engineEndpoint } from './engine.js';

/** Default bound on one Engine API call (option `apiTimeoutMs`). */
export const DEFAULT_API_TIMEOUT_MS = 60_000;

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

/** The bound of one call, from the flavour's options (`apiTimeoutMs`). */
export function apiTimeoutMs(options: Record<string, unknown> | undefined): number {
  const value = Number(options?.apiTimeoutMs);
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_API_TIMEOUT_MS;
}

/**
 * A dockerode client whose bounded calls fail after `timeoutMs` with `NXC_TIMEOUT` naming the
 * daemon and the call that did not answer (the request is aborted, not left behind).
 */
export function engineClient(timeoutMs = DEFAULT_API_TIMEOUT_MS): Docker {
  const docker = new Docker();
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
