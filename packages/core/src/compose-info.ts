/**
 * Compose info: the JSON the build writes (build/<composition>::<flavour>), normalized.
 * Read both our format and the original nxc's (docker: roles as a list +
 * `docker-compose-file`; all-in-one flavours: `compositions_info` + `all`).
 */

/** One role as built. */
export interface RoleBuild {
  /** Store path of the role's init (what a node of this role execs / switches to). */
  init: string;
  /** Store path of the role's system (toplevel) when known. */
  toplevel?: string;
}

/** Normalized compose info for ONE composition x flavour. */
export interface ComposeInfo {
  /** Absolute path of the file it was read from. */
  source: string;
  /** Which dialect the file was written in. */
  format: 'nxc' | 'nxc-python-docker' | 'nxc-python-all-in-one';
  composition: string;
  flavour: {
    name: string;
    /** Image kind (docker, ramdisk, vm, remote-store, tarball) when the file says it. */
    image?: string;
    description?: string;
  };
  /** Nix system, e.g. x86_64-linux. */
  system?: string;
  roles: Record<string, RoleBuild>;
  /** The composition's `rolesDistribution` (raw, validated later as a distribution). */
  rolesDistribution?: Record<string, unknown>;
  /** Store path of the test script file, if the composition has one. */
  testScript?: string;
  /**
   * Shared artifacts: `kernel`, `initrd`, `image`, `qemu_script`, `docker_image`,
   * `docker-compose-file`, `cmdline`, ... (store paths or strings).
   */
  all: Record<string, string>;
  /** Flavour-specific build data (docker: `extraVolumes`, `dockerPorts`). */
  extra: Record<string, unknown>;
}
