import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readComposeInfo } from './compose-info.js';
import { NxcError } from './errors.js';

const S = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nxc-ci-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(name: string, content: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

async function failure(p: Promise<unknown>): Promise<NxcError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NxcError);
  return error as NxcError;
}

const ours = {
  nxc_compose_info: 1,
  composition: 'composition',
  flavour: { name: 'docker', image: 'docker', description: 'Docker' },
  system: 'x86_64-linux',
  roles: {
    server: { init: `${S}-server/init`, toplevel: `${S}-server` },
    agent: { init: `${S}-agent/init` },
  },
  roles_distribution: { agent: 2 },
  test_script: `${S}-test-script`,
  all: { docker_image: `${S}-rootfs.tar` },
  extra: { docker: { extraVolumes: [] } },
};

describe('readComposeInfo: our format', () => {
  it('normalizes every field', async () => {
    const file = await put('composition::docker', ours);
    const info = await readComposeInfo(file);
    expect(info).toEqual({
      source: file,
      format: 'nxc',
      composition: 'composition',
      flavour: { name: 'docker', image: 'docker', description: 'Docker' },
      system: 'x86_64-linux',
      roles: {
        server: { init: `${S}-server/init`, toplevel: `${S}-server` },
        agent: { init: `${S}-agent/init` },
      },
      rolesDistribution: { agent: 2 },
      testScript: `${S}-test-script`,
      all: { docker_image: `${S}-rootfs.tar` },
      extra: { docker: { extraVolumes: [] } },
    });
  });

  it('defaults the optional all/extra and ignores unknown top-level keys', async () => {
    const { all, extra, roles_distribution, test_script, ...minimal } = ours;
    const info = await readComposeInfo(await put('minimal.json', { ...minimal, future: true }));
    expect(info.all).toEqual({});
    expect(info.extra).toEqual({});
    expect(info.testScript).toBeUndefined();
    expect(info.rolesDistribution).toBeUndefined();
  });

  it.each([
    [
      'role init not a store path',
      { roles: { server: { init: '/bin/init' } } },
      'roles.server.init: expected a /nix/store path',
    ],
    ['role init missing', { roles: { server: {} } }, 'roles.server.init: missing (expected string)'],
    ['flavour not an object', { flavour: 'docker' }, 'flavour: expected object, got string'],
    ['flavour name missing', { flavour: {} }, 'flavour.name: missing (expected string)'],
    ['composition missing', { composition: undefined }, 'composition: missing (expected string)'],
    ['all not strings', { all: { kernel: 3 } }, 'all.kernel: expected string, got number'],
    ['test script not a store path', { test_script: 'x' }, 'test_script: expected a /nix/store path'],
  ])('%s -> one line naming file and field', async (_name, patch, expected) => {
    const file = await put('bad::docker', { ...ours, ...patch });
    const error = await failure(readComposeInfo(file));
    expect(error.code).toBe('NXC_COMPOSE_INFO');
    expect(error.message).toContain(`bad::docker: ${expected}`);
    expect(error.message).not.toContain('\n');
  });

  it("reads a role's disks (nxc.disks); a role without any has none", async () => {
    const disks = [
      { id: 'data', size: '4G', bytes: 4 * 1024 ** 3 },
      { id: 'disk1', size: '1M', bytes: 1024 ** 2 },
    ];
    const info = await readComposeInfo(
      await put('disks.json', { ...ours, roles: { ...ours.roles, server: { ...ours.roles.server, disks } } }),
    );
    expect(info.roles.server?.disks).toEqual(disks);
    expect(info.roles.agent).not.toHaveProperty('disks');
  });

  it.each([
    [
      'a disk id the guest cannot name',
      { id: 'a/b', size: '1G', bytes: 1 },
      'roles.server.disks[0].id: expected 1 to 20',
    ],
    ['a disk without bytes', { id: 'a', size: '1G' }, 'roles.server.disks[0].bytes: missing'],
  ])('refuses %s, naming the field', async (_name, disk, expected) => {
    const file = await put('bad-disk::vm', {
      ...ours,
      roles: { server: { init: `${S}-server/init`, disks: [disk] } },
    });
    const error = await failure(readComposeInfo(file));
    expect(error.message).toContain(expected);
    expect(error.message).not.toContain('\n');
  });

  it('refuses another format version', async () => {
    const error = await failure(readComposeInfo(await put('v2.json', { ...ours, nxc_compose_info: 2 })));
    expect(error.message).toMatch(/nxc_compose_info: version 2 is not supported/);
  });

  it('checks the requested composition', async () => {
    const file = await put('composition::docker', ours);
    expect((await readComposeInfo(file, { composition: 'composition' })).composition).toBe('composition');
    const error = await failure(readComposeInfo(file, { composition: 'other' }));
    expect(error.code).toBe('NXC_COMPOSITION_UNKNOWN');
    expect(error.message).toMatch(/holds composition "composition", not "other"/);
  });
});

