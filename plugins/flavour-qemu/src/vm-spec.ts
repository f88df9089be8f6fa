/**
 * What one VM is, and the QEMU command line for it (pure: unit-tested without QEMU).
 *
 * Boot contract with the images (nix/modules/qemu-guest.nix): the FIRST NIC is user-mode
 * networking (10.0.2.15/24, gateway 10.0.2.2) with the node's SSH port forwarded from
 * 127.0.0.1; the LAST NIC is on the deployment's private segment (a stream socket to the
 * deployment's switch, see segment-switch.ts), its address given by `nxc.ip=ADDR/LEN`. The
 * kernel command line also carries `deploy=`, `nxc.flavour=` and `nxc.host=`. The `vm` kind
 * shares the host's /nix/store read-only over 9p (tag `nix-store`).
 *
 * Any user can read a process's command line (`ps`, /proc/PID/cmdline), so kernel, initrd and
 * kernel command line (it carries the deployment and its parameters) go into a QEMU config
 * file in the 0700 run folder (`-readconfig`, section `[machine]`), not on QEMU's argv.
 */
import { createHash } from 'node:crypto';
import { DEPLOY_DIGEST_PARAM } from '@nxc/core/flavour';
/** Everything needed to launch one node. */
export interface VmSpec {
  /** Deployment id + host: QEMU's `-name`, also how leftovers are found. */
  name: string;
  host: string;
  kernel: string;
  initrd: string;
  /** Full kernel command line. */
  append: string;
  /** QEMU config file holding kernel, initrd and (when it fits) the command line: see {@link vmConfig}. */
  config: string;
  accel: 'kvm' | 'tcg';
  memoryMb: number;
  cpus: number;
  /** Host port forwarded to the guest's port 22. */
  sshPort: number;
  /** Private segment: unix socket of the deployment's switch. */
  segment: string;
  /** Index of the node in the deployment (MAC addresses). */
  index: number;
  consoleLog: string;
  qmpSocket: string;
  pidFile: string;
  /** Share the host's /nix/store over 9p (image kind `vm`). */
  shareStore: boolean;
  /** Extra `guestfwd` rule serving the deployment document (see deployment-server.ts). */
  guestfwd?: string;
  /** Block devices (`nxc.disks`): raw files attached as virtio-blk with `serial=<id>`. */
  disks?: { id: string; file: string }[];
}

/** A value inside a QEMU option list (a comma is written twice). */
function esc(value: string): string {
  return value.replace(/,/g, ',,');
}

/**
 * Socket of a VM's serial console input, beside its QMP socket (`<host>.qmp` ->
 * `<host>.ser`, the same length: UNIX socket paths are short).
 */
export function serialSocketOf(qmpSocket: string): string {
  return qmpSocket.replace(/(\.qmp)?$/, '.ser');
}

/** MAC of NIC `nic` (0 user, 1 segment) of node `index`: locally administered, unique per node. */
export function macAddress(index: number, nic: number): string {
  const hi = (index >> 8) & 0xff;
  const lo = index & 0xff;
  return [
    '52',
    '54',
    '00',
    nic.toString(16).padStart(2, '0'),
    hi.toString(16).padStart(2, '0'),
    lo.toString(16).padStart(2, '0'),
  ].join(':');
}

/**
 * QEMU's config files keep at most 1023 bytes per value, without double quotes (measured on
 * QEMU 7.2: a longer value is read as a property name and QEMU refuses to start).
 */
export const QEMU_CONFIG_VALUE_MAX = 1023;

