/**
 * Where the Docker engine is and whether nxc can use it. Deliberately free of dockerode:
 * `usable()` runs on every `nxc start`/`nxc flavours` and must stay cheap to load.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Unusable } from '@nxc/core/flavour';

/**
 * `node:http`, loaded when the engine is first asked something: `nxc build` imports this
 * plugin for its options only, and http costs a few milliseconds to load (issue #17).
 */
let http: typeof import('node:http') | undefined;
function nodeHttp(): typeof import('node:http') {
  http ??= createRequire(import.meta.url)('node:http') as typeof import('node:http');
  return http;
}

/** Oldest Engine API nxc drives (Docker 19.03). */
export const MIN_API_VERSION = '1.40';

/** How to reach the engine, from `DOCKER_HOST` (same rules as the docker CLI and dockerode). */
export type EngineEndpoint =
  | { kind: 'unix'; socketPath: string; display: string }
  | { kind: 'tcp'; host: string; port: number; tls: boolean; display: string }
  | { kind: 'other'; display: string };

export function engineEndpoint(env: NodeJS.ProcessEnv = process.env): EngineEndpoint {
  const value = env.DOCKER_HOST?.trim();
  if (!value) {
    const user = join(homedir(), '.docker/run/docker.sock');
    const socketPath =
      !existsSync('/var/run/docker.sock') && existsSync(user) ? user : '/var/run/docker.sock';
    return { kind: 'unix', socketPath, display: socketPath };
  }
  if (value.startsWith('unix://')) {
    const socketPath = value.slice(7) || '/var/run/docker.sock';
    return { kind: 'unix', socketPath, display: socketPath };
  }
  const withScheme = value.includes('//') ? value : `tcp://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return { kind: 'other', display: value };
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { kind: 'other', display: value };
  }
  const port = Number(url.port || (url.protocol === 'https:' ? 2376 : 2375));
  const tls = url.protocol === 'https:' || env.DOCKER_TLS_VERIFY === '1' || port === 2376;
  return { kind: 'tcp', host: url.hostname, port, tls, display: value };
}

/** Compares dotted API versions ("1.41" vs "1.40"). */
export function apiVersionAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

function get(
  endpoint: EngineEndpoint,
  path: string,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const target =
      endpoint.kind === 'unix'
        ? { socketPath: endpoint.socketPath }
        : endpoint.kind === 'tcp'
          ? { host: endpoint.host, port: endpoint.port }
          : {};
    const req = nodeHttp().request({ ...target, path, method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

const START_HINT =
  'start the daemon (e.g. `sudo systemctl start docker` or `sudo dockerd &`), or point DOCKER_HOST at a running engine';

/**
 * Checks that the engine answers, that we may talk to it and that its API is recent enough.
 * Returns undefined when usable. Never creates anything.
 */
export async function checkEngine(
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 3000,
): Promise<Unusable | undefined> {
  const endpoint = engineEndpoint(env);
  // TLS and ssh endpoints need client certificates/agents: let dockerode report problems at deploy time.
  if (endpoint.kind === 'other' || (endpoint.kind === 'tcp' && endpoint.tls)) return undefined;
  if (endpoint.kind === 'unix' && !existsSync(endpoint.socketPath)) {
    return { reason: `no Docker daemon socket at ${endpoint.socketPath}`, hint: START_HINT };
  }
  let version: { status: number; body: string };
  try {
    version = await get(endpoint, '/version', timeoutMs);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      return {
        reason: `no permission to use the Docker daemon socket ${endpoint.display}`,
        hint: 'add yourself to the `docker` group (`sudo usermod -aG docker $USER`, then log in again) or run nxc as root',
      };
    }
    if (code === 'ETIMEDOUT') {
      return {
        reason: `the Docker daemon at ${endpoint.display} did not answer GET /version within ${timeoutMs / 1000} s`,
        hint: 'check that dockerd is alive (`docker info`) and not overloaded, or point DOCKER_HOST at a running engine',
      };
    }
    return {
      reason: `cannot reach the Docker daemon at ${endpoint.display} (${code ?? String(error)})`,
      hint: START_HINT,
    };
  }
  if (version.status !== 200) {
    return {
      reason: `the Docker daemon at ${endpoint.display} answered HTTP ${version.status} to /version`,
      hint: 'check that DOCKER_HOST points at a Docker engine',
    };
  }
  let apiVersion = '';
  try {
    apiVersion = String((JSON.parse(version.body) as { ApiVersion?: string }).ApiVersion ?? '');
  } catch {
    // fall through: reported below
  }
  if (!apiVersion || !apiVersionAtLeast(apiVersion, MIN_API_VERSION)) {
    return {
      reason: `the Docker engine at ${endpoint.display} speaks API ${apiVersion || 'unknown'}, nxc needs ${MIN_API_VERSION} or newer`,
      hint: 'upgrade Docker to 19.03 or newer',
    };
  }
  return undefined;
}
