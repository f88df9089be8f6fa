import { NxcError } from '@nxc/core';
import { describe, expect, it } from 'vitest';
import { LineSplitter, RpcServer, encodeError, parseMessage } from './rpc.js';

describe('LineSplitter', () => {
  it('joins lines split across chunks and splits chunks holding several lines', () => {
    const s = new LineSplitter();
    expect(s.push('{"a":')).toEqual([]);
    expect(s.push('1}\n{"b":2}\n{"c"')).toEqual(['{"a":1}', '{"b":2}']);
    expect(s.rest).toBe('{"c"');
    expect(s.push(':3}\n')).toEqual(['{"c":3}']);
  });

  it('decodes UTF-8 only at line boundaries (a multi-byte char cut in two survives)', () => {
    const s = new LineSplitter();
    const bytes = Buffer.from('"é→"\n');
    expect(s.push(bytes.subarray(0, 2))).toEqual([]);
    expect(s.push(bytes.subarray(2))).toEqual(['"é→"']);
  });
});

describe('parseMessage', () => {
  it('tells requests from notifications', () => {
    expect(parseMessage('{"id":3,"method":"node","params":{"host":"a"}}')).toEqual({
      kind: 'request',
      id: 3,
      method: 'node',
      params: { host: 'a' },
    });
    expect(parseMessage('{"method":"log","params":{"message":"x"}}')).toEqual({
      kind: 'notification',
      method: 'log',
      params: { message: 'x' },
    });
    expect(parseMessage('{"method":"start_all"}')).toMatchObject({ kind: 'notification', params: {} });
  });

  it('rejects malformed lines with the reason', () => {
    expect(() => parseMessage('nope')).toThrow(/not JSON/);
    expect(() => parseMessage('[1]')).toThrow(/not an object/);
    expect(() => parseMessage('{"id":1}')).toThrow(/no method/);
    expect(() => parseMessage('{"id":"1","method":"x"}')).toThrow(/id must be an integer/);
    expect(() => parseMessage('{"method":"x","params":[1]}')).toThrow(/params must be an object/);
  });
});

describe('encodeError', () => {
  it('keeps an NxcError code and details, marks other errors internal', () => {
    const nxc = JSON.parse(encodeError(1, new NxcError('NXC_TIMEOUT', 'too slow', { details: 'out' })));
    expect(nxc).toEqual({ id: 1, error: { message: 'too slow', code: 'NXC_TIMEOUT', details: 'out' } });
    const other = JSON.parse(encodeError(2, new TypeError('boom')));
    expect(other.error).toEqual({ message: 'internal error: boom', code: 'NXC_INTERNAL', details: '' });
  });
});

describe('RpcServer', () => {
  it('answers requests in order, even when an earlier one takes longer', async () => {
    const written: string[] = [];
    const seen: string[] = [];
    const server = new RpcServer(
      {
        async request(method, params) {
          if (method === 'slow') await new Promise((r) => setTimeout(r, 30));
          if (method === 'bad') throw new NxcError('NXC_TEST_FAILED', 'nope');
          seen.push(method);
          return params.v ?? null;
        },
        notification(method) {
          seen.push(`note:${method}`);
        },
      },
      (line) => written.push(line),
      (e) => written.push(`protocol: ${e.message}`),
    );
    server.push('{"id":1,"method":"slow","params":{"v":1}}\n{"method":"output"}\n{"id":2,"meth');
    server.push('od":"fast","params":{"v":2}}\n{"id":3,"method":"bad"}\ngarbage\n');
    await server.idle();
    expect(seen).toEqual(['slow', 'note:output', 'fast']);
    const answers = written.filter((l) => !l.startsWith('protocol:'));
    expect(answers.map((l) => JSON.parse(l))).toEqual([
      { id: 1, result: 1 },
      { id: 2, result: 2 },
      { id: 3, error: { message: 'nope', code: 'NXC_TEST_FAILED', details: '' } },
    ]);
    expect(written).toContain('protocol: driver RPC: not JSON: garbage');
  });

  it('handles `immediate` notifications at once, ahead of a request still running', async () => {
    const seen: string[] = [];
    let release: () => void = () => {};
    const server = new RpcServer(
      {
        async request(method) {
          seen.push(`start:${method}`);
          await new Promise<void>((r) => {
            release = r;
          });
          seen.push(`end:${method}`);
          return null;
        },
        notification(method) {
          seen.push(`note:${method}`);
          if (method === 'cancel') release();
        },
      },
      () => {},
      () => {},
      new Set(['cancel']),
    );
    server.push('{"id":1,"method":"long"}\n');
    await new Promise((r) => setTimeout(r, 5));
    server.push('{"method":"output"}\n{"method":"cancel","params":{"id":1}}\n');
    await server.idle();
    expect(seen).toEqual(['start:long', 'note:cancel', 'end:long', 'note:output']);
  });
});
