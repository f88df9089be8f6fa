/**
 * systemd mode (`extra.docker.systemd`) against real systemd: the demo built by real Nix,
 * whose server role runs Debian's systemd as PID 1 on the test OS (units generated from its
 * NixOS configuration as NixOS generates them). Under the flavour's confinement (no
 * CAP_SYS_ADMIN, a name=systemd cgroup subtree of its own) systemd boots to `running`, the
 * role's units and nxc's are active, the node becomes ready although systemd keeps nothing of
 * the container's output stream, `nxc logs` shows its journal after that stream, and a stop is
 * systemd's clean halt, quick, leaving nothing.
 */
import { existsSync } from 'node:fs';
import { exec, logs, start, stop } from '@nxc/core';
import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { cgroupParentFor } from '../src/containers.js';
import { containerName, projectHash } from '../src/labels.js';
import { engineObjects, useBuiltDemo } from './harness.js';

const demo = useBuiltDemo('nxc-docker-systemd-');

describe('docker flavour, systemd mode, real systemd', () => {
  it('boots systemd as PID 1 under the confinement, runs the units, stops with a clean halt', async () => {
    const project = demo();
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

    // its log: what stage 2 printed before systemd, then the journal, where NXC_READY went
    const log: string[] = [];
    for await (const line of logs(project, ['server'], { flavour: 'docker' })) log.push(line.line);
    const text = log.join('\n');
    expect(text).toContain('starting systemd');
    expect(text).toMatch(/nxc-ready\[\d+\]: NXC_READY server$/m);
    expect(text.indexOf('starting systemd')).toBeLessThan(text.indexOf('NXC_READY server'));
    // following it follows the journal, and an abort ends it with nothing left in the node
    const ac = new AbortController();
    const followed: string[] = [];
    const follow = (async () => {
      for await (const line of logs(project, ['server'], {
        flavour: 'docker',
        follow: true,
        signal: ac.signal,
      })) {
        followed.push(line.line);
        if (line.line.includes('nxc-follow-probe')) ac.abort();
      }
    })().catch((error) => {
      if (!ac.signal.aborted) throw error;
    });
    const deadline = Date.now() + 20_000;
    while (!followed.some((l) => l.includes('NXC_READY server')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    await exec(project, ['server'], 'logger -t probe nxc-follow-probe', { flavour: 'docker' });
    const timer = setTimeout(() => ac.abort(), 20_000);
    await follow;
    clearTimeout(timer);
    expect(followed.join('\n')).toMatch(/probe.*: nxc-follow-probe$/m);
    await new Promise((r) => setTimeout(r, 1000));
    const [ps] = await exec(project, ['server'], 'cat /proc/[0-9]*/comm', { flavour: 'docker' });
    expect(ps?.stdout.split('\n')).not.toContain('journalctl');

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
