/**
 * The kernel command line a kexec'd node boots with: `deploy=<value> [deploy_sha256=<hex>]
 * console=tty0 console=ttyS0,115200 [flavour params] [-k extras]`. x86 kernels keep 2048 bytes of it, so
 * the deployment goes inline only when it fits; otherwise nodes fetch it over HTTP.
 */
import { DEPLOY_DIGEST_PARAM, type DeploymentDocument, encodeDeploymentForKernel } from '@nxc/core/flavour';

/** Bytes of kernel command line an x86 kernel keeps (COMMAND_LINE_SIZE, measured here). */
export const KERNEL_CMDLINE_MAX = 2048;

/** Consoles every g5k node logs to (screen and serial, as the original nxc). */
export const G5K_CONSOLES = 'console=tty0 console=ttyS0,115200';

/**
 * The full `--append` string. `deploySha256` (the digest of a document served over HTTP)
 * goes right after `deploy=`, so the user's `-k` parameters cannot push it out.
 */
export function kexecAppend(
  deployValue: string,
  extra: { flavourParams?: string; kernelParams?: string; deploySha256?: string } = {},
): string {
  return [
    `deploy=${deployValue}`,
    extra.deploySha256 ? `${DEPLOY_DIGEST_PARAM}=${extra.deploySha256}` : undefined,
    G5K_CONSOLES,
    extra.flavourParams,
    extra.kernelParams,
  ]
    .map((p) => p?.trim())
    .filter(Boolean)
    .join(' ');
}

/**
 * Inline deployment (core's compact `gz:` encoding) when the whole command line fits in
 * {@link KERNEL_CMDLINE_MAX} (minus the terminating NUL), else undefined: the caller serves
 * it over HTTP.
 */
export function inlineDeployment(
  doc: DeploymentDocument,
  extra: { flavourParams?: string; kernelParams?: string } = {},
): { append: string; length: number } | undefined {
  const rest = kexecAppend('', extra).slice('deploy= '.length);
  const encoded = encodeDeploymentForKernel(doc, { budget: KERNEL_CMDLINE_MAX - 1 - (rest.length + 1) });
  if (!encoded.fits) return undefined;
  const append = kexecAppend(encoded.value, extra);
  return { append, length: Buffer.byteLength(append) };
}
