/**
 * Leftover search by environment labels, on real processes: found by project (and by
 * composition/flavour when asked), identified by pid + start time, and never another user's
 * process even when it carries the same labels (a process of `nobody`, via setpriv).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { findLabelledProcesses, isSameProcess, labelledEnv } from './processes.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function sleeper(labels: Parameters<typeof labelledEnv>[0], argv = ['sleep', '300']): ChildProcess {
  const child = spawn(argv[0]!, argv.slice(1), { env: labelledEnv(labels), stdio: 'ignore' });
  children.push(child);
  return child;
}

const project = `/tmp/nxc-labels-test-${process.pid}`;

describe('labelled processes', () => {
  it('are found by project, composition and flavour', async () => {
    const a = sleeper({ project, composition: 'c1', flavour: 'vm-ramdisk', host: 'server', runDir: '/x' });
    const b = sleeper({ project, composition: 'c2', flavour: 'vm', host: 'node' });
    sleeper({ project: `${project}-other`, composition: 'c1', flavour: 'vm-ramdisk' });
    await new Promise((r) => setTimeout(r, 200));
    const pids = (m: Parameters<typeof findLabelledProcesses>[0]) =>
      findLabelledProcesses(m)
        .map((p) => p.pid)
        .sort();
    expect(pids({ project })).toEqual([a.pid, b.pid].sort());
    expect(pids({ project, composition: 'c1' })).toEqual([a.pid]);
    expect(pids({ project, flavour: 'vm' })).toEqual([b.pid]);
    const [found] = findLabelledProcesses({ project, composition: 'c1' });
    expect(found).toMatchObject({
      argv: ['sleep', '300'],
      labels: { project, composition: 'c1', flavour: 'vm-ramdisk', host: 'server', runDir: '/x' },
    });
    expect(isSameProcess(found!.pid, found!.startTime)).toBe(true);
    expect(isSameProcess(found!.pid, found!.startTime + 1)).toBe(false);
    a.kill('SIGKILL');
    await new Promise((r) => a.on('exit', r));
    expect(isSameProcess(found!.pid, found!.startTime)).toBe(false);
  });

  it("never another user's process, even with our labels", async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (it runs a process as nobody)');
    const foreign = sleeper({ project, composition: 'c', flavour: 'vm' }, [
      'setpriv',
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      'sleep',
      '300',
    ]);
    const mine = sleeper({ project, composition: 'c', flavour: 'vm' });
    await new Promise((r) => setTimeout(r, 300));
    expect(findLabelledProcesses({ project }).map((p) => p.pid)).toEqual([mine.pid]);
    expect(foreign.pid).toBeGreaterThan(0);
  });
});
