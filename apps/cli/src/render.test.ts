import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createRenderer, renderMode } from './render.js';

function sink(tty = false, columns = 40) {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY: tty, columns });
  return { stream, text: () => text };
}

describe('renderMode', () => {
  it('json wins, then TTY, else plain', () => {
    expect(renderMode(true, sink(true).stream)).toBe('json');
    expect(renderMode(false, sink(true).stream)).toBe(process.env.TERM === 'dumb' ? 'plain' : 'tty');
    expect(renderMode(false, sink(false).stream)).toBe('plain');
  });
});

describe('createRenderer', () => {
  it('plain: one line per event', () => {
    const s = sink();
    const r = createRenderer('plain', s.stream);
    r.emit({ type: 'step', message: 'starting composition::docker (2 nodes)' });
    r.emit({ type: 'progress', task: 'nodes ready', current: 1, total: 2, detail: 'server' });
    r.emit({ type: 'node', host: 'client', state: 'booting' });
    r.emit({ type: 'warn', message: 'slow disk' });
    r.emit({ type: 'done', message: 'started' });
    expect(s.text()).toBe(
      'starting composition::docker (2 nodes)\nnodes ready 1/2 server\nclient: booting\nwarning: slow disk\nstarted\n',
    );
  });

  it('json: one JSON object per line with a timestamp', () => {
    const s = sink();
    createRenderer('json', s.stream).emit({ type: 'progress', task: 'build', current: 3, total: 9 });
    const obj = JSON.parse(s.text());
    expect(obj).toMatchObject({ type: 'progress', task: 'build', current: 3, total: 9 });
    expect(Date.parse(obj.time)).not.toBeNaN();
  });

  it('tty: progress rewrites one live line (cut to the width), cleared before lasting lines', () => {
    const s = sink(true, 20);
    const r = createRenderer('tty', s.stream);
    r.emit({
      type: 'progress',
      task: 'nodes ready',
      current: 1,
      total: 4,
      detail: 'a very long detail here',
    });
    r.emit({ type: 'progress', task: 'nodes ready', current: 2, total: 4 });
    r.emit({ type: 'done', message: 'ok' });
    r.clear();
    const out = s.text();
    expect(out).not.toContain('\n›');
    expect(out.split('\r\x1b[K')).toHaveLength(3); // two live lines, each cleared once
    expect(out).toContain('nodes ready 1/4 …');
    expect(out.endsWith('ok\n')).toBe(true);
  });
});
