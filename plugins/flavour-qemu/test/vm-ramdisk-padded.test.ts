/**
 * vm-ramdisk with a store of realistic size: the demo's server role carries 1 GiB of random
 * bytes made by Nix (incompressible, so the squashfs store in the initrd is over 1 GiB). It
 * boots through the real `nxc` binary (QEMU, TCG) with no `memory` option: the flavour sizes
 * the guest memory from the initrd and says so, and the node reads the padding back from
 * its squashfs store. The padding is an ordinary derivation: built once, then Nix's cache.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoCopy, removeDir, runNxc } from './cli.js';

const PADDING_BYTES = 1024 * 1024 * 1024;

// The demo's server alone, with the padding in its closure (/etc/nxc-padding).
const composition = `{ pkgs, ... }:
let
  webroot = pkgs.writeTextFile {
    name = "demo-webroot";
    destination = "/index.html";
    text = "hello from the nxc demo server\\n";
  };
  padding = pkgs.runCommand "nxc-test-padding-1g" { } ''
    head -c ${PADDING_BYTES} /dev/urandom > $out
  '';
in
{
  roles.server = { pkgs, ... }: {
    environment.systemPackages = [ pkgs.busybox ];
    environment.etc."nxc-padding".source = padding;
    systemd.services.httpd = {
      wantedBy = [ "multi-user.target" ];
      script = "exec \${pkgs.busybox}/bin/httpd -f -p 80 -h \${webroot}";
    };
  };
}
`;

function tailSha256(file: string, bytes: number): string {
  const size = statSync(file).size;
  const buf = Buffer.alloc(bytes);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, bytes, size - bytes);
  } finally {
    closeSync(fd);
  }
  return createHash('sha256').update(buf).digest('hex');
}

describe('vm-ramdisk with a padded store (1 GiB incompressible)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await demoCopy({ 'vm-ramdisk': { accel: 'tcg' } });
    writeFileSync(join(dir, 'composition.nix'), composition);
  });
  afterAll(async () => {
    if (!dir) return;
    await runNxc(dir, ['stop', '-f', 'vm-ramdisk']);
    await removeDir(dir);
  });

  it('boots at the memory the flavour sizes from the initrd, and reads the padding from its store', async () => {
    const build = await runNxc(dir, ['build', '-f', 'vm-ramdisk'], 900_000);
    expect(build.code, build.stderr).toBe(0);
    const info = JSON.parse(readFileSync(join(dir, 'build/composition::vm-ramdisk'), 'utf8')) as {
      all: { initrd: string };
      roles: { server: { toplevel: string } };
    };
    const initrdBytes = statSync(info.all.initrd).size;
    expect(initrdBytes).toBeGreaterThan(PADDING_BYTES);
    const padding = execFileSync('readlink', ['-f', `${info.roles.server.toplevel}/etc/nxc-padding`], {
      encoding: 'utf8',
    }).trim();
    // really incompressible: the image is not smaller than what it carries
    expect(statSync(padding).size).toBe(PADDING_BYTES);

    const start = await runNxc(dir, ['start', '-f', 'vm-ramdisk']);
    expect(start.code, start.stderr + start.stdout).toBe(0);
    const said = `${start.stdout}\n${start.stderr}`.match(
      /guest memory (\d+) MiB for an initrd of (\d+) MiB/,
    );
    expect(said, start.stdout + start.stderr).not.toBeNull();
    const memoryMb = Number(said![1]);
    expect(memoryMb).toBeGreaterThan(1024);

    const state = JSON.parse(
      readFileSync(join(dir, 'deploy/composition::vm-ramdisk.state.json'), 'utf8'),
    ) as { nodes: { argv: string[] }[] };
    const argv = state.nodes[0]!.argv;
    expect(argv[argv.indexOf('-m') + 1]).toBe(String(memoryMb));

    const check = await runNxc(dir, [
      'exec',
      '-f',
      'vm-ramdisk',
      'server',
      '--',
      'sh',
      '-c',
      'awk \'$2 == "/nix/.ro-store" || $2 == "/nix/store" { print $2, $3 }\' /proc/mounts; wc -c < /etc/nxc-padding; tail -c 1048576 /etc/nxc-padding | sha256sum',
    ]);
    expect(check.code, check.stderr).toBe(0);
    // (stage 2 bind-mounts /nix/store on itself read-only, as NixOS's: a second entry)
    const lines = [
      ...new Set(
        check.stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => l.replace(/^server \| /, '').trim()),
      ),
    ];
    expect(lines).toEqual([
      '/nix/.ro-store squashfs',
      '/nix/store overlay',
      String(PADDING_BYTES),
      `${tailSha256(padding, 1048576)}  -`,
    ]);

    const stop = await runNxc(dir, ['stop', '-f', 'vm-ramdisk']);
    expect(stop.code, stop.stderr).toBe(0);
  });
});
