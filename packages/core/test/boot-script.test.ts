/**
 * nix/boot/nxc-boot.sh on its own, under busybox sh AND dash: recorded kernel command
 * lines and deployment files, in a scratch root (NXC_ROOT), with the node's addresses and
 * hostname given by the environment. Success for each deploy= form and both lookups;
 * one `NXC_BOOT_ERROR` line and exit 1 for each kind of malformed input.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeploymentDocument, deploymentBody, encodeDeploymentForKernel } from '../src/deployment.js';
import type { DeploymentDocument } from '../src/deployment.js';
import { REPO } from './demo-project.js';

const SCRIPT = join(REPO, 'nix/boot/nxc-boot.sh');
const SHELLS: Array<[string, string[]]> = [
  ['busybox sh', ['busybox', 'sh']],
  ['dash', ['dash']],
];

let scratch: string;
let server: Server;
let baseUrl: string;
const served = new Map<string, string>();

/** A role init that records how it was started. */
function fakeInit(name: string): string {
  const file = join(scratch, `init-${name}`);
  writeFileSync(
    file,
    `#!/bin/sh\necho "INIT ${name} role=$NXC_ROLE host=$NXC_HOST done=$NXC_BOOT_DONE args=$*"\n`,
  );
  chmodSync(file, 0o755);
  return file;
}

function doc(over: Partial<DeploymentDocument> = {}, withInit = false): DeploymentDocument {
  const d: DeploymentDocument = {
    deployment: {
      '10.0.0.1': { role: 'server', host: 'server' },
      '10.0.0.2': { role: 'client', host: 'client1' },
      '10.0.0.3': { role: 'client', host: 'client2' },
    },
    'ssh_key.pub': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOm nxc@test',
    composition: 'composition',
    flavour: 'vm-ramdisk',
    user: 'alice',
    ...over,
  };
  if (withInit) for (const e of Object.values(d.deployment)) e.init = fakeInit(`entry-${e.role}`);
  return d;
}

/** The compose info of a server + client composition, for documents built by nxc. */
const serverClientInfo = {
  source: 'ci.json',
  format: 'nxc',
  composition: 'composition',
  flavour: { name: 'vm-ramdisk' },
  roles: {
    server: { init: '/nix/store/x-server/init' },
    client: { init: '/nix/store/x-client/init' },
  },
  all: {},
  extra: {},
} satisfies Parameters<typeof buildDeploymentDocument>[0]['composeInfo'];

interface Run {
  code: number | null;
  stdout: string;
  root: string;
}

