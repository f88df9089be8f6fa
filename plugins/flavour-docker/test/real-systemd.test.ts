/**
 * systemd mode (`extra.docker.systemd`) against real systemd: the demo built by real Nix,
 * whose server role runs Debian's systemd as PID 1 on the test OS (units generated from its
 * NixOS configuration as NixOS generates them). Under the flavour's confinement (no
 * CAP_SYS_ADMIN, a name=systemd cgroup subtree of its own) systemd boots to `running`, the
 * role's units and nxc's are active, the node becomes ready although systemd keeps nothing of
 * the container's output stream, and a stop is systemd's clean halt, quick, leaving nothing.
 */
import { existsSync } from 'node:fs';
import { type Project, build, exec, loadProject, start, stop } from '@nxc/core';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupParentFor } from '../src/containers.js';
import { containerName, projectHash } from '../src/labels.js';
import { OFFLINE_NIX_FLAGS, demoProject } from './demo-build.mjs';
import { engineObjects } from './harness.js';

const savedFlags = process.env.NXC_NIX_FLAGS;
let demo: ReturnType<typeof demoProject>;
let project: Project;

beforeAll(async () => {
  process.env.NXC_NIX_FLAGS = OFFLINE_NIX_FLAGS;
  demo = demoProject('nxc-docker-systemd-');
  project = await loadProject(demo.dir);
  await build(project, { flavour: 'docker' });
});

afterAll(async () => {
  if (project) await stop(project).catch(() => {});
  demo?.cleanup();
  if (savedFlags === undefined) Reflect.deleteProperty(process.env, 'NXC_NIX_FLAGS');
  else process.env.NXC_NIX_FLAGS = savedFlags;
});

describe('docker flavour, systemd mode, real systemd', () => {
  it('boots systemd as PID 1 under the confinement, runs the units, stops with a clean halt', async () => {
    const summary = await start(project, { flavour: 'docker', timeoutMs: 180_000 });
    expect(summary.nodes.map((n) => `${n.host}:${n.state}`).sort()).toEqual([
      'client:running',
      'server:running',
    ]);

    const scope = { projectRoot: project.root, composition: 'composition', flavour: 'docker' };
    const inspect = await new Docker().getContainer(containerName(scope, 'server')).inspect();
    expect(inspect.HostConfig.Init).toBe(false);
    expect(inspect.HostConfig.CapAdd ?? []).not.toContain('SYS_ADMIN');
    expect(inspect.Config.StopSignal).toBe('SIGRTMIN+3');

    const [r] = await exec(
      project,
      ['server'],
      'cat /proc/1/comm; systemctl is-system-running --wait; systemctl is-active httpd.service nxc-boot.service nxc-ready.service sshd.service; wget -qO- http://127.0.0.1/ | head -c 200',
      { flavour: 'docker' },
    );
    const lines = r?.stdout.split('\n').filter(Boolean) ?? [];
    expect(lines.slice(0, 5), r?.stderr).toEqual(['systemd', 'running', 'active', 'active', 'active']);
    // no SSH server on docker nodes (nxc.ssh.enable is false there): systemd knows no such unit
    expect(lines[5]).toBe('inactive');
    expect(lines.slice(6).join('\n')).toContain('server');

    const parentCgroup = `/sys/fs/cgroup/systemd${cgroupParentFor(scope)}`;
    expect(existsSync(parentCgroup)).toBe(true);
    const t0 = Date.now();
    await stop(project, { flavour: 'docker' });
    // SIGRTMIN+3 is systemd's halt: it stops its units and exits, no kill after a timeout
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(existsSync(parentCgroup)).toBe(false);
    expect(await engineObjects(projectHash(project.root))).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
  });
});
