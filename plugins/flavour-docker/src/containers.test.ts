import { isNxcError } from '@nxc/core/flavour';
import { describe, expect, it } from 'vitest';
import {
  type DockerExtras,
  type NodeRuntimeInput,
  cgroupParentFor,
  checkPorts,
  chooseSystemdCgroups,
  extrasFromOriginalComposeFile,
  nodeRuntime,
  parsePort,
  readDockerExtras,
  toCreateOptions,
} from './containers.js';
import { LABEL, volumeName } from './labels.js';
import { dockerOptionsSchema } from './options.js';

const scope = { projectRoot: '/p', composition: 'composition', flavour: 'docker' };
const none: DockerExtras = { extraVolumes: [], dockerPorts: {}, systemd: false };
const where = { source: '/p/build/composition::docker', projectRoot: '/p' };

function runtime(extras: DockerExtras = none, more: Partial<NodeRuntimeInput> = {}) {
  return nodeRuntime({
    scope,
    deploymentId: 'd1',
    node: { host: 'client1', role: 'client', address: '172.18.2.3', init: '/nix/store/abc-client/init' },
    image: 'nxc-base:abc',
    network: 'nxc-composition-1234',
    deploymentFile: '/p/deploy/composition::docker.json',
    sharedVolume: 'nxc-composition-1234-shared',
    extras,
    ...more,
  });
}

describe('docker extras (extraVolumes, dockerPorts)', () => {
  it('parses the docker-compose short port syntax', () => {
    expect(parsePort('80')).toEqual({ containerPort: 80, protocol: 'tcp' });
    expect(parsePort(8080)).toEqual({ containerPort: 8080, protocol: 'tcp' });
    expect(parsePort('8080:80')).toEqual({ containerPort: 80, protocol: 'tcp', hostPort: 8080 });
    expect(parsePort('127.0.0.1:53:53/udp')).toEqual({
      containerPort: 53,
      protocol: 'udp',
      hostPort: 53,
      hostIp: '127.0.0.1',
    });
    expect(() => parsePort('80:')).toThrow(/bad port/);
  });

  it('reads extra.docker, resolving relative host paths against the project', () => {
    const extras = readDockerExtras(
      {
        docker: {
          extraVolumes: ['./data:/data:ro', 'cache:/var/cache', { source: '/srv', target: '/srv' }],
          dockerPorts: { server: ['8080:80'] },
        },
      },
      where,
    );
    expect(extras.extraVolumes).toEqual([
      { source: '/p/data', target: '/data', readOnly: true },
      { source: 'cache', target: '/var/cache', readOnly: false },
      { source: '/srv', target: '/srv', readOnly: false },
    ]);
    expect(extras.dockerPorts.server).toEqual([{ containerPort: 80, protocol: 'tcp', hostPort: 8080 }]);
    expect(readDockerExtras({}, where)).toEqual(none);
    // compose infos of the original nxc say nothing: their containers run systemd
    expect(readDockerExtras({}, { ...where, defaultSystemd: true }).systemd).toBe(true);
    expect(readDockerExtras({ docker: { systemd: false } }, { ...where, defaultSystemd: true }).systemd).toBe(
      false,
    );
  });

  it('rejects a bad entry with one line naming the file and the field', () => {
    try {
      readDockerExtras({ docker: { dockerPorts: { server: ['x:80'] } } }, where);
      expect.unreachable();
    } catch (error) {
      expect(isNxcError(error) && error.code).toBe('NXC_COMPOSE_INFO');
      expect((error as Error).message).toBe(
        '/p/build/composition::docker: extra.docker.dockerPorts.server[0]: bad port "x:80" (expected CONTAINER, HOST:CONTAINER or IP:HOST:CONTAINER[/udp])',
      );
    }
    expect(() => readDockerExtras({ docker: { extraVolumes: ['/only'] } }, where)).toThrow(
      /extraVolumes\[0\]/,
    );
    expect(() => readDockerExtras({ docker: { extraVolumes: 'x' } }, where)).toThrow(
      /extra\.docker\.extraVolumes/,
    );
  });

  it('refuses a fixed host port on a role with several nodes, before creating anything', () => {
    const extras = readDockerExtras(
      { docker: { dockerPorts: { client: ['8080:80'], server: ['80'] } } },
      where,
    );
    const nodes = [
      { role: 'server', host: 'server' },
      { role: 'client', host: 'client1' },
      { role: 'client', host: 'client2' },
    ];
    expect(() => checkPorts(nodes, extras, 'x')).toThrow(
      /host port 8080 but role "client" has 2 nodes \(client1, client2\)/,
    );
    expect(() => checkPorts(nodes.slice(0, 2), extras, 'x')).not.toThrow();
  });
});