let runCount = 0;
async function run(
  shell: string[],
  opts: {
    cmdline?: string;
    file?: unknown;
    env?: Record<string, string>;
    args?: string[];
    root?: string;
  } = {},
): Promise<Run> {
  const root = opts.root ?? join(scratch, `root-${++runCount}`);
  mkdirSync(join(root, 'etc/nxc'), { recursive: true });
  const cmdline = join(root, 'cmdline');
  writeFileSync(cmdline, `BOOT_IMAGE=/kernel console=ttyS0 ${opts.cmdline ?? ''} quiet\n`);
  if (opts.file !== undefined)
    writeFileSync(
      join(root, 'etc/nxc/deployment.json'),
      typeof opts.file === 'string' ? opts.file : JSON.stringify(opts.file),
    );
  const roles = join(scratch, 'roles.json');
  const child = spawn(shell[0] as string, [...shell.slice(1), SCRIPT, ...(opts.args ?? [])], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NXC_ROOT: root,
      NXC_CMDLINE: cmdline,
      NXC_ADDRESSES: '127.0.0.1 10.0.0.2',
      NXC_HOSTNAME: 'nohost',
      NXC_ROLES: roles,
      NXC_FETCH_RETRIES: '2',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 20_000,
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const code = await new Promise<number | null>((ok) => child.on('close', (c) => ok(c)));
  return { code, stdout: out, root };
}

/**
 * Runs the script as PID 1 of a new PID namespace (as the all-in-one images' `init=` runs),
 * feeding `stdin` (the console); resolves once `until` shows and the script has then stayed
 * alive `aliveMs` more, or once it exits. The namespace is killed afterwards.
 */
async function runAsPid1(
  shell: string[],
  opts: { env: Record<string, string>; args?: string[]; stdin?: string; until: RegExp; aliveMs: number },
): Promise<{ stdout: string; exitCode: number | null; alive: boolean }> {
  // absolute paths: the script's PATH (opts.env) may hold neither
  const which = (cmd: string) =>
    execFileSync('sh', ['-c', `command -v ${cmd}`])
      .toString()
      .trim();
  const argv = [which(shell[0] as string), ...shell.slice(1), SCRIPT, ...(opts.args ?? [])];
  const child = spawn(which('unshare'), ['--pid', '--fork', '--kill-child', ...argv], {
    env: opts.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.on('error', () => undefined);
  let out = '';
  let exited: number | null | undefined;
  const closed = new Promise<void>((ok) =>
    child.on('close', (c) => {
      exited = c;
      ok();
    }),
  );
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    out += c.toString();
  });
  // a script that fails early may exit without reading its stdin: the EPIPE is not the test's failure
  child.stdin.on('error', () => {});
  child.stdin.end(opts.stdin ?? '');
  const deadline = Date.now() + 20_000;
  while (exited === undefined && !opts.until.test(out) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  if (exited === undefined) await Promise.race([closed, new Promise((r) => setTimeout(r, opts.aliveMs))]);
  const alive = exited === undefined;
  child.kill('SIGKILL');
  await closed;
  return { stdout: out, exitCode: alive ? null : (exited ?? null), alive };
}

function expectBootError(r: Run, pattern: RegExp): void {
  expect(r.code).toBe(1);
  const errors = r.stdout.split('\n').filter((l) => l.startsWith('NXC_BOOT_ERROR '));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(pattern);
  expect(r.stdout).not.toContain('INIT ');
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'nxc-boot-'));
  writeFileSync(
    join(scratch, 'roles.json'),
    JSON.stringify({ server: fakeInit('map-server'), client: fakeInit('map-client') }),
  );
  server = createServer((req, res) => {
    const body = served.get(req.url ?? '');
    if (body === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
  rmSync(scratch, { recursive: true, force: true });
});

for (const [shellName, shell] of SHELLS) {
  describe(`nxc-boot.sh under ${shellName}`, () => {
    it('deploy=gz: (ours): finds itself by IP, sets the node up, execs the role map init', async () => {
      const { value, fits } = encodeDeploymentForKernel(doc());
      expect(fits).toBe(true);
      const r = await run(shell, { cmdline: `deploy=${value}` });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('INIT map-client role=client host=client1 done=1');
      expect(readFileSync(join(r.root, 'etc/hostname'), 'utf8')).toBe('client1\n');
      const hosts = readFileSync(join(r.root, 'etc/hosts'), 'utf8');
      expect(hosts).toContain('127.0.0.1 localhost');
      expect(hosts).toContain('10.0.0.1 server\n');
      expect(hosts).toContain('10.0.0.3 client2\n');
      expect(readFileSync(join(r.root, 'root/.ssh/authorized_keys'), 'utf8')).toBe(
        `${doc()['ssh_key.pub']}\n`,
      );
      // a document without identity fields (as the original nxc writes): indexes by position
      expect(JSON.parse(readFileSync(join(r.root, 'etc/nxc/node.json'), 'utf8'))).toEqual({
        role: 'client',
        host: 'client1',
        address: '10.0.0.2',
        index: 1,
        globalIndex: 1,
        uuid: null,
        composition: 'composition',
        flavour: 'vm-ramdisk',
        parameters: {},
      });
      // the decoded document is left for tools on the node
      expect(JSON.parse(readFileSync(join(r.root, 'etc/nxc/deployment.json'), 'utf8')).user).toBe('alice');
    });

    it('names virtio disks by serial: /dev/disk/by-id/virtio-<id>, an existing link kept', async () => {
      const root = join(scratch, `root-${++runCount}`);
      mkdirSync(join(root, 'dev/disk/by-id'), { recursive: true });
      for (const [dev, serial, own] of [
        ['vda', 'data', true],
        ['vdb', 'disk1', true],
        ['vdc', '', true],
        // a container sees the host's /sys/block but has no such device of its own
        ['vdd', 'hostdisk', false],
      ] as const) {
        mkdirSync(join(root, 'sys/block', dev), { recursive: true });
        writeFileSync(join(root, 'sys/block', dev, 'serial'), serial);
        if (own) writeFileSync(join(root, 'dev', dev), '');
      }
      symlinkSync('../../udev-made', join(root, 'dev/disk/by-id/virtio-disk1'));
      const { value } = encodeDeploymentForKernel(doc());
      const r = await run(shell, { cmdline: `deploy=${value}`, root });
      expect(r.code, r.stdout).toBe(0);
      expect(readlinkSync(join(root, 'dev/disk/by-id/virtio-data'))).toBe('../../vda');
      expect(readlinkSync(join(root, 'dev/disk/by-id/virtio-disk1'))).toBe('../../udev-made');
      expect(readdirSync(join(root, 'dev/disk/by-id')).sort()).toEqual(['virtio-data', 'virtio-disk1']);
    });

    it('docker: names /dev/disk/by-nxc/<id> after the device node the engine made at /dev/disk/by-id/virtio-<id>', async () => {
      const root = join(scratch, `root-${++runCount}`);
      mkdirSync(join(root, 'dev/disk/by-id'), { recursive: true });
      // as the engine makes it (a block device node, no udev); needs root, as the docker flavour does
      execFileSync('mknod', [join(root, 'dev/disk/by-id/virtio-data'), 'b', '7', '250']);
      writeFileSync(join(root, 'dev/disk/by-id/virtio-notadevice'), '');
      const { value } = encodeDeploymentForKernel(doc());
      const r = await run(shell, { cmdline: `deploy=${value}`, root });
      expect(r.code, r.stdout).toBe(0);
      expect(readdirSync(join(root, 'dev/disk/by-nxc'))).toEqual(['data']);
      expect(readlinkSync(join(root, 'dev/disk/by-nxc/data'))).toBe('../by-id/virtio-data');
    });

    it("names every disk /dev/disk/by-nxc/<id>: virtio by serial, Grid'5000 by nxc_disks= (by-path link, else the ATA port in sysfs)", async () => {
      const root = join(scratch, `root-${++runCount}`);
      mkdirSync(join(root, 'sys/block/vda'), { recursive: true });
      writeFileSync(join(root, 'sys/block/vda/serial'), 'cache');
      // the node's own device (a container sees the host's /sys/block: only devices in /dev count)
      mkdirSync(join(root, 'dev'), { recursive: true });
      writeFileSync(join(root, 'dev/vda'), '');
      // sdb on port 3 of the SATA controller 0000:00:1f.0, sdc on port 2; no udev: no by-path
      for (const [dev, port] of [
        ['sdb', 3],
        ['sdc', 2],
      ] as const) {
        const dir = join(
          root,
          `sys/devices/pci0000:00/0000:00:1f.0/ata${port}/host${port}/target${port}:0:0/${port}:0:0:0`,
        );
        mkdirSync(dir, { recursive: true });
        mkdirSync(join(root, 'sys/block', dev), { recursive: true });
        symlinkSync(dir, join(root, 'sys/block', dev, 'device'));
      }
      // udev already named this one
      mkdirSync(join(root, 'dev/disk/by-path'), { recursive: true });
      symlinkSync('../../sdz', join(root, 'dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:1:0'));
      const { value } = encodeDeploymentForKernel(doc());
      const r = await run(shell, {
        cmdline: `deploy=${value} nxc_disks=data=by-path/pci-0000:00:1f.0-ata-3,logs=by-path/pci-0000:00:1f.0-ata-2.0,big=by-path/pci-0000:03:00.0-scsi-0:0:1:0,bad=../../etc/passwd,x=by-path/none`,
        root,
      });
      expect(r.code, r.stdout).toBe(0);
      const link = (id: string) => readlinkSync(join(root, 'dev/disk/by-nxc', id));
      expect(link('cache')).toBe('../../vda');
      expect(link('data')).toBe('../../sdb');
      expect(link('logs')).toBe('../../sdc');
      expect(link('big')).toBe('../by-path/pci-0000:03:00.0-scsi-0:0:1:0');
      // a name nothing made yet: left for udev to make
      expect(link('x')).toBe('../by-path/none');
      expect(readdirSync(join(root, 'dev/disk/by-nxc')).sort()).toEqual([
        'big',
        'cache',
        'data',
        'logs',
        'x',
      ]);
    });

    it("g5k-image: with no nxc_disks= (one command line for every node), the node's own entry's disk paths name /dev/disk/by-nxc/<id>; nxc_disks= wins", async () => {
      const info = {
        ...serverClientInfo,
        roles: {
          server: { init: '/nix/store/x-server/init' },
          client: {
            init: '/nix/store/x-client/init',
            disks: [
              { id: 'data', size: '1G', bytes: 1024 ** 3 },
              { id: 'disk1', size: '512M', bytes: 512 * 1024 ** 2 },
            ],
          },
        },
      };
      const built = buildDeploymentDocument({
        composeInfo: info,
        nodes: [
          { address: '10.0.0.1', role: 'server', host: 'server' },
          // this node (10.0.0.2): ports 2 and 3; the other client: port 1 (never this node's)
          {
            address: '10.0.0.2',
            role: 'client',
            host: 'client1',
            diskDevices: { data: '/dev/disk/by-nxc/data', disk1: '/dev/disk/by-nxc/disk1' },
            diskPaths: {
              data: '/dev/disk/by-path/pci-0000:00:1f.0-ata-3',
              disk1: '/dev/disk/by-path/pci-0000:00:1f.0-ata-2',
            },
          },
          {
            address: '10.0.0.3',
            role: 'client',
            host: 'client2',
            diskDevices: { data: '/dev/disk/by-nxc/data', disk1: '/dev/disk/by-nxc/disk1' },
            diskPaths: {
              data: '/dev/disk/by-path/pci-0000:00:1f.0-ata-1',
              disk1: '/dev/disk/by-path/pci-0000:00:1f.0-ata-4',
            },
          },
        ],
        sshPublicKey: doc()['ssh_key.pub'],
      });
      expect(built.deployment['10.0.0.2']?.disks?.[0]).toEqual({
        id: 'data',
        size: '1G',
        bytes: 1024 ** 3,
        device: '/dev/disk/by-nxc/data',
        path: '/dev/disk/by-path/pci-0000:00:1f.0-ata-3',
      });
      const root = join(scratch, `root-${++runCount}`);
      mkdirSync(join(root, 'dev/disk/by-path'), { recursive: true });
      for (const port of [1, 2, 3, 4])
        symlinkSync(
          `../../sd${'abcd'[port - 1]}`,
          join(root, `dev/disk/by-path/pci-0000:00:1f.0-ata-${port}`),
        );
      // the compact form on the kernel command line keeps the disks of such nodes
      const { value } = encodeDeploymentForKernel(built);
      const r = await run(shell, { cmdline: `deploy=${value}`, root });
      expect(r.code, r.stdout).toBe(0);
      const link = (id: string) => readlinkSync(join(root, 'dev/disk/by-nxc', id));
      expect(readdirSync(join(root, 'dev/disk/by-nxc')).sort()).toEqual(['data', 'disk1']);
      expect(link('data')).toBe('../by-path/pci-0000:00:1f.0-ata-3');
      expect(link('disk1')).toBe('../by-path/pci-0000:00:1f.0-ata-2');
      // a kexec flavour's per-node nxc_disks= on the command line is what counts then
      const root2 = join(scratch, `root-${++runCount}`);
      const r2 = await run(shell, {
        cmdline: `deploy=${value} nxc_disks=data=by-path/pci-0000:00:1f.0-ata-4`,
        root: root2,
      });
      expect(r2.code, r2.stdout).toBe(0);
      expect(readdirSync(join(root2, 'dev/disk/by-nxc'))).toEqual(['data']);
      expect(readlinkSync(join(root2, 'dev/disk/by-nxc/data'))).toBe('../by-path/pci-0000:00:1f.0-ata-4');
    });

    it('node.json carries the identity and resolved parameters of a document nxc built', async () => {
      const built = buildDeploymentDocument({
        composeInfo: serverClientInfo,
        nodes: [
          { address: '10.0.0.1', role: 'server', host: 'server' },
          { address: '10.0.0.4', role: 'client', host: 'client1' },
          { address: '10.0.0.2', role: 'client', host: 'client2' },
          { address: '10.0.0.3', role: 'client', host: 'client3' },
        ],
        sshPublicKey: doc()['ssh_key.pub'],
        parameters: { rate: 5, mode: 'x', 'client.rate': 10, 'client2.mode': 'y', 'client3.rate': 30 },
      });
      // inline on the kernel command line: the compact form keeps the identity
      const { value } = encodeDeploymentForKernel(built);
      const r = await run(shell, { cmdline: `deploy=${value}` });
      expect(r.code, r.stdout).toBe(0);
      expect(JSON.parse(readFileSync(join(r.root, 'etc/nxc/node.json'), 'utf8'))).toEqual({
        role: 'client',
        host: 'client2',
        address: '10.0.0.2',
        index: 2,
        globalIndex: 2,
        uuid: built.deployment['10.0.0.2']!.uuid,
        composition: 'composition',
        flavour: 'vm-ramdisk',
        parameters: { rate: 10, mode: 'y' },
      });
      // the document as a file (docker): the same identity
      const fromFile = await run(shell, { file: built, args: ['--setup-only'] });
      expect(fromFile.code, fromFile.stdout).toBe(0);
      expect(readFileSync(join(fromFile.root, 'etc/nxc/node.json'), 'utf8')).toBe(
        readFileSync(join(r.root, 'etc/nxc/node.json'), 'utf8'),
      );
    });

    it('reads the document with one jq process, whatever the number of nodes (O(1) per node)', async () => {
      // a jq on the PATH that counts its runs, then runs the real one
      const bin = join(scratch, `jq-counter-${shellName.replace(/ /g, '-')}`);
      mkdirSync(bin, { recursive: true });
      const count = join(bin, 'count');
      const realJq = execFileSync('sh', ['-c', 'command -v jq']).toString().trim();
      writeFileSync(join(bin, 'jq'), `#!/bin/sh\necho x >> ${count}\nexec ${realJq} "$@"\n`);
      chmodSync(join(bin, 'jq'), 0o755);
      for (const n of [3, 100]) {
        const nodes = Array.from({ length: n }, (_, i) => ({
          address: `10.0.${Math.floor(i / 200)}.${(i % 200) + 1}`,
          role: i === 0 ? 'server' : 'client',
          host: i === 0 ? 'server' : `client${i}`,
        }));
        const big = buildDeploymentDocument({
          composeInfo: serverClientInfo,
          nodes,
          sshPublicKey: doc()['ssh_key.pub'],
        });
        rmSync(count, { force: true });
        const r = await run(shell, {
          file: big,
          args: ['--setup-only'],
          env: { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` },
        });
        expect(r.code, r.stdout).toBe(0);
        expect(r.stdout).toContain('nxc-boot: client1 is a client (10.0.0.2)');
        // `command -v jq` runs none; the document is read once
        expect(readFileSync(count, 'utf8').trim().split('\n'), `${n} nodes`).toHaveLength(1);
        expect(readFileSync(join(r.root, 'etc/hosts'), 'utf8').split('\n').filter(Boolean)).toHaveLength(
          n + 2,
        );
      }
    });

    it("deploy=<base64 JSON> (the original nxc's): the entry's init wins over the role map", async () => {
      const d = doc({}, true);
      const r = await run(shell, { cmdline: `deploy=${Buffer.from(JSON.stringify(d)).toString('base64')}` });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('INIT entry-client role=client host=client1 done=1');
    });

    it('deploy=http://: downloads the document', async () => {
      served.set('/dep.json', JSON.stringify(doc()));
      const r = await run(shell, { cmdline: `deploy=${baseUrl}/dep.json` });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('INIT map-client role=client host=client1');
    });

    it('deploy=http:// with deploy_sha256=: the digest of the bytes served matches, the node boots', async () => {
      const { body, sha256 } = deploymentBody(doc());
      served.set('/signed.json', body.toString('utf8'));
      const r = await run(shell, { cmdline: `deploy=${baseUrl}/signed.json deploy_sha256=${sha256}` });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('INIT map-client role=client host=client1');
    });

    it('deploy=http:// with deploy_sha256=: a tampered document is refused before it is used', async () => {
      // what an ARP-spoofing neighbour serves: the same document with its own key
      const { sha256 } = deploymentBody(doc());
      const forged = deploymentBody(
        doc({ 'ssh_key.pub': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEvil evil@lan' }),
      );
      served.set('/forged.json', forged.body.toString('utf8'));
      const r = await run(shell, { cmdline: `deploy=${baseUrl}/forged.json deploy_sha256=${sha256}` });
      expectBootError(
        r,
        new RegExp(
          `deploy=http://\\S+/forged\\.json: digest mismatch: sha256 ${forged.sha256}, deploy_sha256=${sha256}`,
        ),
      );
      expect(existsSync(join(r.root, 'root/.ssh/authorized_keys'))).toBe(false);
      expect(existsSync(join(r.root, 'etc/nxc/deployment.json'))).toBe(false);
      expect(existsSync(join(r.root, 'run/nxc/deployment.json'))).toBe(false);
    });

    it('deploy_sha256= that is not 64 hex digits', async () => {
      served.set('/dep.json', JSON.stringify(doc()));
      expectBootError(
        await run(shell, { cmdline: `deploy=${baseUrl}/dep.json deploy_sha256=abc` }),
        /deploy_sha256=abc: not a SHA-256 digest \(64 hexadecimal digits\)/,
      );
    });

    it('/etc/nxc/deployment.json (docker): finds itself by hostname; --setup-only returns', async () => {
      const d: DeploymentDocument = {
        ...doc(),
        deployment: {
          server: { role: 'server', host: 'server', init: fakeInit('docker-server') },
          client: { role: 'client', host: 'client', init: fakeInit('docker-client') },
        },
      };
      const r = await run(shell, {
        file: d,
        env: { NXC_ADDRESSES: '172.18.0.5', NXC_HOSTNAME: 'server' },
        args: ['--setup-only'],
      });
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain('INIT');
      expect(readFileSync(join(r.root, 'etc/hostname'), 'utf8')).toBe('server\n');
      // no IP-keyed entries: /etc/hosts is left to docker's DNS
      expect(existsSync(join(r.root, 'etc/hosts'))).toBe(false);
      expect(JSON.parse(readFileSync(join(r.root, 'etc/nxc/node.json'), 'utf8'))).toMatchObject({
        role: 'server',
        address: 'server',
      });
      // booting twice does not duplicate the key
      const again = await run(shell, {
        file: d,
        env: { NXC_ADDRESSES: '', NXC_HOSTNAME: 'server' },
        args: ['--setup-only'],
        root: r.root,
      });
      expect(again.code).toBe(0);
      expect(
        readFileSync(join(r.root, 'root/.ssh/authorized_keys'), 'utf8').split('\n').filter(Boolean),
      ).toHaveLength(1);
    });

    it('a host entry of the deployment matched by hostname (no address matches)', async () => {
      const r = await run(shell, {
        cmdline: `deploy=${encodeDeploymentForKernel(doc()).value}`,
        env: { NXC_ADDRESSES: '192.168.1.7', NXC_HOSTNAME: 'client2' },
      });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('INIT map-client role=client host=client2');
    });

    it('bad base64', async () => {
      expectBootError(await run(shell, { cmdline: 'deploy=@@@!!' }), /deploy=…: not valid base64/);
      expectBootError(await run(shell, { cmdline: 'deploy=gz:@@@!!' }), /deploy=gz:…: not valid base64/);
    });

    it('bad gzip', async () => {
      expectBootError(
        await run(shell, { cmdline: `deploy=gz:${Buffer.from('not gzip at all').toString('base64')}` }),
        /not valid gzip data/,
      );
    });

    it('not a deployment document', async () => {
      expectBootError(
        await run(shell, { cmdline: `deploy=${Buffer.from('{"nodes": 1}').toString('base64')}` }),
        /not a JSON deployment document/,
      );
      expectBootError(
        await run(shell, { file: '{ broken' }),
        /\/etc\/nxc\/deployment\.json: not a JSON deployment document/,
      );
      const truncated = gzipSync(JSON.stringify(doc())).subarray(0, 30).toString('base64');
      expectBootError(
        await run(shell, { cmdline: `deploy=gz:${truncated}` }),
        /not valid gzip data|not a JSON deployment document/,
      );
    });

    it('no entry for this node', async () => {
      expectBootError(
        await run(shell, {
          cmdline: `deploy=${encodeDeploymentForKernel(doc()).value}`,
          env: { NXC_ADDRESSES: '10.9.9.9', NXC_HOSTNAME: 'stranger' },
        }),
        /no entry for this node .*addresses \[10\.9\.9\.9\], hostname 'stranger'/,
      );
    });

    it('missing deployment file', async () => {
      expectBootError(
        await run(shell, {}),
        /no deploy= on the kernel command line and no \/etc\/nxc\/deployment\.json/,
      );
    });

    it('deployment URL that does not answer', async () => {
      expectBootError(
        await run(shell, { cmdline: `deploy=${baseUrl}/missing.json`, env: { NXC_FETCH_RETRIES: '1' } }),
        /cannot download the deployment/,
      );
    });

    it('as PID 1 (init=): a failure prints NXC_BOOT_ERROR, then a shell on the console, and never exits', async () => {
      const r = await runAsPid1(shell, {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          NXC_ROOT: join(scratch, `pid1-${++runCount}`),
          NXC_CMDLINE: '/dev/null',
        },
        stdin: 'echo RESCUE-$((6 * 7))\nexit\n',
        until: /RESCUE-42[\s\S]*NXC_BOOT_ERROR[\s\S]*NXC_BOOT_ERROR/,
        aliveMs: 1500,
      });
      expect(r.alive, r.stdout).toBe(true);
      const errors = r.stdout.split('\n').filter((l) => l.startsWith('NXC_BOOT_ERROR '));
      expect(errors[0]).toMatch(/no deploy= on the kernel command line and no \/etc\/nxc\/deployment\.json/);
      // the reason stays on the console: printed first, and again after the shell exits
      expect(errors.length).toBeGreaterThanOrEqual(2);
      expect(r.stdout.indexOf('NXC_BOOT_ERROR')).toBeLessThan(r.stdout.indexOf('RESCUE-42'));
    });

    it('as PID 1 without a shell: prints the reason and halts (sleeps) instead of exiting', async () => {
      const bin = join(scratch, `nosh-${++runCount}`);
      mkdirSync(bin);
      symlinkSync(execFileSync('sh', ['-c', 'command -v sleep']).toString().trim(), join(bin, 'sleep'));
      const r = await runAsPid1(shell, {
        env: { PATH: bin, NXC_ROOT: join(scratch, `pid1-${runCount}`), NXC_CMDLINE: '/dev/null' },
        until: /has no shell: halted/,
        aliveMs: 1500,
      });
      expect(r.alive, r.stdout).toBe(true);
      expect(r.stdout).toMatch(/^NXC_BOOT_ERROR jq is not on the PATH/m);
    });

    it('as PID 1 with --setup-only (stage 2): still exits 1 after one NXC_BOOT_ERROR line', async () => {
      const r = await runAsPid1(shell, {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          NXC_ROOT: join(scratch, `pid1-${++runCount}`),
          NXC_CMDLINE: '/dev/null',
        },
        args: ['--setup-only'],
        until: /NXC_BOOT_ERROR/,
        aliveMs: 3000,
      });
      expect(r.alive).toBe(false);
      expect(r.exitCode).toBe(1);
      expect(r.stdout.split('\n').filter((l) => l.startsWith('NXC_BOOT_ERROR '))).toHaveLength(1);
    });

    it('a role the image does not hold, and the wrong role init', async () => {
      const d = doc({ deployment: { '10.0.0.2': { role: 'database', host: 'db' } } });
      expectBootError(
        await run(shell, { cmdline: `deploy=${encodeDeploymentForKernel(d).value}` }),
        /role database is not in this image \(roles: client, server\)/,
      );
      expectBootError(
        await run(shell, {
          cmdline: `deploy=${encodeDeploymentForKernel(doc()).value}`,
          env: { NXC_EXPECT_ROLE: 'server' },
          args: ['--setup-only'],
        }),
        /is a client in the deployment but runs the init of role server/,
      );
    });
  });
}
