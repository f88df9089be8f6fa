/**
 * The Kadeploy 3 environment description of a g5k-image build: the YAML file given to
 * `kadeploy3 -a`. Field names, types and allowed values follow Kadeploy's environment parser
 * (`lib/kadeploy3/common/environment.rb`: visibility public|private|shared, os linux|xen|other,
 * image kind tar|dd|fsa, compression gzip|bzip2|xz, partition_type a number) plus `arch`,
 * which the Grid'5000 Kadeploy requires and the original nxc writes.
 */
import { createRequire } from 'node:module';
import { NxcError } from '@nxc/core/flavour';
import type { stringify as yamlStringify } from 'yaml';

/**
 * The yaml library, loaded when an environment description is first written (at `nxc start`):
 * `nxc status` and `nxc stop` of a g5k-image deployment need not pay the ~40 ms it takes to
 * load (issue #17).
 */
let stringify: typeof yamlStringify | undefined;
function loadStringify(): typeof yamlStringify {
  stringify ??= (createRequire(import.meta.url)('yaml') as typeof import('yaml')).stringify;
  return stringify;
}

/** Kadeploy architecture names of the Nix systems Grid'5000 has. */
export const KADEPLOY_ARCH: Readonly<Record<string, string>> = {
  'x86_64-linux': 'x86_64',
  'aarch64-linux': 'aarch64',
  'powerpc64le-linux': 'ppc64le',
};

/** A Kadeploy 3 environment description (the subset nxc writes). */
export interface KadeployEnvironment {
  name: string;
  version: number;
  description: string;
  author: string;
  visibility: 'public' | 'private' | 'shared';
  destructive: boolean;
  os: 'linux';
  arch: string;
  image: { file: string; kind: 'tar'; compression: 'xz' | 'gzip' | 'bzip2' };
  boot: { kernel: string; initrd: string; kernel_params: string };
  filesystem: 'ext4';
  partition_type: number;
  multipart: false;
}

/** Input of {@link kadeployEnvironment}. */
export interface EnvironmentInput {
  composition: string;
  /** The build's Nix system (`x86_64-linux`...). */
  system: string;
  /** Where Kadeploy reads the image: `local:///abs/path`, `http(s)://...` or `server://...`. */
  imageUrl: string;
  /** Full kernel command line of the deployed system (`deploy=...` included). */
  kernelParams: string;
  /** Author (the user). */
  author: string;
  /** Roles the image holds, for the description. */
  roles?: string[];
  /** Version number (default 1). */
  version?: number;
}

/** Path of the kernel and initrd inside the image (written by the tarball image kind). */
export const IMAGE_KERNEL = '/boot/kernel';
export const IMAGE_INITRD = '/boot/initrd';

/** Maps a Nix system to Kadeploy's `arch`; NxcError for a system Grid'5000 has no node of. */
export function kadeployArch(system: string): string {
  const arch = KADEPLOY_ARCH[system];
  if (!arch) {
    throw new NxcError(
      'NXC_COMPOSE_INFO',
      `the build's system ${system} has no Kadeploy architecture (known: ${Object.keys(KADEPLOY_ARCH).join(', ')})`,
      {
        hint: 'build for the nodes\' system, e.g. `nxc build -f g5k-image` with system = "x86_64-linux"',
      },
    );
  }
  return arch;
}

/** The environment description of a g5k-image deployment. */
export function kadeployEnvironment(input: EnvironmentInput): KadeployEnvironment {
  return {
    name: `nxc-${input.composition}`,
    version: input.version ?? 1,
    description: `NixOS composition ${input.composition} built by nxc (g5k-image)${input.roles?.length ? `, roles ${input.roles.join(', ')}` : ''}`,
    author: input.author,
    visibility: 'shared',
    destructive: false,
    os: 'linux',
    arch: kadeployArch(input.system),
    image: { file: input.imageUrl, kind: 'tar', compression: 'xz' },
    boot: { kernel: IMAGE_KERNEL, initrd: IMAGE_INITRD, kernel_params: input.kernelParams },
    filesystem: 'ext4',
    partition_type: 131,
    multipart: false,
  };
}

/** The YAML text of an environment description (Kadeploy's own field order). */
export function renderEnvironment(env: KadeployEnvironment): string {
  return `---\n${loadStringify()(env, { lineWidth: 0 })}`;
}
