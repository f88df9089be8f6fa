import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { machineFileFrom, readMachines } from './machines.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nxc-g5k-machines-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('machine lists', () => {
  it('collapses OAR duplicates (one line per core) and keeps order', async () => {
    const f = join(dir, 'dups');
    await writeFile(f, 'node-2\nnode-2\nnode-1\n\n# spare\nnode-3 \nnode-1\n');
    await expect(readMachines({ machineFile: f, env: {} })).resolves.toEqual({
      file: f,
      machines: ['node-2', 'node-1', 'node-3'],
    });
  });

  it('prefers -m, then $OAR_NODEFILE, then $OAR_NODE_FILE', () => {
    expect(machineFileFrom({ machineFile: '/a', env: { OAR_NODEFILE: '/b' } })).toBe('/a');
    expect(machineFileFrom({ env: { OAR_NODEFILE: '/b', OAR_NODE_FILE: '/c' } })).toBe('/b');
    expect(machineFileFrom({ env: { OAR_NODE_FILE: '/c' } })).toBe('/c');
    expect(machineFileFrom({ env: {} })).toBeUndefined();
  });

  it('reads the OAR node file from the environment', async () => {
    const f = join(dir, 'nodefile');
    await writeFile(f, 'node-1\nnode-1\nnode-2\n');
    await expect(readMachines({ env: { OAR_NODEFILE: f } })).resolves.toEqual({
      file: f,
      machines: ['node-1', 'node-2'],
    });
  });

  it('says what to do when no file is named, missing or empty', async () => {
    await expect(readMachines({ env: {} })).rejects.toMatchObject({
      code: 'NXC_MACHINES',
      message: expect.stringContaining('$OAR_NODEFILE'),
    });
    await expect(readMachines({ machineFile: join(dir, 'nope'), env: {} })).rejects.toMatchObject({
      code: 'NXC_MACHINES',
      hint: expect.stringContaining('-W'),
    });
    const empty = join(dir, 'empty');
    await writeFile(empty, '\n# nothing\n');
    await expect(readMachines({ machineFile: empty, env: {} })).rejects.toThrow(/lists no host/);
    await expect(readMachines({ machineFile: dir, env: {} })).rejects.toMatchObject({ code: 'NXC_MACHINES' });
  });

  it('-W waits for the file to appear', async () => {
    const f = join(dir, 'later');
    let waited = '';
    const p = readMachines({
      machineFile: f,
      wait: true,
      env: {},
      onWait: (file) => {
        waited = file;
      },
    });
    setTimeout(() => void writeFile(f, 'node-7\n'), 300);
    await expect(p).resolves.toEqual({ file: f, machines: ['node-7'] });
    expect(waited).toBe(f);
  });

  it('-W gives up after its timeout, and on abort', async () => {
    await expect(
      readMachines({ machineFile: join(dir, 'never'), wait: true, waitTimeoutMs: 300, env: {} }),
    ).rejects.toMatchObject({
      code: 'NXC_TIMEOUT',
    });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    await expect(
      readMachines({ machineFile: join(dir, 'never'), wait: true, signal: ac.signal, env: {} }),
    ).rejects.toMatchObject({
      code: 'NXC_INTERRUPTED',
    });
  });
});
