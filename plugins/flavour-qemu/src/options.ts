/**
 * The qemu flavours' options (config `flavourOptions["vm-ramdisk"]`, `-O`, `--accel`...) and
 * the `nxc start` flags that set them, declared once: core validates and parses them before
 * anything is created. Light on purpose: read by `nxc start --help`.
 */
import type { FlavourFlag } from '@nxc/core/flavour';
import { z } from '@nxc/core/flavour';

const perRole = z.union([z.number().int().positive(), z.record(z.string(), z.number().int().positive())]);

/** Options accepted by `vm-ramdisk` and `vm` (CLI and config merged by core). */
export const qemuOptionsSchema = z
  .object({
    /** `kvm`, `tcg` or `auto` (probe KVM, fall back to TCG). */
    accel: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
    /** Guest RAM in MiB: one number, or per role (`{ server: 1024, default: 512 }`). */
    memory: perRole.optional(),
    /** Virtual CPUs: one number or per role. */
    cpus: perRole.optional(),
    /** QEMU binary (default `qemu-system-x86_64` on PATH, or `$NXC_QEMU`). */
    qemu: z.string().optional(),
    /**
     * How long `stop` lets guests power down over QMP before quitting QEMU (ms). Default 0: a VM
     * keeps nothing (its root is in RAM, the store it shares is read-only, its run folder is
     * removed at stop), so nothing is lost by quitting at once. Set it for guests that must
     * shut down cleanly (a service that tells its peers it leaves, say).
     */
    stopTimeoutMs: z.number().int().nonnegative().default(0),
    /** Time allowed to the KVM probe guest (ms). */
    kvmProbeTimeoutMs: z.number().int().positive().default(2000),
    /** First three octets of the private segment's /24 (nodes get .11, .12, ...). */
    subnet: z
      .string()
      .regex(/^\d{1,3}\.\d{1,3}\.\d{1,3}$/)
      .default('10.100.0'),
    /**
     * Extra kernel parameters per node: keys are hostnames, role names or `default`
     * (appended after `-k`, so they win).
     */
    kernelParams: z.record(z.string(), z.string()).optional(),
    /** Budget of `deploy=` on the kernel command line; beyond it the document is served over HTTP. */
    kernelDeployBudget: z.number().int().positive().optional(),
  })
  .strict();

/** The qemu flavours' options, parsed. */
export type QemuOptions = z.infer<typeof qemuOptionsSchema>;

/** The `nxc start` flags of `vm-ramdisk` and `vm`. */
export const qemuFlags: FlavourFlag[] = [
  {
    flag: '--accel <accel>',
    option: 'accel',
    type: 'string',
    description: 'kvm, tcg or auto (default auto: KVM only if it really works)',
  },
  {
    flag: '--memory <MiB>',
    option: 'memory',
    type: 'number',
    description: 'guest RAM of every node, in MiB',
  },
  { flag: '--cpus <n>', option: 'cpus', type: 'number', description: 'virtual CPUs of every node' },
  {
    flag: '--qemu <path>',
    option: 'qemu',
    type: 'string',
    description: 'QEMU binary (default qemu-system-x86_64)',
  },
];

/** Value for `role` from a per-role option (`default` key, else the fallback). */
export function forRole(
  value: number | Record<string, number> | undefined,
  role: string,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return value;
  return value[role] ?? value.default ?? fallback;
}

/** Guest RAM (MiB) of a node the `memory` option does not size, for small images. */
export const DEFAULT_MEMORY_MB = 1024;

/**
 * Guest RAM (MiB) a `vm-ramdisk` node needs for an initrd of `initrdBytes`. The kernel keeps
 * the initrd it was given (reserved, outside the RAM it counts) while it unpacks it into the
 * initramfs, a tmpfs capped at half of the RAM it counts; the unpacked squashfs store is as
 * large as the initrd (it is already compressed). So half of (RAM - initrd) must hold the
 * initrd: RAM >= 3 x initrd, plus headroom for the kernel, the unpacked stage 1 and the running
 * system. Rounded up to 256 MiB. Measured with a 1048 MiB initrd (docs/nixos-fidelity.md).
 */
export function ramdiskMemoryMb(initrdBytes: number): number {
  const initrdMb = initrdBytes / (1024 * 1024);
  return Math.ceil((3 * initrdMb + RAMDISK_HEADROOM_MB) / 256) * 256;
}

/** Room for the kernel, the unpacked stage 1 and the running system beyond 3 x initrd. */
export const RAMDISK_HEADROOM_MB = 512;
