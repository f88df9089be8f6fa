/**
 * POSIX shell snippets run ON the nodes by the machine API. They must work on NixOS
 * (bash, coreutils, systemd) and on the test OS (busybox sh, busybox init, no systemd,
 * a busybox `nc` without `-z`), so they use only POSIX sh, `grep -E`, `test`, `kill -0`.
 */
import { shellQuote } from '@nxc/core/flavour';

/** True when the node booted with systemd (same test as sd_booted(3)). */
export const HAS_SYSTEMD = 'test -d /run/systemd/system';

/** Unit name without the `.service` suffix. */
export function unitBaseName(unit: string): string {
  return unit.endsWith('.service') ? unit.slice(0, -'.service'.length) : unit;
}

/**
 * Prints the state of a unit on a node WITHOUT systemd, one of `active`, `failed`,
 * `inactive` (node ready but no sign of the service) or `activating` (node not ready yet).
 * Documented in the package README ("Nodes without systemd"); checked in this order:
 * 1. `*.target` units: active once the node is ready (`/run/nxc/ready`);
 * 2. `/run/nxc/units/<name>.failed` exists: failed;
 * 3. `/run/nxc/units/<name>` exists: active (the test OS role scripts touch it);
 * 4. `/run/<name>.pid` names a live process: active;
 * 5. a process called `<name>` runs (`pidof`): active.
 */
export function fallbackUnitStateScript(unit: string): string {
  const name = unitBaseName(unit);
  const q = shellQuote(name);
  if (unit.endsWith('.target')) {
    return 'if [ -e /run/nxc/ready ]; then echo active; else echo activating; fi';
  }
  return [
    `n=${q}`,
    'if [ -e "/run/nxc/units/$n.failed" ]; then echo failed',
    'elif [ -e "/run/nxc/units/$n" ]; then echo active',
    'elif [ -f "/run/$n.pid" ] && kill -0 "$(cat "/run/$n.pid")" 2>/dev/null; then echo active',
    'elif pidof "$n" >/dev/null 2>&1; then echo active',
    'elif [ -e /run/nxc/ready ]; then echo inactive',
    'else echo activating; fi',
  ].join('\n');
}

/** Port as the 4 upper-case hex digits used in /proc/net/tcp. */
export function procNetPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}

const LOCAL_ADDRS = new Set(['localhost', '127.0.0.1', '::1', '0.0.0.0', '']);

/**
 * Exits 0 when a TCP port is open on the node. For local addresses it looks for a
 * listening socket in /proc/net/tcp{,6} (state 0A): no tool needed, busybox's nc has no
 * `-z`. Other addresses: `nc -z`, else a bounded connection attempt with plain `nc`.
 */
export function portOpenScript(port: number, addr = 'localhost'): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`port ${port} is not a TCP port (1-65535)`);
  }
  if (LOCAL_ADDRS.has(addr)) {
    const hex = procNetPort(port);
    return `cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -qiE '^ *[0-9]+: [0-9A-F]+:${hex} [0-9A-F]+:[0-9A-F]+ 0A '`;
  }
  const a = shellQuote(addr);
  return [
    `if nc -h 2>&1 | grep -q -- ' -z'; then nc -z -w 2 ${a} ${port}`,
    `else timeout 3 sh -c 'nc -w 2 "$0" "$1" </dev/null >/dev/null 2>&1' ${a} ${port}; fi`,
  ].join('\n');
}

/**
 * Exits 0 when a process listens on the UNIX-domain socket `file` (links followed) on the node: a stream
 * socket in the listening state, or (datagram) a bound one. Reads /proc/net/unix (fields:
 * Num RefCount Protocol Flags Type St Inode Path; Flags 00010000 = listening; Type 0001
 * stream, 0002 datagram), so no `nc -U` is needed (busybox has none).
 */
export function unixSocketOpenScript(file: string, datagram = false): string {
  const want = datagram ? '$5 == "0002"' : '$5 == "0001" && $4 == "00010000"';
  const q = shellQuote(file);
  // the kernel lists the path a socket was bound at: follow links (/dev/log -> journald's)
  return [
    `f=$(readlink -f ${q} 2>/dev/null); [ -n "$f" ] || f=${q};`,
    `awk -v want="$f" '{ p = $0; for (i = 0; i < 7; i++) sub(/^[^ ]+ +/, "", p) }`,
    `p == want && ${want} { found = 1 } END { exit found ? 0 : 1 }' /proc/net/unix`,
  ].join(' ');
}

/** Exit code of {@link ttyTextScript} when the node has no such virtual terminal. */
export const NO_VCS_EXIT = 97;

/**
 * Prints the width of virtual terminal `tty` on the first line (`stty size`, 80 when it
 * cannot be read), then the raw text of its screen (`/dev/vcs<tty>`: rows without newlines).
 * Exits {@link NO_VCS_EXIT} when the node has no `/dev/vcs<tty>` (containers).
 */
export function ttyTextScript(tty: number): string {
  return [
    `[ -e /dev/vcs${tty} ] || { echo "no /dev/vcs${tty} on this node" >&2; exit ${NO_VCS_EXIT}; }`,
    `cols=$(stty -F /dev/tty${tty} size 2>/dev/null | awk '{ print $2 }')`,
    'case "$cols" in ""|*[!0-9]*|0) cols=80 ;; esac',
    'echo "$cols"',
    `cat /dev/vcs${tty}`,
  ].join('\n');
}
