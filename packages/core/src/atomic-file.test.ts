/**
 * writeFileAtomic under the fault it exists for: the writing process is SIGKILLed at random
 * moments while it rewrites a file; the file must always hold one complete version (a plain
 * write truncates first, and a kill then leaves an empty or half-written file).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeJsonAtomic } from './atomic-file.js';

const writer = fileURLToPath(new URL('../test/fixtures/children/atomic-writer.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../dist/flavour.js', import.meta.url));
let dir: string;

beforeAll(async () => {
  if (!existsSync(dist)) throw new Error(`${dist} missing: run \`pnpm turbo run build\` first`);
  dir = await mkdtemp(join(tmpdir(), 'nxc-atomic-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function started(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`writer exited early (${code})`)));
  });
}

describe('writeFileAtomic', () => {
  it('leaves a complete file whenever the writer is killed (20 random SIGKILLs)', async () => {
    const file = join(dir, 'state.json');
    for (let round = 0; round < 20; round++) {
      const child = spawn(process.execPath, [writer, file, 'atomic'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await started(child);
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 200));
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGKILL');
      await exited;
      const text = await readFile(file, 'utf8');
      expect(() => JSON.parse(text), `round ${round}: ${text.length} bytes`).not.toThrow();
      expect(JSON.parse(text).padding).toHaveLength(256 * 1024);
    }
  }, 120_000);

  it('replaces the file, keeps no temporary file and applies the mode', async () => {
    const file = join(dir, 'sub', 'doc.json');
    await writeJsonAtomic(file, { a: 1 }, { mode: 0o600 });
    await writeJsonAtomic(file, { a: 2 }, { mode: 0o600 });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ a: 2 });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'sub'))).toEqual(['doc.json']);
  });

  it('fails, leaving no temporary file, when the target cannot be replaced', async () => {
    const target = join(dir, 'busy', 'doc.json');
    await writeFileAtomic(join(target, 'inside'), 'a folder stands where the file should go');
    await expect(writeFileAtomic(target, 'data')).rejects.toThrow();
    expect(await readdir(join(dir, 'busy'))).toEqual(['doc.json']);
    expect(await readdir(target)).toEqual(['inside']);
  });
});
