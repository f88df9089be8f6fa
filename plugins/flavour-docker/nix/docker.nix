# Flavour `docker` (image kind `docker`, one system per role): a role's NixOS system runs as a
# container whose command is the role's `init` (systemd as PID 1), with the host's /nix/store
# mounted read-only and the deployment mounted at /etc/nxc/deployment.json. No kernel, no
# initrd, no stage 1: Docker provides /proc, /sys, /dev, /run, the address, the hostname,
# /etc/hosts and /etc/resolv.conf; nxc-boot.service (nix/modules/node.nix) appends the
# deployment's hosts and prints NXC_READY on the container log once multi-user.target is up.
#
# Needs the shared nxc modules (nix/modules), which the Nix library adds to every role.
{
  config,
  lib,
  ...
}:

let
  inherit (lib) mkDefault mkForce mkOption mkOverride types;
in
{
  options.nxc.docker.systemd = mkOption {
    type = types.bool;
    default = true;
    readOnly = true;
    description = ''
      The containers' init is systemd. The Nix library copies this into the compose info
      (`extra.docker.systemd`) so that the docker flavour runs the containers as systemd needs
      (CAP_SYS_ADMIN, the host's cgroup tree, SIGRTMIN+3 to stop).
    '';
  };

  config = {
    # `docker exec` reaches the containers: no SSH server to start.
    nxc.ssh.enable = mkDefault false;

    boot.isContainer = true;
    # Docker mounts /proc, /sys, /dev, /dev/shm and /run itself.
    boot.specialFileSystems = mkForce { };

    # Docker bind-mounts /etc/hosts, /etc/hostname and /etc/resolv.conf: NixOS must not
    # replace them (the boot script appends the deployment's hosts to Docker's /etc/hosts).
    environment.etc.hosts.enable = false;
    networking.useHostResolvConf = mkDefault true;

    # Docker gives the container its address. Priority 900: stronger than the `mkDefault true`
    # of a hardware-configuration.nix a role may import, weaker than a role's own definition.
    networking.useDHCP = mkOverride 900 false;
    networking.dhcpcd.enable = mkDefault false;

    # No console in a container without a TTY, no logins, no local Nix database.
    systemd.services.console-getty.enable = false;
    systemd.services.systemd-logind.enable = mkDefault false;
    systemd.sockets.nix-daemon.enable = mkDefault false;
    systemd.services.nix-daemon.enable = mkDefault false;
  };
}
