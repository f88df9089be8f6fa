import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  assignDisks,
  diskProbeCommand,
  diskProbeProblems,
  disksError,
  disksKernelParam,
  parseResourceProperties,
  planNodeDisks,
  readReservedDisks,
  reservedDisksByHost,
} from './disks.js';

// as OAR 2.5 writes $OAR_RESOURCE_PROPERTIES_FILE (and `oarstat -p`): one resource a line
const PROPS = [
  " network_address = 'g-1' , host = 'g-1' , type = 'default' , disk = '' , diskpath = '' , deploy = 'YES'",
  " type = 'disk' , host = 'g-1' , network_address = '' , disk = 'disk10.g-1' , diskpath = '/dev/disk/by-path/pci-0000:02:00.0-scsi-0:0:10:0'",
  " diskpath = '/dev/disk/by-path/pci-0000:02:00.0-scsi-0:0:2:0' , disk = 'disk2.g-1' , type = 'disk' , host = 'g-1'",
  " type = 'disk' , host = 'g-2' , disk = 'disk1.g-2' , diskpath = '/dev/disk/by-path/pci-0000:00:1f.0-ata-2' , comment = 'it''s, = here'",
  '',
].join('\n');

const data = { id: 'data', size: '4G', bytes: 4 * 1024 ** 3 };
const logs = { id: 'logs', size: '512M', bytes: 512 * 1024 ** 2 };