describe('node runtime', () => {
  it('runs the role init with the store, the deployment and the shared volume mounted', () => {
    const rt = runtime();
    expect(rt.command).toEqual(['/nix/store/abc-client/init']);
    expect(rt.host).toBe('client1');
    expect(rt.mounts).toEqual([
      { kind: 'bind', source: '/nix/store', target: '/nix/store', readOnly: true },
      {
        kind: 'bind',
        source: '/p/deploy/composition::docker.json',
        target: '/etc/nxc/deployment.json',
        readOnly: true,
      },
      { kind: 'volume', source: 'nxc-composition-1234-shared', target: '/var/nxc/shared', readOnly: false },
    ]);
    expect(rt.env.NXC_FLAVOUR).toBe('docker');
    expect(rt.env.PATH).toBe('/run/wrappers/bin:/run/current-system/sw/bin:/bin:/usr/bin');
    expect(rt.init).toBe(true);
    expect(rt.labels[LABEL.host]).toBe('client1');
  });

  it("puts the role's system on the PATH when the build gives its toplevel", () => {
    const rt = nodeRuntime({
      scope,
      deploymentId: 'd1',
      node: {
        host: 's',
        role: 's',
        address: '10.0.0.2',
        init: '/nix/store/t-s/init',
        toplevel: '/nix/store/t-s',
      },
      image: 'i',
      network: 'n',
      deploymentFile: '/d',
      sharedVolume: 'v',
      extras: none,
    });
    expect(rt.env.PATH).toBe(
      '/run/wrappers/bin:/run/current-system/sw/bin:/nix/store/t-s/sw/bin:/bin:/usr/bin',
    );
  });

  it('gives real systemd its own writable cgroup subtree, not SYS_ADMIN nor the host cgroup tree', () => {
    const rt = runtime({ ...none, systemd: true });
    const parent = cgroupParentFor(scope);
    expect(parent).toMatch(/^\/nxc-[0-9a-f]{12}$/);
    expect(rt.init).toBe(false);
    expect(rt.stopSignal).toBe('SIGRTMIN+3');
    expect(rt.capAdd).toEqual(['NET_ADMIN', 'NET_RAW']);
    expect(rt.mounts.map((m) => m.target)).not.toContain('/sys/fs/cgroup');
    expect(rt.tmpfs['/sys/fs/cgroup/systemd']).toMatch(/^rw,/);
    // systemd mounts /run/lock itself unless it is a mount point already, and cannot here
    expect(rt.tmpfs['/run/lock']).toMatch(/^rw,.*mode=1777/);
    const opts = toCreateOptions(rt);
    expect(opts.HostConfig).toMatchObject({
      Init: false,
      CgroupnsMode: 'host',
      CgroupParent: parent,
      Binds: [`/sys/fs/cgroup/systemd${parent}:/sys/fs/cgroup/systemd${parent}:rw`],
    });
    expect(opts.HostConfig?.Mounts?.map((m) => m.Source)).not.toContain(`/sys/fs/cgroup/systemd${parent}`);
    const plain = toCreateOptions(runtime()).HostConfig as Record<string, unknown>;
    expect([plain.CgroupnsMode, plain.CgroupParent, plain.Binds]).toEqual([undefined, undefined, []]);
  });

  it('chooses the confined cgroup setup where it works, else refuses unless the user opts into the unsafe one', () => {
    expect(
      chooseSystemdCgroups({ CgroupVersion: '1', CgroupDriver: 'cgroupfs' }, scope, { unsafeCgroups: false }),
    ).toEqual({
      cgroups: { kind: 'subtree', parent: cgroupParentFor(scope) },
    });
    let error: unknown;
    try {
      chooseSystemdCgroups({ CgroupVersion: '2', CgroupDriver: 'systemd' }, scope, { unsafeCgroups: false });
    } catch (e) {
      error = e;
    }
    expect(isNxcError(error) && error.code).toBe('NXC_FLAVOUR_UNUSABLE');
    expect((error as Error).message).toMatch(/cgroup v2, systemd driver/);
    expect((error as { hint?: string }).hint).toMatch(/unsafeCgroups = true .*root on this host/);
    const unsafe = chooseSystemdCgroups({ CgroupVersion: '2' }, scope, { unsafeCgroups: true });
    expect(unsafe.cgroups).toEqual({ kind: 'host' });
    expect(unsafe.warning).toMatch(/CAP_SYS_ADMIN and the host's \/sys\/fs\/cgroup read-write/);
    const rt = runtime({ ...none, systemd: true }, { systemdCgroups: unsafe.cgroups });
    expect(rt.capAdd).toContain('SYS_ADMIN');
    expect(rt.mounts.map((m) => m.target)).toContain('/sys/fs/cgroup');
  });

  it('renders an Engine API request with static address, alias and published ports', () => {
    const extras = readDockerExtras(
      { docker: { dockerPorts: { client: ['8080:80', '53/udp'] }, extraVolumes: ['cache:/c'] } },
      where,
    );
    const opts = toCreateOptions(runtime(extras));
    expect(opts.name).toMatch(/^nxc-composition-client1-/);
    expect(opts.Hostname).toBe('client1');
    expect(opts.HostConfig?.Init).toBe(true);
    expect(opts.HostConfig?.NetworkMode).toBe('nxc-composition-1234');
    expect(opts.NetworkingConfig?.EndpointsConfig?.['nxc-composition-1234']).toEqual({
      Aliases: ['client1'],
      IPAMConfig: { IPv4Address: '172.18.2.3' },
    });
    expect(opts.ExposedPorts).toEqual({ '80/tcp': {}, '53/udp': {} });
    // published on the loopback only unless the composition or the publishAddress option says otherwise
    expect(opts.HostConfig?.PortBindings).toEqual({
      '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }],
      '53/udp': [{ HostIp: '127.0.0.1', HostPort: '' }],
    });
    const everywhere = toCreateOptions(
      runtime(extras, {
        publishAddress: dockerOptionsSchema.parse({ publishAddress: '0.0.0.0' }).publishAddress,
      }),
    );
    expect(everywhere.HostConfig?.PortBindings?.['80/tcp']).toEqual([
      { HostIp: '0.0.0.0', HostPort: '8080' },
    ]);
    const named = readDockerExtras({ docker: { dockerPorts: { client: ['10.0.0.5:8080:80'] } } }, where);
    expect(toCreateOptions(runtime(named)).HostConfig?.PortBindings?.['80/tcp']).toEqual([
      { HostIp: '10.0.0.5', HostPort: '8080' },
    ]);
    expect(dockerOptionsSchema.safeParse({ publishAddress: 'everywhere' }).error?.issues[0]?.message).toMatch(
      /expected an IPv4 address/,
    );
    expect(opts.HostConfig?.Mounts?.at(-1)).toEqual({
      Type: 'volume',
      Source: volumeName(scope, 'cache'),
      Target: '/c',
      ReadOnly: false,
    });
  });
});

describe("the original nxc's docker-compose file", () => {
  it('yields the extraVolumes beyond the standard mounts and the ports of each role', () => {
    const compose = {
      services: {
        server: {
          command: ['/nix/store/x-server/init'],
          volumes: [
            '/sys/fs/cgroup:/sys/fs/cgroup:rw',
            '/nix/store:/nix/store:ro',
            '/nix/store/abc-container-system-env:/run/system:ro',
            '/tmp/shared:/tmp/shared:rw',
            'nxc-shared:/var/nxc/shared',
            '/srv/data:/data',
            { type: 'bind', source: '/p/deploy/c::docker.json', target: '/etc/nxc/deployment.json' },
          ],
          ports: ['8080:80', { target: 53, published: 5353, protocol: 'udp' }],
        },
        client: { command: ['/nix/store/x-client/init'], volumes: ['/srv/data:/data', 'cache:/cache'] },
      },
    };
    expect(extrasFromOriginalComposeFile(compose, ['server', 'client'])).toEqual({
      extraVolumes: ['/nix/store/abc-container-system-env:/run/system:ro', '/srv/data:/data', 'cache:/cache'],
      dockerPorts: { server: ['8080:80', '5353:53/udp'] },
    });
  });
});