describe('readComposeInfo: file errors', () => {
  it('missing file -> build first', async () => {
    const error = await failure(readComposeInfo(join(dir, 'composition::vm')));
    expect(error.code).toBe('NXC_COMPOSE_INFO');
    expect(error.message).toMatch(/composition::vm does not exist/);
    expect(error.hint).toBe('run `nxc build -f <flavour>` first');
  });

  it('dangling build link -> says where it pointed', async () => {
    const link = join(dir, 'gone::docker');
    await symlink('/nix/store/aaaa-compose-info.json', link);
    const error = await failure(readComposeInfo(link));
    expect(error.message).toMatch(/points to \/nix\/store\/aaaa-compose-info.json, which no longer exists/);
    expect(error.hint).toMatch(/nxc build/);
  });

  it.each([
    ['not JSON', '{ nope', /not valid JSON/],
    ['an array', '[]', /expected a JSON object/],
    ['unknown dialect', '{"hello": 1}', /not a compose info/],
  ])('%s', async (_name, text, expected) => {
    const error = await failure(readComposeInfo(await put('odd.json', text)));
    expect(error.code).toBe('NXC_COMPOSE_INFO');
    expect(error.message).toMatch(expected);
  });
});

/** Adds a file to the real Nix store (the original docker dialect points into it). */
function addToStore(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(content));
  return execFileSync('nix-store', ['--add', file], { encoding: 'utf8' }).trim();
}

describe('readComposeInfo: original docker dialect', () => {
  function legacy(services: unknown, extra: Record<string, unknown> = {}): Promise<string> {
    const compose = addToStore('docker-compose', { version: '3.4', services });
    return put('composition::docker', {
      image: `${S}-docker-image-nxc-docker-base-image.tar.gz`,
      roles: ['server', 'agent'],
      'docker-compose-file': compose,
      test_script: `${S}-test-script`,
      flavour: 'docker',
      ...extra,
    });
  }

  it('takes each role init from the docker-compose service command', async () => {
    const file = await legacy(
      {
        server: { command: [`${S}-nixos-system-server/init`], hostname: 'server' },
        agent: { command: [`${S}-nixos-system-agent/init`] },
      },
      { roles_distribution: { agent: 3 } },
    );
    const info = await readComposeInfo(file);
    expect(info.format).toBe('nxc-python-docker');
    expect(info.composition).toBe('composition');
    expect(info.flavour).toEqual({ name: 'docker', image: 'docker' });
    expect(info.roles).toEqual({
      server: { init: `${S}-nixos-system-server/init` },
      agent: { init: `${S}-nixos-system-agent/init` },
    });
    expect(info.rolesDistribution).toEqual({ agent: 3 });
    expect(info.testScript).toBe(`${S}-test-script`);
    expect(info.all['docker-compose-file']).toMatch(/^\/nix\/store\/.*-docker-compose$/);
    expect(info.all.docker_image).toBe(`${S}-docker-image-nxc-docker-base-image.tar.gz`);
    expect((await readComposeInfo(file, { composition: 'mine' })).composition).toBe('mine');
  });

  it.each([
    [
      'a role without service',
      { server: { command: [`${S}-s/init`] } },
      /roles: role "agent" has no service in docker-compose-file/,
    ],
    [
      'a command that is not a store path',
      { server: { command: ['/bin/sh'] }, agent: { command: [`${S}-a/init`] } },
      /docker-compose-file services.server.command\[0\]: expected a \/nix\/store path/,
    ],
    [
      'no command',
      { server: {}, agent: {} },
      /docker-compose-file \/nix\/store\/\S+: services.server.command: missing/,
    ],
  ])('%s -> error naming the compose info and the service', async (_name, services, expected) => {
    const error = await failure(readComposeInfo(await legacy(services)));
    expect(error.code).toBe('NXC_COMPOSE_INFO');
    expect(error.message).toMatch(/composition::docker: /);
    expect(error.message).toMatch(expected);
  });

  it('a compose file that vanished from the store', async () => {
    const file = await put('composition::docker', {
      roles: ['server'],
      'docker-compose-file': `${S}-docker-compose`,
      flavour: 'docker',
    });
    const error = await failure(readComposeInfo(file));
    expect(error.message).toMatch(
      /composition::docker: cannot read \/nix\/store\/\S+-docker-compose \(ENOENT\)/,
    );
  });
});

