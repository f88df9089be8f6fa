import { describe, expect, it } from 'vitest';
import { demuxFrames } from './node-logs.js';

function frame(kind: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = kind;
  head.writeUInt32BE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

describe('demuxFrames (non-follow container logs)', () => {
  it('every frame, in order, with its stream, up to the last one', () => {
    const buf = Buffer.concat([frame(1, 'boot\n'), frame(2, 'warn\n'), frame(1, 'NXC_READY server\nlast')]);
    expect(demuxFrames(buf).map(([k, b]) => [k, b.toString()])).toEqual([
      ['stdout', 'boot\n'],
      ['stderr', 'warn\n'],
      ['stdout', 'NXC_READY server\nlast'],
    ]);
  });
});
