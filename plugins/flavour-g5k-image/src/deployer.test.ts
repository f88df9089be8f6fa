import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeProject } from '@nxc/core';
import { type StartContext, buildDeploymentDocument, isNxcError } from '@nxc/core/flavour';
import type { KexecState } from '@nxc/g5k';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { g5kImageDeployer } from './deployer.js';
import { type G5kImageOptions, g5kImageOptionsSchema } from './options.js';

type Start = StartContext<G5kImageOptions, KexecState>;

let dir: string;
let image: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nxc-g5k-image-unit-'));
  image = join(dir, 'nixos-image.tar.xz');
  await writeFile(image, 'not really an image');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function context(options: Record<string, unknown>, events: unknown[] = []): Start {
  const project = makeProject(join(dir, 'proj'), {
    plugins: [],
    composition: 'composition.nix',
    nix: { flags: [], overrideInputs: {} },
    flavourOptions: {},
  });
  const composeInfo = {
    source: join(dir, 'compose-info.json'),
    composition: 'composition',
    flavour: { name: 'g5k-image', image: 'tarball' },
    system: 'x86_64-linux',
    roles: { server: { init: '/nix/store/x-server/init' }, client: { init: '/nix/store/x-client/init' } },
    all: { image, cmdline: 'init=/nix/store/x-nxc-init' },
  } as unknown as StartContext['composeInfo'];
  return {
    project,
    composition: 'composition',
    flavour: 'g5k-image',
    reporter: { emit: (e: unknown) => events.push(e) },
    signal: new AbortController().signal,
    composeInfo,
    nodes: [
      { role: 'server', host: 'server' },
      { role: 'client', host: 'client' },
    ],
    machines: ['192.0.2.1', '192.0.2.2'],
    identity: { privateKeyPath: join(dir, 'id'), publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB nxc' },
    wait: true,
    timeoutMs: 5000,
    options: g5kImageOptionsSchema.parse({ skipOarCheck: true, ...options }),
    async writeDeployment(nodes) {
      return buildDeploymentDocument({
        composeInfo,
        nodes,
        sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB nxc',
      });
    },
    async saveState() {},
  } as Start;
}

async function failure(p: Promise<unknown>): Promise<Error & { code?: string; hint?: string }> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(isNxcError(e)).toBe(true);
  expect((e as Error).message).not.toContain('\n');
  return e as Error & { code?: string };
}

