import { describe, expect, it } from 'vitest';
import { composeDocument } from './compose-file.js';
import { nodeRuntime, toCreateOptions } from './containers.js';
import { type LoopProbe, diskDevicePath, diskDir, loopProblem } from './disks.js';

const local: LoopProbe = {
  euid: 0,
  loopControl: 'ok',
  losetup: '/usr/sbin/losetup',
  endpoint: { kind: 'unix', socketPath: '/var/run/docker.sock', display: '/var/run/docker.sock' },
};
const scope = { projectRoot: '/p', composition: 'composition', flavour: 'docker' };

describe('docker disks: what the host must offer', () => {
  it('root, /dev/loop-control, losetup and a local engine: no problem', () => {
    expect(loopProblem(local, 'storage')).toBeUndefined();
  });

  it('each missing capability is one line naming it, a hint, exit 3', () => {
    const cases: Array<[Partial<LoopProbe>, RegExp, RegExp]> = [
      [
        { endpoint: { kind: 'tcp', host: 'h', port: 2375, tls: false, display: 'tcp://h:2375' } },
        /the Docker engine is not on this host \(DOCKER_HOST=tcp:\/\/h:2375\)$/,
        /unset DOCKER_HOST/,
      ],
      [{ loopControl: 'missing' }, /\/dev\/loop-control does not exist/, /modprobe loop/],
      [{ euid: 1000 }, /needs root \(CAP_SYS_ADMIN\)/, /run nxc as root/],
      [{ loopControl: 'denied' }, /needs root/, /run nxc as root/],
      [{ losetup: undefined }, /losetup is not on the PATH$/, /apt-get install mount/],
    ];
    for (const [change, message, hint] of cases) {
      const probe = { ...local, ...change };
      if ('losetup' in change && change.losetup === undefined) Reflect.deleteProperty(probe, 'losetup');
      const error = loopProblem(probe, 'storage');
      expect(error?.message).toMatch(
        /^role storage declares nxc\.disks, which the docker flavour gives nodes as loop devices of this host, but /,
      );
      expect(error?.message).toMatch(message);
      expect(error?.message).not.toContain('\n');
      expect(error?.hint).toMatch(hint);
      expect(error?.exitCode).toBe(3);
    }
  });

  it('the disk folder depends only on the deployment scope, in the per-user private base', () => {
    const env = { XDG_RUNTIME_DIR: '/run/user/1000' };
    const dir = diskDir(scope, env);
    expect(dir).toMatch(/^\/run\/user\/1000\/nxc\/docker-disks-[0-9a-f]{16}-[0-9a-f]{12}$/);
    expect(diskDir({ ...scope }, env)).toBe(dir);
    expect(diskDir({ ...scope, composition: 'other' }, env)).not.toBe(dir);
    // same project: same prefix (leftovers of every composition are found by it)
    expect(diskDir({ ...scope, composition: 'other' }, env).slice(0, -12)).toBe(dir.slice(0, -12));
    expect(diskDir({ ...scope, projectRoot: '/q' }, env).slice(0, -12)).not.toBe(dir.slice(0, -12));
  });

  it('a node gets its loop devices at /dev/disk/by-id/virtio-<id>, rw, in the engine request and the compose file', () => {
    const rt = nodeRuntime({
      scope,
      deploymentId: 'd1',
      node: { host: 'server', role: 'server', address: '172.18.2.2', init: '/nix/store/abc-server/init' },
      image: 'nxc-base:abc',
      network: 'n',
      deploymentFile: '/p/deploy/composition::docker.json',
      sharedVolume: 's',
      extras: { extraVolumes: [], dockerPorts: {}, systemd: false },
      devices: [
        { host: '/dev/loop3', container: diskDevicePath('data') },
        { host: '/dev/loop4', container: diskDevicePath('disk1') },
      ],
    });
    expect(toCreateOptions(rt).HostConfig?.Devices).toEqual([
      { PathOnHost: '/dev/loop3', PathInContainer: '/dev/disk/by-id/virtio-data', CgroupPermissions: 'rwm' },
      { PathOnHost: '/dev/loop4', PathInContainer: '/dev/disk/by-id/virtio-disk1', CgroupPermissions: 'rwm' },
    ]);
    // no extra privilege for it
    expect(toCreateOptions(rt).HostConfig?.CapAdd).toEqual(['NET_ADMIN', 'NET_RAW']);
    const doc = composeDocument({
      name: 'n',
      network: { name: 'n', subnet: '172.18.2.0/24', gateway: '172.18.2.1', labels: {} },
      volumes: [],
      nodes: [rt, { ...rt, host: 'client', devices: [] }],
    }) as { services: Record<string, { devices?: string[] }> };
    expect(doc.services.server?.devices).toEqual([
      '/dev/loop3:/dev/disk/by-id/virtio-data:rwm',
      '/dev/loop4:/dev/disk/by-id/virtio-disk1:rwm',
    ]);
    expect(doc.services.client?.devices).toBeUndefined();
  });
});
