import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { leftoverRunDirs, makeRunDir, removeRunDirs, runBase } from './run-dir.js';

// These tests give folders to another uid (chown): they run as root, as the e2e suite does.
const OTHER = 4242;
const ID = '0123456789ab';
let scratch: string;
const saved = { TMPDIR: process.env.TMPDIR, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR };

function restore(name: keyof typeof saved): void {
  if (saved[name] === undefined) Reflect.deleteProperty(process.env, name);
  else process.env[name] = saved[name];
}

beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'nxc-run-dir-'));
  process.env.TMPDIR = scratch;
  Reflect.deleteProperty(process.env, 'XDG_RUNTIME_DIR');
});
afterEach(() => {
  restore('TMPDIR');
  restore('XDG_RUNTIME_DIR');
  rmSync(scratch, { recursive: true, force: true });
});

const uid = process.getuid!();

describe('qemu run folders', () => {
  it('live in a per-user 0700 base: $XDG_RUNTIME_DIR/nxc, else <tmpdir>/nxc-<uid>', async () => {
    expect(runBase()).toBe(join(scratch, `nxc-${uid}`));
    const run = await makeRunDir(ID);
    expect(run.warning).toBeUndefined();
    expect(dirname(run.path)).toBe(join(scratch, `nxc-${uid}`));
    expect(run.path).toMatch(new RegExp(`/qemu-${ID}-[A-Za-z0-9]{6}$`));
    for (const d of [run.path, dirname(run.path)]) expect(lstatSync(d).mode & 0o777).toBe(0o700);
    process.env.XDG_RUNTIME_DIR = join(scratch, 'xdg');
    mkdirSync(process.env.XDG_RUNTIME_DIR, { mode: 0o700 });
    expect(dirname((await makeRunDir(ID)).path)).toBe(join(scratch, 'xdg/nxc'));
  });

  it('a base made too open by its owner is closed again', async () => {
    mkdirSync(join(scratch, `nxc-${uid}`), { mode: 0o777 });
    await makeRunDir(ID);
    expect(lstatSync(join(scratch, `nxc-${uid}`)).mode & 0o777).toBe(0o700);
  });

  for (const [what, squat] of [
    [
      'a folder of another user',
      (p: string) => {
        mkdirSync(p, { mode: 0o777 });
        chownSync(p, OTHER, OTHER);
      },
    ],
    ['a symbolic link', (p: string) => symlinkSync(scratch, p)],
  ] as const) {
    it(`a base that is ${what} is neither used nor touched: the run folder goes to the temporary folder`, async () => {
      const base = join(scratch, `nxc-${uid}`);
      squat(base);
      const before = lstatSync(base);
      const run = await makeRunDir(ID);
      expect(run.warning).toMatch(new RegExp(`^${base} is not a private folder of yours \\(`));
      expect(dirname(run.path)).toBe(scratch);
      expect(lstatSync(run.path).mode & 0o777).toBe(0o700);
      expect(lstatSync(base)).toMatchObject({ uid: before.uid, mode: before.mode });
      removeRunDirs(ID, run.path);
      expect(existsSync(run.path)).toBe(false);
    });
  }

  it('removes its own run folders (state and leftovers), never other folders', async () => {
    const a = await makeRunDir(ID);
    const b = await makeRunDir(ID);
    const otherDeployment = await makeRunDir('ba9876543210');
    // another user's folder with a run folder's name, and a folder the state names wrongly
    const theirs = join(scratch, `nxc-qemu-${ID}-squat1`);
    mkdirSync(theirs);
    writeFileSync(join(theirs, 'keep'), '');
    chownSync(theirs, OTHER, OTHER);
    const notARunDir = join(scratch, 'precious');
    mkdirSync(notARunDir);
    expect(leftoverRunDirs(ID).sort()).toEqual([a.path, b.path].sort());
    removeRunDirs(ID, theirs);
    removeRunDirs(ID, notARunDir);
    expect(existsSync(a.path) || existsSync(b.path)).toBe(false);
    expect(existsSync(join(theirs, 'keep'))).toBe(true);
    expect(existsSync(notARunDir)).toBe(true);
    expect(existsSync(otherDeployment.path)).toBe(true);
  });
});
