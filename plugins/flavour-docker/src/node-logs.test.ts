import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { demuxFrames, journalCommand } from './node-logs.js';

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

describe('journalCommand (journal of a systemd node)', () => {
  it('reads the current boot with journalctl, through a guard that skips nodes without systemd', () => {
    const cmd = journalCommand({ follow: false, tail: 5 });
    expect(cmd.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(cmd.slice(3)).toEqual([
      'nxc-logs',
      'journalctl',
      '--no-pager',
      '--boot',
      '--output=short-precise',
      '--lines=5',
    ]);
    expect(journalCommand({ follow: true }).slice(3)).toEqual([
      'nxc-logs',
      'journalctl',
      '--no-pager',
      '--boot',
      '--output=short-precise',
    ]);
  });

  it('on a machine whose init is not systemd it prints nothing and exits 0, follow or not', () => {
    // run here, where nxc's tests run: without systemd as init (else the journal is read)
    const systemd = existsSync('/run/systemd/system');
    for (const follow of [false, true]) {
      const [file, ...args] = journalCommand({ follow });
      const r = spawnSync(file!, args, { input: '', encoding: 'utf8', timeout: 10_000 });
      if (systemd) expect(r.status, String(follow)).toBe(0);
      else expect([r.status, r.stdout, r.stderr], String(follow)).toEqual([0, '', '']);
    }
  });
});