describe('reserved disks from OAR', () => {
  it('parses the property lines (quotes doubled inside values, commas and = in values)', () => {
    const r = parseResourceProperties(PROPS);
    expect(r).toHaveLength(4);
    expect(r[3]).toMatchObject({ type: 'disk', host: 'g-2', comment: "it's, = here" });
  });

  it("groups the disks by machine, each machine's in natural order of their names", () => {
    const byHost = reservedDisksByHost(parseResourceProperties(PROPS));
    expect([...byHost.keys()]).toEqual(['g-1', 'g-2']);
    expect(byHost.get('g-1')?.map((d) => d.disk)).toEqual(['disk2.g-1', 'disk10.g-1']);
  });

  it('reads $OAR_RESOURCE_PROPERTIES_FILE first, else `oarstat -p -j $OAR_JOB_ID`, else nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nxc-disks-'));
    try {
      await writeFile(join(dir, 'props'), PROPS);
      const calls: string[][] = [];
      const runner = async (argv: string[]) => {
        calls.push(argv);
        return { exitCode: 0, stdout: PROPS.split('\n')[3] ?? '', stderr: '' };
      };
      const fromFile = await readReservedDisks({ OAR_RESOURCE_PROPERTIES_FILE: join(dir, 'props') }, runner);
      expect(fromFile?.disks.get('g-1')).toHaveLength(2);
      expect(calls).toEqual([]);
      const fromJob = await readReservedDisks({ OAR_JOB_ID: '42' }, runner);
      expect(calls).toEqual([['oarstat', '-p', '-j', '42']]);
      expect([...(fromJob?.disks.keys() ?? [])]).toEqual(['g-2']);
      expect(await readReservedDisks({}, runner)).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('declared disks onto reserved disks', () => {
  const reserved = reservedDisksByHost(parseResourceProperties(PROPS));

  it("declared disk i -> the machine's i-th reserved disk; a machine known by its short name matches", () => {
    const { assigned, problems } = assignDisks(
      [
        { machine: 'g-1.site.grid5000.fr', host: 'store1', disks: [data, logs] },
        { machine: 'g-2', host: 'client', disks: [] },
      ],
      reserved,
    );
    expect(problems).toEqual([]);
    expect(assigned.get('store1')?.map((d) => `${d.id}:${d.disk}`)).toEqual([
      'data:disk2.g-1',
      'logs:disk10.g-1',
    ]);
    expect(assigned.has('client')).toBe(false);
  });

  it('one problem line per node with too few reserved disks', () => {
    const { problems } = assignDisks(
      [
        { machine: 'g-2', host: 'store1', disks: [data, logs] },
        { machine: 'g-3', host: 'store2', disks: [data] },
      ],
      reserved,
    );
    expect(problems).toEqual([
      'node store1 (g-2) needs 2 disks (data 4G, logs 512M), the OAR job reserved 1 on g-2 (disk1.g-2)',
      'node store2 (g-3) needs 1 disk (data 4G), the OAR job reserved 0 on g-3',
    ]);
    const error = disksError(problems);
    expect(error.message).toBe(problems[0]);
    expect(error.details).toBe(`error: ${problems[1]}`);
    expect(error.exitCode).toBe(2);
    expect(error.hint).toMatch(/oarsub -t deploy -l "\{type='default' or type='disk'\}\/host=N"/);
  });

  it('planNodeDisks: nothing to do without declared disks; without an OAR job: one error naming the roles', async () => {
    const targets = [{ machine: 'g-1', host: 'store1', role: 'store' }];
    expect((await planNodeDisks({ store: {} }, targets, { env: {}, flavour: 'g5k-ramdisk' })).size).toBe(0);
    await expect(
      planNodeDisks({ store: { disks: [data] } }, targets, { env: {}, flavour: 'g5k-ramdisk' }),
    ).rejects.toMatchObject({
      code: 'NXC_MACHINES',
      message: expect.stringContaining(
        'role store declares nxc.disks, but flavour g5k-ramdisk does not know',
      ),
    });
  });

  it('names the disks on the kernel command line relative to /dev/disk; refuses a path that is not a by-* name', () => {
    const { assigned } = assignDisks([{ machine: 'g-1', host: 's', disks: [data, logs] }], reserved);
    expect(disksKernelParam(assigned.get('s') ?? [])).toBe(
      'nxc_disks=data=by-path/pci-0000:02:00.0-scsi-0:0:2:0,logs=by-path/pci-0000:02:00.0-scsi-0:0:10:0',
    );
    expect(disksKernelParam([])).toBeUndefined();
    expect(() => disksKernelParam([{ ...data, disk: 'disk1.x', diskpath: '/dev/sdb' }])).toThrow(
      /not a \/dev\/disk\/by-\*\/ name/,
    );
  });
});

describe('the check on the machine', () => {
  const disks = [
    { ...data, disk: 'disk1.g-1', diskpath: '/dev/disk/by-path/a' },
    { ...logs, disk: 'disk2.g-1', diskpath: '/dev/disk/by-path/b' },
  ];

  it('accepts whole, unmounted disks at least as big as declared', () => {
    const out = `/dev/disk/by-path/a /dev/sdb ${5 * 1024 ** 3}\n/dev/disk/by-path/b /dev/sdc ${512 * 1024 ** 2}\n`;
    expect(diskProbeProblems('s', 'g-1', disks, out)).toEqual([]);
  });

  it('refuses a missing path, a partition, a disk too small, a disk in use (the system disk)', () => {
    const out = '/dev/disk/by-path/a MISSING\n/dev/disk/by-path/b PARTITION /dev/sda3\n';
    expect(diskProbeProblems('s', 'g-1', disks, out)).toEqual([
      'node s (g-1), disk data: disk1.g-1 (/dev/disk/by-path/a) is not a block device on g-1',
      'node s (g-1), disk logs: disk2.g-1 (/dev/disk/by-path/b) is a partition (/dev/sda3), not a whole disk',
    ]);
    const out2 = `/dev/disk/by-path/a /dev/sda ${500 * 1024 ** 3} / /tmp\n/dev/disk/by-path/b /dev/sdc 1000\n`;
    expect(diskProbeProblems('s', 'g-1', disks, out2)).toEqual([
      'node s (g-1), disk data: disk1.g-1 (/dev/disk/by-path/a) = /dev/sda is in use on g-1 (mounted on /, /tmp): nxc never touches it',
      'node s (g-1), disk logs: disk2.g-1 (/dev/disk/by-path/b) = /dev/sdc has 1000 bytes, less than the declared 512M (536870912 bytes)',
    ]);
  });

  it('the probe command is valid POSIX sh and reports a path that does not exist as MISSING', () => {
    const out = execFileSync('sh', ['-c', diskProbeCommand(["/nonexistent/it's"])], { encoding: 'utf8' });
    expect(out).toBe("/nonexistent/it's MISSING\n");
  });
});
