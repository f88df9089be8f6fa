/**
 * The g5k flavours' `usable()` through the real `nxc flavours --check --json`, in the nearest
 * thing to a Grid'5000 frontend this machine has: the OAR 2.5 client that test/g5k-sim
 * installs (`oarstat` in /usr/bin) and, inside the stand-in, a real OAR job of type deploy
 * whose script runs nxc as the OAR submitter. Kadeploy cannot be real here: a stand-in
 * `kadeploy3` on PATH plays it. Needs root and the shared lock (the stand-in is one per machine).
 */
import { execFile } from 'node:child_process';
import { chmod, cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { shellQuote } from '@nxc/core/flavour';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type G5kSim, repo, startG5kSim } from '../../../test/g5k-sim/harness.js';
import { withRepoReachable } from '../../../test/support/repo-reachable.js';
import { Oar } from '../src/oar.js';
import { demoProject } from './stand-in-setup.js';

const cli = join(repo, 'apps/cli/dist/cli.js');
const kadeployFixture = join(repo, 'plugins/flavour-g5k-image/test/fixtures/kadeploy3/kadeploy3');
const G5K = ['g5k-ramdisk', 'g5k-nfs-store', 'g5k-image'];
const OFF_FRONTEND =
  "not on a Grid'5000 frontend (no oarstat on PATH) nor inside an OAR job ($OAR_NODEFILE is not set)";
const NO_KADEPLOY =
  "kadeploy3 is not on PATH: g5k-image deploys with Kadeploy, which Grid'5000 frontends have";

type Listed = { flavours: { name: string; unusable?: { reason: string; hint: string } }[] };

let work: string;
let project: string;
let kadeployDir: string;
let sim: G5kSim | undefined;

/** `nxc flavours --check --json` in the demo project as root, with exactly this environment. */
async function check(env: Record<string, string>): Promise<Record<string, string | undefined>> {
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      [cli, 'flavours', '--check', '--json'],
      { cwd: project, env },
      (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
    ),
  );
  return reasons(JSON.parse(stdout) as Listed);
}

function reasons(listed: Listed): Record<string, string | undefined> {
  return Object.fromEntries(
    listed.flavours.filter((f) => G5K.includes(f.name)).map((f) => [f.name, f.unusable?.reason]),
  );
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'nxc-g5k-usable-'));
  await chmod(work, 0o755); // the OAR submitter runs nxc in it
  project = (await demoProject(work)).dir;
  // only kadeploy3 (the real OAR client stays the oarstat found)
  kadeployDir = join(work, 'kadeploy');
  await cp(dirname(kadeployFixture), kadeployDir, {
    recursive: true,
    filter: (src) => !src.endsWith('oarstat'),
  });
});

afterAll(async () => {
  await sim?.down();
  if (work) await rm(work, { recursive: true, force: true });
}, 300_000);

describe("g5k flavours' usable() where nxc runs", () => {
  it('off a frontend (no oarstat, no job): each g5k flavour says so in one line', async () => {
    // nxc itself is started by absolute path: PATH holds nothing at all
    expect(await check({ PATH: join(work, 'nothing'), HOME: process.env.HOME ?? '/root' })).toEqual({
      'g5k-ramdisk': OFF_FRONTEND,
      'g5k-nfs-store': OFF_FRONTEND,
      'g5k-image': NO_KADEPLOY,
    });
  });

  it("on this machine's OAR client (oarstat on PATH), no job and no Kadeploy: kexec flavours yes, g5k-image says what is missing", async () => {
    const PATH = process.env.PATH ?? '/usr/bin:/bin';
    const env = { PATH, HOME: process.env.HOME ?? '/root' };
    expect(await check(env)).toEqual({
      'g5k-ramdisk': undefined,
      'g5k-nfs-store': undefined,
      'g5k-image': NO_KADEPLOY,
    });
    expect(await check({ ...env, PATH: `${PATH}:${kadeployDir}` })).toEqual({
      'g5k-ramdisk': undefined,
      'g5k-nfs-store': undefined,
      'g5k-image':
        'not inside an OAR job ($OAR_JOB_ID is not set): Kadeploy deploys only the nodes of a job of type deploy',
    });
  });

  // the submitter runs nxc from this repository
  it(
    'inside a real OAR job of type deploy (stand-in), as the submitter: every g5k flavour is usable',
    () =>
      withRepoReachable(async () => {
        sim = await startG5kSim({ nodes: 1, oar: true });
        const s = sim;
        const oar = new Oar({
          runner: async (argv) => {
            const r = await s.asUser(argv.map(shellQuote).join(' '));
            return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr };
          },
        });
        const home = sim.env.G5KSIM_JOB_USER_HOME!;
        const nxc = [process.execPath, cli, 'flavours', '--check', '--json'].map(shellQuote).join(' ');
        const jobId = await oar.submit({
          nodes: 1,
          walltime: '0:10',
          types: ['deploy'],
          name: 'nxc-usable',
          // the job script runs on the frontend with OAR's environment ($OAR_NODEFILE, $OAR_JOB_ID)
          command: [
            `cd ${shellQuote(project)}`,
            // with no tool on PATH, only OAR's $OAR_NODEFILE can make the kexec flavours usable
            `PATH=${shellQuote(join(work, 'nothing'))} ${nxc} > ~/bare.$OAR_JOB_ID 2>&1`,
            `PATH="$PATH:${kadeployDir}" ${nxc} > ~/usable.$OAR_JOB_ID.tmp 2>&1`,
            'mv ~/usable.$OAR_JOB_ID.tmp ~/usable.$OAR_JOB_ID',
            'sleep 600',
          ].join('; '),
        });
        try {
          await oar.waitRunning(jobId, { timeoutMs: 60_000 });
          const out = join(home, `usable.${jobId}`);
          const deadline = Date.now() + 60_000;
          let text: string | undefined;
          while (text === undefined && Date.now() < deadline) {
            text = await readFile(out, 'utf8').catch(() => undefined);
            if (text === undefined) await new Promise((r) => setTimeout(r, 500));
          }
          expect(text, `no ${out} within 60 s`).toBeDefined();
          expect(reasons(JSON.parse(text!) as Listed)).toEqual({
            'g5k-ramdisk': undefined,
            'g5k-nfs-store': undefined,
            'g5k-image': undefined,
          });
          expect(reasons(JSON.parse(await readFile(join(home, `bare.${jobId}`), 'utf8')) as Listed)).toEqual({
            'g5k-ramdisk': undefined,
            'g5k-nfs-store': undefined,
            'g5k-image': NO_KADEPLOY,
          });
        } finally {
          await oar.del(jobId, { wait: true, timeoutMs: 60_000 });
        }
      }),
    600_000,
  );
});
