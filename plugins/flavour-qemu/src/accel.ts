/**
 * Choosing the accelerator. /dev/kvm may exist and still not work (here it hangs, or fails
 * setting MSRs), so KVM is only used after a real guest ran under it: a 512-byte boot sector
 * that writes to QEMU's isa-debug-exit port. With a working KVM, QEMU exits with status 3 in
 * 0.1-0.3 s; a failure, or a guest that needs more than 2 s for seven instructions (what
 * this machine's broken KVM does before hanging in the kernel), means TCG.
 */
import { execFile } from 'node:child_process';
import {
  constants,
  accessSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { NxcError } from '@nxc/core/flavour';

/** The accelerator chosen, with why (shown by `nxc start` and saved in the state). */
export interface AccelChoice {
  accel: 'kvm' | 'tcg';
  reason: string;
}

/** `mov al,1; out 0xf4,al; hlt; jmp $-1`, then the boot signature. */
export function probeBootSector(): Buffer {
  const img = Buffer.alloc(64 * 1024);
  Buffer.from([0xb0, 0x01, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd]).copy(img, 0);
  img[510] = 0x55;
  img[511] = 0xaa;
  return img;
}

/**
 * Runs the probe guest under `accel`; resolves true when it reached the exit port within
 * `timeoutMs`.
 */
export function runProbe(
  qemu: string,
  accel: string,
  timeoutMs: number,
): Promise<{ ok: boolean; detail: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'nxc-accel-'));
  const img = join(dir, 'probe.img');
  writeFileSync(img, probeBootSector());
  const args = [
    '-machine',
    'pc',
    '-accel',
    accel,
    '-m',
    '16',
    '-display',
    'none',
    '-vga',
    'none',
    '-nodefaults',
    '-no-user-config',
    '-device',
    'isa-debug-exit,iobase=0xf4,iosize=0x04',
    '-drive',
    `file=${img},format=raw,if=ide`,
    '-no-reboot',
  ];
  return new Promise((resolve) => {
    execFile(qemu, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, _out, stderr) => {
      rmSync(dir, { recursive: true, force: true });
      const e = err as { code?: number | string; killed?: boolean; message?: string } | null;
      if (e?.killed) resolve({ ok: false, detail: `a ${accel} guest did not run within ${timeoutMs} ms` });
      else if (e && e.code === 3) resolve({ ok: true, detail: `${accel} ran a probe guest` });
      else
        resolve({
          ok: false,
          detail: `${accel} failed: ${(stderr || e?.message || 'exit 0').trim().split('\n').pop()}`,
        });
    });
  });
}

let cached: Promise<AccelChoice> | undefined;

/** Where the probe's verdict is kept between commands (one probe per day and QEMU/kernel). */
function cacheFile(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'nxc', 'accel.json');
}

function cacheKey(qemu: string): string {
  let mtime = 0;
  try {
    mtime = statSync(qemu).mtimeMs;
  } catch {
    /* unknown binary: key still differs by path */
  }
  return `${qemu}|${mtime}|${release()}`;
}

function readCache(key: string): AccelChoice | undefined {
  try {
    const c = JSON.parse(readFileSync(cacheFile(), 'utf8')) as {
      key?: string;
      at?: number;
      choice?: AccelChoice;
    };
    if (c.key === key && typeof c.at === 'number' && Date.now() - c.at < 86_400_000 && c.choice) {
      return { accel: c.choice.accel, reason: `${c.choice.reason} (probed ${new Date(c.at).toISOString()})` };
    }
  } catch {
    /* no cache */
  }
  return undefined;
}

function writeCache(key: string, choice: AccelChoice): void {
  try {
    mkdirSync(dirname(cacheFile()), { recursive: true });
    writeFileSync(cacheFile(), `${JSON.stringify({ key, at: Date.now(), choice })}\n`);
  } catch {
    /* read-only home: probe again next time */
  }
}

/**
 * The accelerator to use: `override` (`--accel kvm|tcg`) wins; else KVM when /dev/kvm is
 * usable and a probe guest runs under it, else TCG. The verdict is cached for the process and
 * for a day in `$XDG_CACHE_HOME/nxc/accel.json` (keyed by QEMU binary and host kernel), so
 * only the first `nxc start` pays the probe.
 */
export async function chooseAccel(qemu: string, override?: unknown, timeoutMs = 2000): Promise<AccelChoice> {
  if (override !== undefined && override !== null && override !== '' && override !== 'auto') {
    if (override !== 'kvm' && override !== 'tcg') {
      throw new NxcError('NXC_USAGE', `--accel ${String(override)}: unknown accelerator`, {
        hint: 'use --accel kvm, --accel tcg or --accel auto',
      });
    }
    return { accel: override, reason: 'chosen with --accel' };
  }
  cached ??= (async (): Promise<AccelChoice> => {
    try {
      accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    } catch {
      return { accel: 'tcg', reason: '/dev/kvm is not usable' };
    }
    const key = cacheKey(qemu);
    const known = readCache(key);
    if (known) return known;
    const probe = await runProbe(qemu, 'kvm', timeoutMs);
    const choice: AccelChoice = probe.ok
      ? { accel: 'kvm', reason: probe.detail }
      : { accel: 'tcg', reason: `KVM unusable (${probe.detail}), using TCG` };
    writeCache(key, choice);
    return choice;
  })();
  return cached;
}