describe('readComposeInfo: original all-in-one dialect', () => {
  const multi = {
    all: { initrd: `${S}-initrd/initrd`, kernel: `${S}-image/kernel`, qemu_script: `${S}-qemu` },
    compositions_info: {
      foo: {
        roles: { server: { closure_info: `${S}-closure-info`, init: `${S}-server/init` } },
        test_script: `${S}-test-script`,
        roles_distribution: { server: 2 },
        all_store_info: `${S}-all-store-info`,
      },
      bar: { roles: { node: { init: `${S}-node/init` } } },
    },
    compositions_info_path: `${S}-compositions-info.json`,
    flavour: {
      description: 'Plain vm ramdisk (all-in-memory), need lot of ram !',
      image: { distribution: 'all-in-one', type: 'ramdisk' },
      name: 'vm-ramdisk',
    },
    system: 'x86_64-linux',
  };

  it('selects the named composition and merges the shared all', async () => {
    const info = await readComposeInfo(await put('compositions::vm-ramdisk', multi), { composition: 'foo' });
    expect(info).toMatchObject({
      format: 'nxc-python-all-in-one',
      composition: 'foo',
      flavour: { name: 'vm-ramdisk', image: 'ramdisk', description: multi.flavour.description },
      system: 'x86_64-linux',
      roles: { server: { init: `${S}-server/init` } },
      rolesDistribution: { server: 2 },
      testScript: `${S}-test-script`,
    });
    expect(info.all).toEqual({ ...multi.all, compositions_info_path: `${S}-compositions-info.json` });
  });

  it('takes the only composition when none is named', async () => {
    const single = { ...multi, compositions_info: { solo: multi.compositions_info.bar } };
    const info = await readComposeInfo(await put('solo::vm', single));
    expect(info.composition).toBe('solo');
    expect(info.roles).toEqual({ node: { init: `${S}-node/init` } });
  });

  it.each([
    [undefined, /holds several compositions \("foo", "bar"\): say which one/],
    ['baz', /has no composition "baz" \(compositions: "foo", "bar"\)/],
  ])('composition %s -> lists the available ones', async (composition, expected) => {
    const file = await put('compositions::vm-ramdisk', multi);
    const error = await failure(readComposeInfo(file, composition === undefined ? {} : { composition }));
    expect(error.code).toBe('NXC_COMPOSITION_UNKNOWN');
    expect(error.message).toMatch(expected);
  });

  it('names the field inside compositions_info', async () => {
    const bad = { ...multi, compositions_info: { foo: { roles: { server: { init: 'init' } } } } };
    const error = await failure(readComposeInfo(await put('bad::vm', bad)));
    expect(error.message).toMatch(
      /bad::vm: compositions_info.foo.roles.server.init: expected a \/nix\/store path/,
    );
  });
});
