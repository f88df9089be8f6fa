/**
 * Role inits that are real systemd (`extra.docker.systemd`, set by the flavour's NixOS module)
 * on the real engine: the init is PID 1 (no Docker init), SIGRTMIN+3 stops it, and it gets a
 * writable name=systemd cgroup subtree of its own, but neither CAP_SYS_ADMIN nor the host's
 * cgroup tree: root in the container must not reach host root through cgroup v1's
 * release_agent (the classic escape, run here for real) nor create cgroups in the host's
 * hierarchies. (A real NixOS cannot be built here: the init is the fake one; real systemd
 * under these settings was measured by hand, see docs.)
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ComposeInfo } from '@nxc/core';
import type { FlavourDeployer } from '@nxc/core/flavour';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupParentFor } from '../src/containers.js';
import plugin from '../src/index.js';
import { containerName, projectHash } from '../src/labels.js';
import { fakeBuild } from './fake-build.mjs';
import { engineObjects, harness, plan, removeProject, tempProject } from './harness.js';

let deployer: FlavourDeployer;
let info: ComposeInfo;
let buildDir: string;
const project = tempProject();
const h = harness(project);

/**
 * What a compromised node's root tries (busybox sh). The payload only creates a file in the
 * container's own upper layer, seen from the host; a release_agent it could write is put
 * back at once, and only empty ones (not the host systemd's) are tried.
 */
const ESCAPE = String.raw`
upper=$(sed -n 's/.*upperdir=\([^,]*\).*/\1/p' /proc/self/mountinfo | head -n 1)
mkdir -p /tmp/cg
if mount -t cgroup -o rdma cgroup /tmp/cg 2>/dev/null || mount -t cgroup -o memory cgroup /tmp/cg 2>/dev/null; then echo MOUNTED; fi
printf '#!/bin/sh\ntouch %s/escaped\n' "$upper" > /escape.sh
chmod +x /escape.sh
for ra in $(find /sys/fs/cgroup /tmp/cg -name release_agent 2>/dev/null); do
  echo "FOUND $ra"
  [ -z "$(cat "$ra")" ] || continue
  d=$(dirname "$ra")
  if echo "$upper/escape.sh" > "$ra" 2>/dev/null; then
    echo "WROTE $ra"
    mkdir -p "$d/nxc-escape" && echo 1 > "$d/nxc-escape/notify_on_release" &&
      sh -c "echo \$\$ > $d/nxc-escape/cgroup.procs"
    sleep 1
    rmdir "$d/nxc-escape"
    echo > "$ra"
  fi
done
for hier in /sys/fs/cgroup/*; do
  if mkdir "$hier/nxc-escape-probe" 2>/dev/null; then
    [ -e "$hier/nxc-escape-probe/cgroup.procs" ] && echo "CREATED $hier/nxc-escape-probe"
    rmdir "$hier/nxc-escape-probe"
  fi
done
[ -e /escaped ] && echo ESCAPED
grep CapEff /proc/self/status
echo DONE
`;

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
  it('init is PID 1 with a cgroup subtree of its own; root cannot escape through release_agent nor touch the host cgroup tree', async () => {
    await deployer.start(h.startContext(info, plan({ server: 1 })));
    const scope = { projectRoot: project.root, composition: 'composition', flavour: 'docker' };
    const inspect = await new Docker().getContainer(containerName(scope, 'server')).inspect();
    expect(inspect.HostConfig.Init).toBe(false);
    expect(inspect.Config.StopSignal).toBe('SIGRTMIN+3');
    const transport = await deployer.transport(await h.runningContext());

    const init = await transport.exec('server', 'cat /proc/1/cmdline | tr "\\0" " "');
    expect(init.stdout).toContain(info.roles.server!.init);
    // systemd's own subtree of the name=systemd hierarchy is writable (it creates init.scope there)
    const own = await transport.exec(
      'server',
      'cg=$(sed -n "s/^[0-9]*:name=systemd://p" /proc/1/cgroup); d=/sys/fs/cgroup/systemd$cg/probe.scope; mkdir "$d" && test -e "$d/cgroup.procs" && rmdir "$d" && echo own-subtree-rw',
    );
    expect(own.stdout + own.stderr).toContain('own-subtree-rw');

    const attempt = await transport.exec('server', ESCAPE, { timeoutMs: 60_000 });
    expect(attempt.stdout).toContain('DONE');
    const lines = attempt.stdout.split('\n');
    expect(lines.filter((l) => /^(MOUNTED|WROTE|CREATED|ESCAPED)/.test(l))).toEqual([]);
    // no CAP_SYS_ADMIN (bit 21) in the effective set
    const capEff = BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(attempt.stdout)![1]}`);
    expect(capEff & (1n << 21n)).toBe(0n);
    const upper = (inspect.GraphDriver as { Data?: { UpperDir?: string } }).Data?.UpperDir;
    if (upper) expect(existsSync(join(upper, 'escaped'))).toBe(false);
    expect(inspect.HostConfig.CapAdd ?? []).not.toContain('SYS_ADMIN');
    expect(inspect.HostConfig.Privileged).toBe(false);

    const parentCgroup = `/sys/fs/cgroup/systemd${cgroupParentFor(scope)}`;
    expect(existsSync(parentCgroup)).toBe(true);
    await deployer.stop(await h.runningContext());
    // its parent cgroup goes with it (the tests run as root)
    expect(existsSync(parentCgroup)).toBe(false);
    expect(await engineObjects(projectHash(project.root))).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
  });
});
