/**
 * Another local user against a running `vm-ramdisk` deployment (real QEMU, the real demo, the
 * real `nobody` account through setpriv): from what any user can see (`ps`, /proc/PID/cmdline)
 * and every file or socket QEMU's command line names, `nobody` must neither read the
 * deployment's secrets (a `-p` parameter) nor join, sniff or inject on its private segment,
 * while the nodes still reach each other by name. test/intruder.py is the intruder.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type ComposeInfo, readComposeInfo } from '@nxc/core';
import { type FlavourDeployer, buildDeploymentDocument, writeDeploymentDocument } from '@nxc/core/flavour';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withRepoReachable } from '../../../test/support/repo-reachable.js';
import type { QemuState } from '../src/deployer.js';
import plugin from '../src/index.js';
import { buildDemo } from './demo-build.mjs';
import { harness, plan } from './harness.js';

const INTRUDER = join(import.meta.dirname, 'intruder.py');

interface Finding {
  kind: 'secret' | 'sniffed' | 'injected' | 'read' | 'connected' | 'denied' | 'info';
  [k: string]: unknown;
}

/** Runs the intruder as `nobody` (uid/gid 65534, no supplementary groups). */
function asNobody(args: string[]): Promise<{ code: number; findings: Finding[]; stderr: string }> {
  // the intruder script is in this repository
  return withRepoReachable(
    () =>
      new Promise<{ code: number; findings: Finding[]; stderr: string }>((resolve) => {
        execFile(
          'setpriv',
          ['--reuid=65534', '--regid=65534', '--clear-groups', '--', '/usr/bin/python3', INTRUDER, ...args],
          { timeout: 60_000, cwd: '/' },
          (err, stdout, stderr) =>
            resolve({
              code: err ? Number((err as { code?: number }).code ?? 1) : 0,
              findings: stdout
                .split('\n')
                .filter(Boolean)
                .map((l) => JSON.parse(l) as Finding),
              stderr,
            }),
        );
      }),
  );
}

describe('vm-ramdisk against another local user', () => {
  const h = harness('vm-ramdisk');
  const token = `nxc-secret-${randomBytes(8).toString('hex')}`;
  let deployer: FlavourDeployer;
  let info: ComposeInfo;
  beforeAll(async () => {
    info = await readComposeInfo(buildDemo('vm-ramdisk'));
    deployer = await plugin.flavours.find((f) => f.name === 'vm-ramdisk')!.deployer();
    // an ordinary project folder (mkdtemp made it 0700, which would hide the consoles anyway)
    chmodSync(h.project.root, 0o755);
    for (const d of [h.project.deployDir, h.project.artifactDir]) chmodSync(d, 0o755);
  });
  afterAll(async () => {
    await deployer?.stop(await h.runningContext()).catch(() => {});
    h.remove();
  });

  it('nobody cannot read the secrets from ps or files, nor sniff or inject on the segment; nodes still talk', async () => {
    const ctx = h.startContext(info, plan({ server: 1, client: 1 }));
    await deployer.start({
      ...ctx,
      async writeDeployment(deployed) {
        const doc = buildDeploymentDocument({
          composeInfo: info,
          nodes: deployed,
          sshPublicKey: ctx.identity.publicKey,
          user: 'root',
          parameters: { token },
        });
        await writeDeploymentDocument(h.project, 'composition', 'vm-ramdisk', doc);
        return doc;
      },
    });
    const running = await h.runningContext();
    const state = running.state as QemuState & { switch?: { pid: number } };
    const pids = [
      ...state.nodes.map((n) => String(n.pid)),
      ...(state.switch ? [String(state.switch.pid)] : []),
    ];
    const consoles = state.nodes.map((n) => n.consoleLog);

    const t = await deployer.transport(running);
    try {
      // traffic on the segment while the intruder listens: the client fetches from the server by name
      const [intrusion, traffic] = await Promise.all([
        asNobody([token, '6', ...pids, '--', ...consoles]),
        t.exec(
          'client',
          'for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://server/ || exit 1; sleep 0.4; done',
          { timeoutMs: 60_000 },
        ),
      ]);
      expect(traffic.exitCode, traffic.stderr).toBe(0);
      expect(traffic.stdout).toContain('hello from the nxc demo server');
      expect(intrusion.stderr).toBe('');
      expect(intrusion.code).toBe(0);
      // the intruder did look at every process of the deployment
      expect(intrusion.findings.filter((f) => f.kind === 'info').length).toBe(pids.length);
      const bad = intrusion.findings.filter((f) =>
        ['secret', 'sniffed', 'injected', 'read', 'connected'].includes(f.kind),
      );
      expect(bad).toEqual([]);
      // and was refused, not merely unaware: it found the segment's socket and the consoles
      const denied = intrusion.findings.filter((f) => f.kind === 'denied').map((f) => f.path);
      for (const path of [state.segment, ...consoles]) expect(denied).toContain(path);
      expect(statSync(state.runDir).mode & 0o777).toBe(0o700);
    } finally {
      await t.close();
    }
  });
});
