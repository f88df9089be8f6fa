/**
 * JSON-lines RPC between the Python shim (client) and nxc (server). Two pipes: the shim
 * writes requests and notifications on one, reads answers on the other (fd numbers in
 * NXC_DRIVER_FDS). See python/nxc_driver/rpc.py for the client side.
 *
 *   request       {"id": 7, "method": "node", "params": {...}}
 *   answer        {"id": 7, "result": ...} | {"id": 7, "error": {"message", "code", "details"}}
 *   notification  {"method": "subtest_start", "params": {...}}
 */
import { isNxcError } from '@nxc/core';

/** A parsed message from the shim. */
export type RpcMessage =
  | { kind: 'request'; id: number; method: string; params: Record<string, unknown> }
  | { kind: 'notification'; method: string; params: Record<string, unknown> };

/** Error answer sent back to the shim. */
export interface RpcError {
  message: string;
  code: string;
  details?: string;
}

/**
 * Splits a byte stream into lines (a line may arrive in several chunks, a chunk may hold
 * several lines), decoding UTF-8 only at line boundaries.
 */
export class LineSplitter {
  private pending: Buffer[] = [];

  /** Feeds a chunk; returns the complete lines it finished (without the newline). */
  push(chunk: Buffer | string): string[] {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const lines: string[] = [];
    let start = 0;
    for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, start)) {
      this.pending.push(buf.subarray(start, i));
      lines.push(Buffer.concat(this.pending).toString('utf8'));
      this.pending = [];
      start = i + 1;
    }
    if (start < buf.length) this.pending.push(buf.subarray(start));
    return lines;
  }

  /** Bytes received after the last newline. */
  get rest(): string {
    return Buffer.concat(this.pending).toString('utf8');
  }
}

/** Parses one line; throws an Error naming what is wrong (a protocol bug, not a user error). */
export function parseMessage(line: string): RpcMessage {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error(`driver RPC: not JSON: ${line.slice(0, 200)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`driver RPC: not an object: ${line.slice(0, 200)}`);
  }
  const msg = value as Record<string, unknown>;
  if (typeof msg.method !== 'string') throw new Error(`driver RPC: no method: ${line.slice(0, 200)}`);
  const params = msg.params ?? {};
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new Error(`driver RPC: params must be an object: ${line.slice(0, 200)}`);
  }
  if (msg.id === undefined) {
    return { kind: 'notification', method: msg.method, params: params as Record<string, unknown> };
  }
  if (typeof msg.id !== 'number' || !Number.isInteger(msg.id)) {
    throw new Error(`driver RPC: id must be an integer: ${line.slice(0, 200)}`);
  }
  return { kind: 'request', id: msg.id, method: msg.method, params: params as Record<string, unknown> };
}

/** Encodes an answer line. */
export function encodeResult(id: number, result: unknown): string {
  return `${JSON.stringify({ id, result: result === undefined ? null : result })}\n`;
}

/** Encodes an error answer line from anything thrown by a handler. */
export function encodeError(id: number, error: unknown): string {
  return `${JSON.stringify({ id, error: toRpcError(error) })}\n`;
}

/** What the shim gets for a thrown error: NxcErrors keep their code and details. */
export function toRpcError(error: unknown): RpcError {
  if (isNxcError(error)) {
    return { message: error.message, code: error.code, details: error.details ?? '' };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message: `internal error: ${message}`, code: 'NXC_INTERNAL', details: '' };
}

/** Handlers: requests return a value (or throw), notifications return nothing. */
export interface RpcHandlers {
  request(method: string, params: Record<string, unknown>): Promise<unknown>;
  notification(method: string, params: Record<string, unknown>): void;
}

/**
 * Serves one shim: feed it the bytes read from the request pipe; it calls the handlers
 * and writes answers with `write`. Requests are handled one after the other, in order.
 */
export class RpcServer {
  private readonly lines = new LineSplitter();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly handlers: RpcHandlers,
    private readonly write: (line: string) => void,
    private readonly onProtocolError: (error: Error) => void,
    /** Notifications handled at once, ahead of queued requests (e.g. `cancel`). */
    private readonly immediate: ReadonlySet<string> = new Set(),
  ) {}

  /** Feeds bytes from the shim. */
  push(chunk: Buffer | string): void {
    for (const line of this.lines.push(chunk)) {
      if (!line.trim()) continue;
      let msg: RpcMessage;
      try {
        msg = parseMessage(line);
      } catch (error) {
        this.onProtocolError(error as Error);
        continue;
      }
      if (msg.kind === 'notification' && this.immediate.has(msg.method)) {
        try {
          this.handlers.notification(msg.method, msg.params);
        } catch (error) {
          this.onProtocolError(error as Error);
        }
      } else if (msg.kind === 'notification') {
        // Notifications are ordered with requests: a print before a command shows first.
        this.queue = this.queue.then(() => {
          try {
            this.handlers.notification(msg.method, msg.params);
          } catch (error) {
            this.onProtocolError(error as Error);
          }
        });
      } else {
        this.queue = this.queue.then(async () => {
          try {
            this.write(encodeResult(msg.id, await this.handlers.request(msg.method, msg.params)));
          } catch (error) {
            this.write(encodeError(msg.id, error));
          }
        });
      }
    }
  }

  /** Resolves when every message received so far has been handled. */
  idle(): Promise<void> {
    return this.queue;
  }
}
