# What every nxc node runs, whatever the flavour (real NixOS only).
#
# - `nxc-boot.service`, early in stage 2: applies the node's deployment entry to the running
#   system with the shared boot script (nix/boot/nxc-boot.sh --setup-only): hostname, every
#   deployment host in /etc/hosts, root's authorized_keys, /etc/nxc/node.json. NixOS's
#   activation rewrote /etc after the library's all-in-one `init=` ran the script; docker
#   starts the role's init directly, so this is the only run there.
# - `nxc-ready.service`, after multi-user.target: touches /run/nxc/ready and prints
#   `NXC_READY <host>` on PID 1's output (the container log for docker, the serial console for
#   VMs and bare metal), which is what flavours wait for.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  cfg = config.nxc;
  inherit (lib) mkDefault mkIf mkOption types;

  # nixpkgs renamed `nettools` to `net-tools`: the old name is only an alias (absent with
  # `allowAliases = false`), the new one is absent from older nixpkgs.
  netTools = pkgs.net-tools or pkgs.nettools;

  # Tools the boot script may call in stage 2 (POSIX sh + these), before the library's
  # `nxc.bootTools` (busybox) so that the system's own tools win.
  bootPath = [
    pkgs.coreutils
    pkgs.gnugrep
    pkgs.gnused
    pkgs.gawk
    pkgs.gzip
    pkgs.jq
    pkgs.iproute2
    netTools # hostname
    pkgs.wget
  ] ++ cfg.bootTools;

  # A shell function printing a line where flavours look for it: the serial console of VMs and
  # bare metal (/dev/console) and, in containers, PID 1's stdout (the container log stream).
  # Builtins only: every node runs it at boot, all at once on shared CPUs.
  say = ''
    say() {
      echo "$*"
      if [ -w /dev/console ]; then echo "$*" > /dev/console 2>/dev/null || true; fi
      if [ -e /proc/1/fd/1 ] && ! [ /proc/1/fd/1 -ef /dev/console ] && ! [ /proc/1/fd/1 -ef /dev/null ]; then
        echo "$*" > /proc/1/fd/1 2>/dev/null || true
      fi
    }
  '';

  # Runs the boot script in `--setup-only` mode on the running system. All-in-one images ran
  # it already as PID 1 (the library's `init=`), which saved the deployment in
  # /run/nxc/deployment.json (a fresh tmpfs moved from stage 1); docker mounts it at
  # /etc/nxc/deployment.json. Either way stage 2 never reads the kernel command line (a
  # container sees the host's) nor the network. Its NXC_* lines also go to the console.
  bootStage2 = pkgs.writeShellScript "nxc-boot-stage2" ''
    if [ -f /run/nxc/deployment.json ] && ! [ /run/nxc/deployment.json -ef /etc/nxc/deployment.json ] &&
      { ! [ -e /etc/nxc/deployment.json ] || [ -w /etc/nxc/deployment.json ]; }; then
      mkdir -p /etc/nxc
      cp /run/nxc/deployment.json /etc/nxc/deployment.json.tmp && mv /etc/nxc/deployment.json.tmp /etc/nxc/deployment.json
    fi
    ${say}
    out=$(NXC_CMDLINE=/dev/null ${pkgs.runtimeShell} ${cfg.bootScript} --setup-only 2>&1)
    rc=$?
    printf '%s\n' "$out"
    reported=
    while IFS= read -r l; do
      case $l in
        NXC_BOOT_ERROR*) reported=1; say "$l" >/dev/null ;;
        NXC_*) say "$l" >/dev/null ;;
      esac
    done <<EOF
    $out
    EOF
    if [ "$rc" -ne 0 ] && [ -z "$reported" ]; then
      say "NXC_BOOT_ERROR boot script failed with status $rc" >/dev/null
    fi
    exit "$rc"
  '';

  # node.json is one line written by the boot script (jq's compact JSON, "host" a plain name):
  # read by the shell, not by a jq started on every node at once.
  readyScript = pkgs.writeShellScript "nxc-ready" ''
    ${say}
    host=
    j=
    [ -r /etc/nxc/node.json ] && read -r j < /etc/nxc/node.json
    case $j in *'"host":"'*) host=''${j#*'"host":"'}; host=''${host%%'"'*} ;; esac
    [ -n "$host" ] || host=$(${netTools}/bin/hostname)
    [ -d /run/nxc ] || mkdir -p /run/nxc
    : > /run/nxc/ready
    say "NXC_READY $host"
  '';
in
{
  options.nxc = {
    ssh.enable = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Run an SSH server accepting root with the deployment's key. The flavours that reach
        nodes over SSH (qemu, Grid'5000) need it; docker reaches containers with `docker exec`.
      '';
    };

    ready.enable = mkOption {
      type = types.bool;
      default = true;
      description = "Signal readiness (/run/nxc/ready + `NXC_READY <host>`) after multi-user.target.";
    };

    boot.stage2.enable = mkOption {
      type = types.bool;
      default = true;
      description = "Apply the deployment (hostname, /etc/hosts, keys) early in stage 2.";
    };

    boot.environment = mkOption {
      type = types.attrsOf types.str;
      default = { };
      description = "Extra environment for the boot script in stage 2 (flavour-specific).";
    };
  };

  config = {
    # Nodes get their name from the deployment at boot, not from the configuration.
    networking.hostName = mkDefault "";
    # Nodes of one composition talk freely to each other, as in the original nxc.
    networking.firewall.enable = mkDefault false;

    # /etc/hosts must be a real file: the boot script appends the deployment's hosts to it.
    environment.etc.hosts.mode = mkDefault "0644";

    services.openssh = mkIf cfg.ssh.enable {
      enable = true;
      settings.PermitRootLogin = mkDefault "prohibit-password";
      settings.PasswordAuthentication = mkDefault false;
    };

    environment.systemPackages = [ pkgs.jq ];
    environment.etc."nxc/flavour" = mkIf ((cfg.flavour.name or "") != "") {
      text = cfg.flavour.name + "\n";
    };

    # Console access for debugging (serial console of VMs, G5K's console).
    services.getty.autologinUser = mkDefault "root";

    documentation.enable = mkDefault false;
    documentation.nixos.enable = mkDefault false;
    system.stateVersion = mkDefault lib.trivial.release;

    systemd.services.nxc-boot = mkIf cfg.boot.stage2.enable {
      description = "nxc: apply the deployment (hostname, hosts, keys)";
      unitConfig.DefaultDependencies = false;
      wantedBy = [ "sysinit.target" ];
      after = [
        "local-fs.target"
        "systemd-tmpfiles-setup.service"
      ];
      before = [
        "sysinit.target"
        "network-pre.target"
        "systemd-hostnamed.service"
        "sshd.service"
        "nxc-ready.service"
        "shutdown.target"
      ];
      wants = [ "network-pre.target" ];
      conflicts = [ "shutdown.target" ];
      path = bootPath;
      # The deployment must give this node the role this system was built for.
      environment = { NXC_EXPECT_ROLE = cfg.role; } // cfg.boot.environment;
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = "${bootStage2}";
      };
    };

    systemd.services.nxc-ready = mkIf cfg.ready.enable {
      description = "nxc: signal that the node is ready";
      wantedBy = [ "multi-user.target" ];
      after = [ "multi-user.target" ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = "${readyScript}";
        ExecStop = "${pkgs.coreutils}/bin/rm -f /run/nxc/ready";
      };
    };
  };
}
