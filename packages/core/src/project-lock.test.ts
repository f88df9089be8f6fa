/**
 * The project lock with real processes (test/fixtures/children/lock-holder.mjs, on the built
 * package): a held lock names its holder, a holder killed with SIGKILL or replaced by a
 * recycled pid is taken over, many processes racing for it get exactly one winner (also when
 * they race to break a stale lock), a release never removes someone else's lock.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  lockProject,
  processStartTime,
  projectLockPath,
  readLockHolder,
  withProjectLock,
} from './project-lock.js';
import { type Project, makeProject } from './project.js';

const holderScript = fileURLToPath(new URL('../test/fixtures/children/lock-holder.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../dist/internal.js', import.meta.url));
const config = {
  plugins: [],
  composition: 'composition.nix',
  nix: { flags: [], overrideInputs: {} },
  flavourOptions: {},
};
let base: string;
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  if (!existsSync(dist)) throw new Error(`${dist} missing: run \`pnpm turbo run build\` first`);
  base = await mkdtemp(join(tmpdir(), 'nxc-lock-'));
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});
afterAll(() => rm(base, { recursive: true, force: true }));

let count = 0;
async function freshProject(): Promise<Project> {
  const root = join(base, `p${count++}`);
  await mkdir(root);
  return makeProject(root, config);
}

interface Outcome {
  ok: boolean;
  pid?: number;
  code?: string;
  message?: string;
  hint?: string;
}

/** Starts a holder process; resolves with its first line (held, or why not) and the child. */
function holder(
  project: Project,
  operation: string,
): Promise<{ child: ChildProcessWithoutNullStreams; outcome: Outcome }> {
  const child = spawn(process.execPath, [holderScript, project.root, operation]);
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ child, outcome: JSON.parse(out.slice(0, nl)) as Outcome });
    });
    child.on('exit', (code) => {
      if (!out.includes('\n')) reject(new Error(`holder exited (${code}) without a word`));
    });
  });
}

const exited = (child: ChildProcessWithoutNullStreams) =>
  new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.on('exit', () => resolve())));

describe('project lock', () => {
  it('is refused while another process holds it, naming that process and what it does', async () => {
    const project = await freshProject();
    const { child, outcome } = await holder(project, 'start composition::docker');
    expect(outcome.ok).toBe(true);
    const error = await lockProject(project, 'stop').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NXC_BUSY', exitCode: 3 });
    expect((error as Error).message).toBe(
      `${project.root} is busy: pid ${child.pid} is running \`start composition::docker\` (lock-holder.mjs ${project.root} start composition::docker) since ${new Date(
        (await readLockHolder(project))!.since,
      )
        .toTimeString()
        .slice(0, 8)}`,
    );
    expect((error as { hint: string }).hint).toContain(`kill ${child.pid}`);
    child.stdin.end();
    await exited(child);
    const lock = await lockProject(project, 'stop');
    expect((await readLockHolder(project))?.pid).toBe(process.pid);
    await lock.release();
    expect(existsSync(projectLockPath(project))).toBe(false);
  });

  it('is taken over when its holder was killed (SIGKILL: no release)', async () => {
    const project = await freshProject();
    const { child } = await holder(project, 'start composition::vm-ramdisk');
    child.kill('SIGKILL');
    await exited(child);
    expect((await readLockHolder(project))?.pid).toBe(child.pid);
    await withProjectLock(project, 'stop', async () => {
      expect((await readLockHolder(project))?.pid).toBe(process.pid);
    });
  });

  it('is taken over when its pid now belongs to another process (recycled pid)', async () => {
    const project = await freshProject();
    // pid 1 runs, but it did not start at that time: the lock's holder is gone
    await mkdir(project.deployDir);
    await writeFile(
      projectLockPath(project),
      JSON.stringify({
        pid: 1,
        startTime: (processStartTime(1) ?? 0) + 12345,
        host: hostname(),
        operation: 'start',
        command: 'nxc start',
        since: new Date().toISOString(),
        token: 'old',
      }),
    );
    const lock = await lockProject(project, 'stop');
    expect(lock.holder.pid).toBe(process.pid);
    await lock.release();
  });

  it('is respected when held from another machine (cannot be checked), and says how to clear it', async () => {
    const project = await freshProject();
    await mkdir(project.deployDir);
    await writeFile(
      projectLockPath(project),
      JSON.stringify({
        pid: 999999,
        host: 'frontend-elsewhere',
        operation: 'start',
        command: 'nxc start',
        since: new Date().toISOString(),
        token: 'far',
      }),
    );
    const error = await lockProject(project, 'stop').catch((e: unknown) => e);
    expect((error as Error).message).toContain('pid 999999 on frontend-elsewhere is running `start`');
    expect((error as { hint: string }).hint).toBe(
      `if that command is no longer running, remove ${projectLockPath(project)}`,
    );
  });

  it('is busy for a second taker in the same process', async () => {
    const project = await freshProject();
    const lock = await lockProject(project, 'start a::docker');
    await expect(lockProject(project, 'start b::docker')).rejects.toThrow(
      /is busy: this process is running `start a::docker`/,
    );
    await lock.release();
  });

  it('has exactly one winner among 6 processes racing for it, free or stale (3 rounds each)', async () => {
    for (const stale of [false, true]) {
      for (let round = 0; round < 3; round++) {
        const project = await freshProject();
        if (stale) {
          const { child } = await holder(project, 'crashed');
          child.kill('SIGKILL');
          await exited(child);
        }
        const racers = await Promise.all(Array.from({ length: 6 }, (_, i) => holder(project, `racer ${i}`)));
        const winners = racers.filter((r) => r.outcome.ok);
        expect(winners, `round ${round} (stale: ${stale})`).toHaveLength(1);
        const winner = winners[0]!.child.pid;
        for (const r of racers.filter((x) => !x.outcome.ok)) {
          expect(r.outcome.code).toBe('NXC_BUSY');
          expect(r.outcome.message).toContain(`pid ${winner} is running \`racer`);
        }
        for (const r of racers) r.child.stdin.end();
        await Promise.all(racers.map((r) => exited(r.child)));
        // no lock, draft or breaker file left behind (the winner removed the folder it made)
        expect(existsSync(project.deployDir) ? await readdir(project.deployDir) : []).toEqual([]);
      }
    }
  }, 120_000);

  it('never removes a lock that is no longer its own', async () => {
    const project = await freshProject();
    const lock = await lockProject(project, 'start');
    const other = JSON.stringify({ ...lock.holder, token: 'someone-else' });
    await writeFile(projectLockPath(project), other);
    await lock.release();
    expect(await readFile(projectLockPath(project), 'utf8')).toBe(other);
  });

  it('removes the deploy/ folder it created, not one that existed', async () => {
    const project = await freshProject();
    await (await lockProject(project, 'stop')).release();
    expect(existsSync(project.deployDir)).toBe(false);
    await writeFile(join(project.root, 'marker'), '');
    await mkdir(project.deployDir);
    await (await lockProject(project, 'stop')).release();
    expect(existsSync(project.deployDir)).toBe(true);
  });
});
