/**
 * A stand-in for `nxc build -f docker` used while the real demo build is not available:
 * a busybox root filesystem tarball and one small init script per role, added to the REAL
 * /nix/store with `nix-store --add` (so the store bind mount and image tagging behave as
 * with a Nix build). The inits implement the boot contract minimally: find the own entry
 * in /etc/nxc/deployment.json by hostname, start the role's service, touch
 * /run/nxc/ready and print `NXC_READY <host>`.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** @param {string} path */
function addToStore(path) {
  return execFileSync('nix-store', ['--add', path], { encoding: 'utf8' }).trim();
}

const PRELUDE = `#!/bin/sh
host=$(hostname)
grep -q "\\"host\\": *\\"$host\\"" /etc/nxc/deployment.json || { echo "NXC_BOOT_ERROR no entry for $host in /etc/nxc/deployment.json"; exit 3; }
mkdir -p /run/nxc
`;
const READY = `touch /run/nxc/ready
echo "NXC_READY $host"
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
`;

/** Role inits of the fake build, by role name. */
/** @type {Record<string, string>} */
export const FAKE_INITS = {
  server: `${PRELUDE}mkdir -p /var/www
echo "hello from $host" > /var/www/index.html
httpd -p 80 -h /var/www
${READY}`,
  client: `${PRELUDE}${READY}`,
  /** Dies during boot, after printing a few lines. */
  crasher: `${PRELUDE}echo "crasher: loading configuration"
echo "crasher: fatal: cannot open /etc/crasher.conf" >&2
sleep 1
exit 42
`,
  /** Never becomes ready (for abort and timeout tests). */
  sleeper: `${PRELUDE}echo "sleeper: waiting forever"
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
`,
};

/**
 * Builds the fake compose info into `dir`; returns it.
 * @param {string} dir
 * @returns {import('@nxc/core').ComposeInfo}
 */
export function fakeBuild(dir) {
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'run', 'root', 'var', 'nix/store'])
    mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\n');
  // Fixed mtimes and owner make the tarball (hence its store path and image tag) reproducible.
  const tarball = join(dir, 'nxc-fake-rootfs.tar');
  execFileSync('tar', [
    '--sort=name',
    '--mtime=@1',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '-C',
    rootfs,
    '-cf',
    tarball,
    ...readdirSync(rootfs),
  ]);
  /** @type {Record<string, {init: string}>} */
  const roles = {};
  for (const [role, text] of Object.entries(FAKE_INITS)) {
    const file = join(dir, `nxc-fake-${role}-init`);
    writeFileSync(file, text, { mode: 0o755 });
    roles[role] = { init: addToStore(file) };
  }
  return {
    source: join(dir, 'compose-info.json'),
    format: /** @type {const} */ ('nxc'),
    composition: 'composition',
    flavour: { name: 'docker', image: 'docker' },
    system: 'x86_64-linux',
    roles,
    all: { docker_image: addToStore(tarball) },
    extra: { docker: { extraVolumes: [], dockerPorts: {} } },
  };
}