/** True when `value` can be written as a value of a QEMU config file. */
export function fitsQemuConfig(value: string): boolean {
  return Buffer.byteLength(value) <= QEMU_CONFIG_VALUE_MAX && !/["\n\r]/.test(value);
}

/**
 * The QEMU config file of a VM (`-readconfig`, written 0600 in the run folder): kernel, initrd
 * and the kernel command line. A command line that does not fit a config value stays on argv
 * ({@link qemuArgs}): the deploy side only lets that happen when it carries no secret (the
 * deployment is then served over HTTP and the line holds its URL and digest).
 */
export function vmConfig(spec: Pick<VmSpec, 'kernel' | 'initrd' | 'append'>): string {
  const lines = ['[machine]', `  kernel = "${spec.kernel}"`, `  initrd = "${spec.initrd}"`];
  if (fitsQemuConfig(spec.append)) lines.push(`  append = "${spec.append}"`);
  return `${lines.join('\n')}\n`;
}

/** QEMU arguments for a detached VM (`-daemonize`: QEMU returns once the VM runs). */
export function qemuArgs(spec: VmSpec): string[] {
  const user = [`user,id=n0,hostfwd=tcp:127.0.0.1:${spec.sshPort}-:22`];
  if (spec.guestfwd) user.push(`guestfwd=${spec.guestfwd}`);
  const args = [
    '-name',
    spec.name,
    '-readconfig',
    spec.config,
    ...(fitsQemuConfig(spec.append) ? [] : ['-append', spec.append]),
    '-machine',
    'pc',
    '-accel',
    spec.accel === 'tcg' ? 'tcg,tb-size=32' : 'kvm',
    '-cpu',
    spec.accel === 'kvm' ? 'host' : 'max',
    '-smp',
    String(spec.cpus),
    '-m',
    String(spec.memoryMb),
    '-display',
    'none',
    '-vga',
    'none',
    '-no-user-config',
    '-nodefaults',
    // the serial console: everything the guest prints goes to the console log (connected or
    // not), and what a client of the socket writes is the console's input (`send_console`)
    '-chardev',
    `socket,id=serial0,path=${esc(serialSocketOf(spec.qmpSocket))},server=on,wait=off,logfile=${esc(spec.consoleLog)}`,
    '-serial',
    'chardev:serial0',
    '-qmp',
    `unix:${spec.qmpSocket},server=on,wait=off`,
    '-netdev',
    user.join(','),
    '-device',
    `virtio-net-pci,netdev=n0,mac=${macAddress(spec.index, 0)}`,
    '-netdev',
    `stream,id=n1,server=off,addr.type=unix,addr.path=${spec.segment}`,
    '-device',
    `virtio-net-pci,netdev=n1,mac=${macAddress(spec.index, 1)}`,
    '-device',
    'virtio-rng-pci',
    '-pidfile',
    spec.pidFile,
    '-daemonize',
  ];
  for (const [i, d] of (spec.disks ?? []).entries()) {
    // the serial names the disk in the guest: /dev/disk/by-id/virtio-<id>
    args.push(
      '-drive',
      `file=${d.file.replace(/,/g, ',,')},if=none,id=disk${i},format=raw,cache=writeback,discard=unmap`,
      '-device',
      `virtio-blk-pci,drive=disk${i},serial=${d.id}`,
    );
  }
  if (spec.shareStore) {
    args.push('-virtfs', 'local,path=/nix/store,mount_tag=nix-store,security_model=none,readonly=on');
  }
  return args;
}

/** Stable id of a deployment (project + composition + flavour), used in VM names. */
export function deploymentId(projectRoot: string, composition: string, flavour: string): string {
  return createHash('sha256').update(`${projectRoot}\0${composition}\0${flavour}`).digest('hex').slice(0, 12);
}

/** Address of node `index` on the segment: `base` is the /24 prefix, nodes from .11. */
export function nodeAddress(index: number, base = '10.100.0'): string {
  if (index > 240) throw new RangeError('at most 240 VMs per deployment');
  return `${base}.${index + 11}`;
}

/** The kernel command line: image's own params, ours, then the user's `-k`. */
export function kernelCmdline(parts: {
  image?: string;
  deploy: string;
  flavour: string;
  host: string;
  address: string;
  prefix?: number;
  /** SHA-256 of the document when `deploy` is an URL (the boot script checks it). */
  deploySha256?: string;
  extra?: string;
}): string {
  return [
    'console=ttyS0,115200',
    'panic=-1',
    parts.image ?? '',
    `nxc.flavour=${parts.flavour}`,
    `nxc.host=${parts.host}`,
    `nxc.ip=${parts.address}/${parts.prefix ?? 24}`,
    `deploy=${parts.deploy}`,
    parts.deploySha256 ? `${DEPLOY_DIGEST_PARAM}=${parts.deploySha256}` : '',
    parts.extra ?? '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** Linux x86 command line limit, including the terminating NUL (measured: 2048). */
export const KERNEL_CMDLINE_MAX = 2047;