describe('g5k-image start (no nodes reached)', () => {
  it('kadeploy3 missing: says to run on a frontend; the environment description was written with the image as local://', async () => {
    const e = await failure(g5kImageDeployer().start(context({ kadeploy: join(dir, 'no-such-kadeploy3') })));
    expect(e.code).toBe('NXC_FLAVOUR_UNUSABLE');
    expect(e.message).toBe(
      `${join(dir, 'no-such-kadeploy3')} is not installed here: g5k-image deploys from a Grid'5000 frontend`,
    );
    const env = await readFile(join(dir, 'proj/artifact/composition/g5k-image/composition.env.yaml'), 'utf8');
    expect(env).toContain(`file: local://${image}\n`);
    expect(await readFile(join(dir, 'proj/artifact/composition/g5k-image/machines'), 'utf8')).toBe(
      '192.0.2.1\n192.0.2.2\n',
    );
  });

  it('every node KO in kadeploy3 output: one error naming each node and reason', async () => {
    const fake = join(dir, 'kadeploy3-all-ko');
    await writeFile(
      fake,
      '#!/bin/sh\necho "The deployment failed on nodes"\necho "192.0.2.1 (SetDeploymentEnvUntrusted-reboot: no power)"\necho "192.0.2.2 (SetDeploymentEnvUntrusted-reboot: no power)"\nexit 1\n',
    );
    execFileSync('chmod', ['+x', fake]);
    const events: Array<{ type: string; message?: string }> = [];
    const e = await failure(g5kImageDeployer().start(context({ kadeploy: fake }, events)));
    expect(e.code).toBe('NXC_NODE_FAILED');
    expect(e.message).toBe(
      'no node came up: server (192.0.2.1, 192.0.2.1): kadeploy: SetDeploymentEnvUntrusted-reboot: no power; client (192.0.2.2, 192.0.2.2): kadeploy: SetDeploymentEnvUntrusted-reboot: no power',
    );
    expect(
      events.some((ev) => ev.type === 'step' && ev.message === 'kadeploy3: The deployment failed on nodes'),
    ).toBe(true);
  });

  it('--retry-failed with no previous start: NXC_USAGE, nothing written', async () => {
    await rm(join(dir, 'proj'), { recursive: true, force: true });
    const e = await failure(g5kImageDeployer().retryFailed!(context({})));
    expect(e.code).toBe('NXC_USAGE');
    expect(e.message).toMatch(/^--retry-failed: no previous g5k-image start of composition recorded in /);
    expect(existsSync(join(dir, 'proj/artifact/composition/g5k-image/composition.env.yaml'))).toBe(false);
  });

  it('nxc.disks: a machine with fewer reserved disks than its node declares is refused from OAR before anything is written; no job known: says how to reserve', async () => {
    await rm(join(dir, 'proj'), { recursive: true, force: true });
    const withDisks = (ctx: Start): Start => {
      (ctx.composeInfo.roles as Record<string, { disks?: unknown }>).client!.disks = [
        { id: 'data', size: '1G', bytes: 1024 ** 3 },
        { id: 'disk1', size: '512M', bytes: 512 * 1024 ** 2 },
      ];
      return ctx;
    };
    // OAR's resource properties as a job sees them: 192.0.2.2 (the client's) has one disk
    const props = join(dir, 'resources');
    await writeFile(
      props,
      [
        " network_address = '192.0.2.1' , host = '192.0.2.1' , type = 'default'",
        " network_address = '' , host = '192.0.2.2' , type = 'disk' , disk = 'disk1.192.0.2.2' , diskpath = '/dev/disk/by-path/pci-0000:00:1f.0-ata-2'",
        " network_address = '192.0.2.2' , host = '192.0.2.2' , type = 'default'",
      ].join('\n'),
    );
    const saved = { file: process.env.OAR_RESOURCE_PROPERTIES_FILE, job: process.env.OAR_JOB_ID };
    try {
      process.env.OAR_RESOURCE_PROPERTIES_FILE = props;
      const e = await failure(
        g5kImageDeployer().start(withDisks(context({ kadeploy: join(dir, 'no-such-kadeploy3') }))),
      );
      expect(e.code).toBe('NXC_MACHINES');
      expect(e.message).toBe(
        'node client (192.0.2.2) needs 2 disks (data 1G, disk1 512M), the OAR job reserved 1 on 192.0.2.2 (disk1.192.0.2.2)',
      );
      expect(e.hint).toMatch(/^reserve the machines with their disks/);
      expect(existsSync(join(dir, 'proj/artifact/composition/g5k-image'))).toBe(false);
      Reflect.deleteProperty(process.env, 'OAR_RESOURCE_PROPERTIES_FILE');
      Reflect.deleteProperty(process.env, 'OAR_JOB_ID');
      const none = await failure(g5kImageDeployer().start(withDisks(context({}))));
      expect(none.message).toBe(
        'role client declares nxc.disks, but flavour g5k-image does not know which disks the OAR job reserved (neither $OAR_RESOURCE_PROPERTIES_FILE nor $OAR_JOB_ID is set)',
      );
    } finally {
      for (const [k, v] of [
        ['OAR_RESOURCE_PROPERTIES_FILE', saved.file],
        ['OAR_JOB_ID', saved.job],
      ] as const)
        if (v === undefined) Reflect.deleteProperty(process.env, k);
        else process.env[k] = v;
    }
  });

  it('no image in the build', async () => {
    const ctx = context({});
    ctx.composeInfo.all.image = join(dir, 'missing.tar.xz');
    const e = await failure(g5kImageDeployer().start(ctx));
    expect(e.code).toBe('NXC_COMPOSE_INFO');
    expect(e.hint).toMatch(/nxc build -f g5k-image/);
  });
});
