/**
 * The environment description checked against Kadeploy 3's documented format. Sources:
 * - Kadeploy 3's environment parser, https://github.com/madynes/kadeploy
 *   `lib/kadeploy3/common/environment.rb` (Environment#load_from_desc): required `name` (String),
 *   `os` in linux|xen|other, `image.file` (String), `image.kind` in tar|dd|fsa,
 *   `image.compression` in gzip|bzip2|xz for tar; optional `version` (integer, default 1),
 *   `description`/`author` (String), `visibility` in public|private|shared, `destructive`
 *   (boolean), `boot.kernel`/`boot.initrd` (paths inside the image), `boot.kernel_params`
 *   (String), `filesystem` (String), `partition_type` (integer; written as hex for fdisk, 131 =
 *   0x83 Linux), `multipart` (boolean); YAML_SORT gives the field order;
 * - the Grid'5000 Kadeploy adds `arch` (x86_64, aarch64, ppc64le), as the original nxc writes it
 *   (nixos_compose/flavours/grid5000.py, KADEPOY_ENV_DESC / KADEPOY_ARCH);
 * - Grid'5000 environment example `wheezy-min` in the Kadeploy sources (`image.file:
 *   server:///...tgz`, `kind: tar`, `compression: gzip`, `filesystem: ext4`, `partition_type: 131`).
 */
import {
  type DeploymentDocument,
  decodeDeploymentParam,
  encodeDeploymentForKernel,
  isNxcError,
} from '@nxc/core/flavour';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KADEPLOY_ARCH, kadeployArch, kadeployEnvironment, renderEnvironment } from './environment.js';

/** Kadeploy's checks (environment.rb), restated: returns the first violation or undefined. */
function kadeployCheck(desc: Record<string, unknown>): string | undefined {
  const str = (v: unknown): boolean => typeof v === 'string';
  const image = desc.image as Record<string, unknown> | undefined;
  const boot = (desc.boot ?? {}) as Record<string, unknown>;
  if (!str(desc.name)) return 'name';
  if (desc.version !== undefined && !Number.isInteger(desc.version)) return 'version';
  for (const k of ['description', 'author', 'filesystem'])
    if (desc[k] !== undefined && !str(desc[k])) return k;
  if (desc.visibility !== undefined && !['public', 'private', 'shared'].includes(desc.visibility as string))
    return 'visibility';
  if (desc.destructive !== undefined && typeof desc.destructive !== 'boolean') return 'destructive';
  if (!['linux', 'xen', 'other'].includes(desc.os as string)) return 'os';
  if (!image || !str(image.file)) return 'image.file';
  if (!['tar', 'dd', 'fsa'].includes(image.kind as string)) return 'image.kind';
  if (image.kind !== 'fsa' && !['gzip', 'bzip2', 'xz'].includes(image.compression as string))
    return 'image.compression';
  for (const k of ['kernel', 'initrd', 'kernel_params'])
    if (boot[k] !== undefined && !str(boot[k])) return `boot.${k}`;
  if (desc.partition_type !== undefined && !Number.isInteger(desc.partition_type)) return 'partition_type';
  if (desc.multipart !== undefined && typeof desc.multipart !== 'boolean') return 'multipart';
  if (desc.arch !== undefined && !Object.values(KADEPLOY_ARCH).includes(desc.arch as string)) return 'arch';
  return undefined;
}

const doc = {
  deployment: {
    '10.77.0.11': { role: 'server', host: 'server' },
    '10.77.0.12': { role: 'client', host: 'client' },
  },
  'ssh_key.pub': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB nxc',
  composition: 'composition',
  flavour: 'g5k-image',
} as unknown as DeploymentDocument;
const params = `deploy=${encodeDeploymentForKernel(doc).value} console=tty0 console=ttyS0,115200 init=/nix/store/x-nxc-init`;

describe('Kadeploy environment description', () => {
  const env = kadeployEnvironment({
    composition: 'composition',
    system: 'x86_64-linux',
    imageUrl: 'local:///nix/store/abc-nxc-image-composition/nixos-image.tar.xz',
    kernelParams: params,
    author: 'alice',
    roles: ['server', 'client'],
  });
  const text = renderEnvironment(env);
  const parsed = parse(text) as Record<string, unknown>;

  it('is valid for Kadeploy 3 (fields, types, allowed values)', () => {
    expect(kadeployCheck(parsed)).toBeUndefined();
    // the checker itself rejects what Kadeploy rejects
    expect(kadeployCheck({ ...parsed, partition_type: '131' })).toBe('partition_type');
    expect(kadeployCheck({ ...parsed, image: { file: 'x', kind: 'tar', compression: 'zstd' } })).toBe(
      'image.compression',
    );
    expect(kadeployCheck({ ...parsed, destructive: 'no' })).toBe('destructive');
  });

  it('describes the g5k-image tarball: tar + xz, ext4, Linux partition, single part, kernel and initrd of the image', () => {
    expect(parsed).toEqual({
      name: 'nxc-composition',
      version: 1,
      description: 'NixOS composition composition built by nxc (g5k-image), roles server, client',
      author: 'alice',
      visibility: 'shared',
      destructive: false,
      os: 'linux',
      arch: 'x86_64',
      image: {
        file: 'local:///nix/store/abc-nxc-image-composition/nixos-image.tar.xz',
        kind: 'tar',
        compression: 'xz',
      },
      boot: { kernel: '/boot/kernel', initrd: '/boot/initrd', kernel_params: params },
      filesystem: 'ext4',
      partition_type: 131,
      multipart: false,
    });
    // Kadeploy's field order, a YAML document
    expect(text.startsWith('---\nname: nxc-composition\nversion: 1\n')).toBe(true);
    expect(Object.keys(parsed)).toEqual([
      'name',
      'version',
      'description',
      'author',
      'visibility',
      'destructive',
      'os',
      'arch',
      'image',
      'boot',
      'filesystem',
      'partition_type',
      'multipart',
    ]);
  });

  it('keeps kernel_params on one line, intact (deploy= decodes back)', () => {
    expect(text).toContain(`kernel_params: ${params}\n`);
    const deploy = String((parsed.boot as Record<string, string>).kernel_params)
      .split(' ')[0]!
      .slice('deploy='.length);
    expect(decodeDeploymentParam(deploy).deployment).toEqual(doc.deployment);
  });

  it('maps Nix systems to Kadeploy architectures; an unknown one is one clear error', () => {
    expect(kadeployArch('aarch64-linux')).toBe('aarch64');
    expect(kadeployArch('powerpc64le-linux')).toBe('ppc64le');
    let error: unknown;
    try {
      kadeployArch('riscv64-linux');
    } catch (e) {
      error = e;
    }
    expect(isNxcError(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /^the build's system riscv64-linux has no Kadeploy architecture/,
    );
    expect((error as Error).message).not.toContain('\n');
  });
});
