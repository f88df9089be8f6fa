import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { DeploymentDocument } from '@nxc/core/flavour';
import { describe, expect, it } from 'vitest';
import { KERNEL_CMDLINE_MAX, inlineDeployment, kexecAppend } from './kernel-cmdline.js';

function doc(n: number): DeploymentDocument {
  const deployment: DeploymentDocument['deployment'] = {};
  for (let i = 1; i <= n; i++) {
    deployment[`172.16.${Math.floor(i / 200)}.${(i % 200) + 10}`] = {
      role: i === 1 ? 'server' : 'client',
      host: i === 1 ? 'server' : `client${i - 1}`,
      init: '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-client/init',
      // the identity nxc writes: random UUIDs are what does not compress
      index: i === 1 ? 1 : i - 1,
      globalIndex: i - 1,
      uuid: randomUUID(),
    };
  }
  return {
    deployment,
    'ssh_key.pub':
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDw0v1m1Zk3Kq0b8f6l2m1Pq0bq3x9yJH7rXo8ZcRkR1 nxc@project',
    composition: 'composition',
    flavour: 'g5k-ramdisk',
    all: { kernel: '/nix/store/x-kernel/bzImage', initrd: '/nix/store/y-initrd/initrd' },
    user: 'alice',
  };
}

describe('kernel command line', () => {
  it('puts deploy= first, then the consoles, flavour parameters and -k extras', () => {
    expect(
      kexecAppend('gz:AAA', { flavourParams: 'nfs_store=nfs:/export/nix/store', kernelParams: ' quiet ' }),
    ).toBe('deploy=gz:AAA console=tty0 console=ttyS0,115200 nfs_store=nfs:/export/nix/store quiet');
  });

  it('a served deployment: its digest follows deploy= so that -k cannot push it out', () => {
    const sha = 'ab'.repeat(32);
    expect(
      kexecAppend('http://10.0.0.1:8080/deployment.json', { deploySha256: sha, kernelParams: 'quiet' }),
    ).toBe(
      `deploy=http://10.0.0.1:8080/deployment.json deploy_sha256=${sha} console=tty0 console=ttyS0,115200 quiet`,
    );
  });

  it('compact form drops all and per-node init, and decodes back', () => {
    const doc2 = doc(2);
    const value = inlineDeployment(doc2)!.append.split(' ')[0]!.slice('deploy='.length);
    expect(value.startsWith('gz:')).toBe(true);
    const back = JSON.parse(gunzipSync(Buffer.from(value.slice(3), 'base64')).toString());
    expect(back.all).toBeUndefined();
    expect(back.deployment['172.16.0.11']).toEqual({
      role: 'server',
      host: 'server',
      index: 1,
      globalIndex: 0,
      uuid: doc2.deployment['172.16.0.11']!.uuid,
    });
    expect(back['ssh_key.pub']).toContain('ssh-ed25519');
  });

  it('32 nodes with their UUIDs fit the 2048-byte x86 command line inline', () => {
    const r = inlineDeployment(doc(32), {
      flavourParams: 'nfs_store=nfs.nancy.grid5000.fr:/export/nix/store',
    });
    expect(r).toBeDefined();
    expect(r!.length).toBeLessThan(KERNEL_CMDLINE_MAX);
  });

  it('too many nodes do not fit: the caller must serve the deployment over HTTP', () => {
    expect(inlineDeployment(doc(400))).toBeUndefined();
  });
});
