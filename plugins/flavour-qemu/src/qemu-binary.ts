/** Finding the QEMU binary (cheap: no process is started). */
import { constants, accessSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Binary name or path: option `qemu`, else `$NXC_QEMU`, else `qemu-system-x86_64` on PATH. */
export function qemuBinary(option?: unknown): string | undefined {
  const wanted = (typeof option === 'string' && option) || process.env.NXC_QEMU || 'qemu-system-x86_64';
  if (wanted.includes('/')) return isExecutable(wanted) ? wanted : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, wanted))) return join(dir, wanted);
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
