import { describe, expect, it } from 'vitest';
import { type CommandRunner, Oar, localRunner, parseOarstat } from './oar.js';

// Recorded from OAR 2.5.9 (Debian 12) on the test stand-in.
const OARSTAT = `{
   "4" : {
      "state" : "Running", "name" : "nxc", "owner" : "g5kuser", "Job_Id" : 4, "types" : [ "deploy" ],
      "assigned_network_address" : [ "node-1", "node-2", "node-3" ]
   }
}`;
const OARSUB = '[ADMISSION RULE] Modify resource description with type constraints\nOAR_JOB_ID=4\n';

function fake(answers: Record<string, { exitCode?: number; stdout?: string; stderr?: string }>): {
  runner: CommandRunner;
  calls: string[][];
} {
  const calls: string[][] = [];
  return {
    calls,
    runner: async (argv) => {
      calls.push(argv);
      const key = Object.keys(answers).find((k) => argv.join(' ').startsWith(k));
      const a = key ? answers[key]! : { exitCode: 1, stderr: 'unexpected' };
      return { exitCode: a.exitCode ?? 0, stdout: a.stdout ?? '', stderr: a.stderr ?? '' };
    },
  };
}

describe('OAR client', () => {
  it('parses oarstat -J (object keyed by id) and arrays', () => {
    expect(parseOarstat(OARSTAT)).toEqual([
      {
        id: 4,
        state: 'Running',
        name: 'nxc',
        owner: 'g5kuser',
        types: ['deploy'],
        hosts: ['node-1', 'node-2', 'node-3'],
      },
    ]);
    expect(parseOarstat('[]')).toEqual([]);
    expect(parseOarstat('')).toEqual([]);
  });

  it('submits with nodes, walltime, types and name, and reads the job id among other lines', async () => {
    const f = fake({ oarsub: { stdout: OARSUB } });
    const id = await new Oar({ runner: f.runner }).submit({
      nodes: 3,
      walltime: '0:10',
      types: ['deploy'],
      name: 'nxc',
    });
    expect(id).toBe(4);
    expect(f.calls[0]).toEqual([
      'oarsub',
      '-l',
      'nodes=3,walltime=0:10',
      '-t',
      'deploy',
      '-n',
      'nxc',
      'sleep infinity',
    ]);
  });

  it('refuses bad requests before calling OAR', async () => {
    const f = fake({});
    const oar = new Oar({ runner: f.runner });
    await expect(oar.submit({ nodes: 0 })).rejects.toMatchObject({ code: 'NXC_USAGE' });
    await expect(oar.submit({ nodes: 1, walltime: '1h' })).rejects.toThrow(/walltime "1h"/);
    expect(f.calls).toEqual([]);
  });

  it("reports OAR's own refusal in one line", async () => {
    const f = fake({
      oarsub: { exitCode: 5, stderr: '# ADMISSION RULE\n[ERROR] There are not enough resources\n' },
    });
    await expect(new Oar({ runner: f.runner }).submit({ nodes: 99 })).rejects.toThrow(
      'oarsub failed (exit 5): [ERROR] There are not enough resources',
    );
  });

  it('finds a job by id or by name', async () => {
    const f = fake({ 'oarstat -J -j 4': { stdout: OARSTAT }, 'oarstat -J -u': { stdout: OARSTAT } });
    const oar = new Oar({ runner: f.runner });
    await expect(oar.find('4')).resolves.toMatchObject({ id: 4, hosts: ['node-1', 'node-2', 'node-3'] });
    await expect(oar.find('nxc')).resolves.toMatchObject({ id: 4 });
    await expect(oar.find('other')).rejects.toThrow('no active OAR job named "other"');
  });

  it('waitRunning fails clearly when the job ends first', async () => {
    const f = fake({
      'oarstat -J -j 9': { stdout: '{"9":{"Job_Id":9,"state":"Error","assigned_network_address":[]}}' },
    });
    await expect(new Oar({ runner: f.runner }).waitRunning(9, { intervalMs: 10 })).rejects.toThrow(
      'OAR job 9 ended (Error) before running',
    );
  });

  it('oardel can wait until OAR has ended the job', async () => {
    let n = 0;
    const runner: CommandRunner = async (argv) => {
      if (argv[0] === 'oardel')
        return { exitCode: 0, stdout: 'Deleting the job = 4 ...REGISTERED.', stderr: '' };
      n++;
      const state = n < 3 ? 'Running' : 'Error';
      return { exitCode: 0, stdout: `{"4":{"Job_Id":4,"state":"${state}"}}`, stderr: '' };
    };
    await new Oar({ runner }).del(4, { wait: true, intervalMs: 10 });
    expect(n).toBe(3);
  });

  it('says when OAR is not installed', async () => {
    const oar = new Oar({ runner: (argv) => localRunner(['nxc-no-such-oarstat', ...argv.slice(1)]) });
    await expect(oar.job(1)).rejects.toMatchObject({ code: 'NXC_FLAVOUR_UNUSABLE' });
  });
});
