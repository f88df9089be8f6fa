/**
 * The runtime options for role inits that are real systemd (`extra.docker.systemd`, set by
 * the flavour's NixOS module) are accepted by the real engine: no Docker init (the role's
 * init is PID 1), SYS_ADMIN, the host's cgroup namespace and /sys/fs/cgroup read-write,
 * SIGRTMIN+3 as stop signal. (A real NixOS cannot be built here: the init is the fake one.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ComposeInfo, FlavourDeployer } from '@nxc/core';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import plugin from '../src/index.js';
import { containerName, projectHash } from '../src/labels.js';
import { fakeBuild } from './fake-build.mjs';
import { engineObjects, harness, plan, removeProject, tempProject } from './harness.js';

let deployer: FlavourDeployer;
let info: ComposeInfo;
let buildDir: string;
const project = tempProject();
const h = harness(project);

beforeAll(async () => {
  deployer = await plugin.flavours[0]!.deployer();
  buildDir = mkdtempSync(join(tmpdir(), 'nxc-fake-build-'));
  info = { ...fakeBuild(buildDir), extra: { docker: { systemd: true } } };
});

afterAll(async () => {
  await deployer?.stop(await h.runningContext()).catch(() => {});
  removeProject(project);
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
});

describe('docker flavour, systemd mode', () => {
  it('starts nodes whose init is PID 1 with the cgroup tree, and stops them', async () => {
    await deployer.start(h.startContext(info, plan({ server: 1 })));
    const scope = { projectRoot: project.root, composition: 'composition', flavour: 'docker' };
    const inspect = await new Docker().getContainer(containerName(scope, 'server')).inspect();
    expect(inspect.HostConfig.Init).toBe(false);
    expect(inspect.HostConfig.CapAdd).toContain('SYS_ADMIN');
    expect((inspect.HostConfig as Record<string, unknown>).CgroupnsMode).toBe('host');
    expect(inspect.Config.StopSignal).toBe('SIGRTMIN+3');
    const transport = await deployer.transport(await h.runningContext());
    const r = await transport.exec(
      'server',
      'cat /proc/1/cmdline | tr "\\0" " "; touch /sys/fs/cgroup/. && echo rw',
    );
    expect(r.stdout).toContain(info.roles.server!.init);
    expect(r.stdout).toContain('rw');
    await deployer.stop(await h.runningContext());
    expect(await engineObjects(projectHash(project.root))).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
  });
});
