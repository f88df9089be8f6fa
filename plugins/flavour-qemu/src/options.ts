/** The qemu flavours' options (`--accel`, config `flavourOptions.vm-ramdisk`...), validated. */
import { NxcError } from '@nxc/core/flavour';
import { z } from 'zod';

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
    /** How long `stop` lets guests power down over QMP before killing them (ms). */
    stopTimeoutMs: z.number().int().nonnegative().default(3000),
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
  .passthrough();

export type QemuOptions = z.infer<typeof qemuOptionsSchema>;

/** Parses options; unknown keys are kept (other layers may use them). */
export function parseQemuOptions(flavour: string, raw: Record<string, unknown>): QemuOptions {
  const r = qemuOptionsSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new NxcError(
      'NXC_USAGE',
      `flavour ${flavour}: option ${issue.path.join('.') || '(root)'}: ${issue.message}`,
      {
        hint: `see \`nxc start --help\`; in the config, flavourOptions["${flavour}"]`,
      },
    );
  }
  return r.data;
}

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
