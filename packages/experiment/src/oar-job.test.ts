import { Oar } from '@nxc/g5k';
import { describe, expect, it } from 'vitest';
import { acquireJob } from './oar-job.js';

/** A fake OAR (pure logic): jobs in memory, every command it was given in `calls`. */
function fakeOar(jobs: Array<{ id: number; name: string; state: string; hosts: string[] }>) {
  const calls: string[][] = [];
  const runner = async (argv: string[]) => {
    calls.push(argv);
    const json = (list: typeof jobs) =>
      JSON.stringify(
        Object.fromEntries(
          list.map((j) => [
            String(j.id),
            { Job_Id: j.id, name: j.name, state: j.state, types: [], assigned_network_address: j.hosts },
          ]),
        ),
      );
    if (argv[0] === 'oarstat' && argv[2] === '-u') return { exitCode: 0, stdout: json(jobs), stderr: '' };
    if (argv[0] === 'oarstat' && argv[2] === '-j')
      return { exitCode: 0, stdout: json(jobs.filter((j) => j.id === Number(argv[3]))), stderr: '' };
    if (argv[0] === 'oarsub') {
      const id = 100 + jobs.length;
      jobs.push({
        id,
        name: argv[argv.indexOf('-n') + 1] ?? '',
        state: 'Running',
        hosts: ['node-1', 'node-2'],
      });
      return { exitCode: 0, stdout: `[ADMISSION RULE] ok\nOAR_JOB_ID=${id}\n`, stderr: '' };
    }
    if (argv[0] === 'oardel') return { exitCode: 0, stdout: '', stderr: '' };
    return { exitCode: 127, stdout: '', stderr: 'unknown' };
  };
  return { oar: new Oar({ runner, timeoutMs: 5000 }), calls };
}

describe('acquireJob', () => {
  it('reuses the running job of that name, without reserving', async () => {
    const { oar, calls } = fakeOar([
      { id: 7, name: 'other', state: 'Running', hosts: ['node-9'] },
      { id: 8, name: 'exp', state: 'Running', hosts: ['node-3', 'node-4'] },
      { id: 5, name: 'exp', state: 'Terminated', hosts: ['node-1'] },
    ]);
    const { job, reused } = await acquireJob(oar, { name: 'exp', nodes: 2 });
    expect([job.id, job.hosts, reused]).toEqual([8, ['node-3', 'node-4'], true]);
    expect(calls.some((c) => c[0] === 'oarsub')).toBe(false);
  });

  it('reserves a job of that name (deploy type, walltime 1:00 by default) when none is active', async () => {
    const { oar, calls } = fakeOar([{ id: 5, name: 'exp', state: 'Terminated', hosts: ['node-1'] }]);
    const { job, reused } = await acquireJob(oar, { name: 'exp', nodes: 2 });
    expect([job.id, job.hosts, reused]).toEqual([101, ['node-1', 'node-2'], false]);
    expect(calls.find((c) => c[0] === 'oarsub')).toEqual([
      'oarsub',
      '-l',
      'nodes=2,walltime=1:00',
      '-t',
      'deploy',
      '-n',
      'exp',
      'sleep infinity',
    ]);
  });

  it('without a node count, no job to reuse is one usage error (exit 2) and nothing is reserved', async () => {
    const { oar, calls } = fakeOar([]);
    await expect(acquireJob(oar, { name: 'exp' })).rejects.toMatchObject({
      code: 'NXC_USAGE',
      exitCode: 2,
      message: 'no active OAR job named "exp" and no node count to reserve one',
    });
    expect(calls.map((c) => c[0])).toEqual(['oarstat']);
  });
});
