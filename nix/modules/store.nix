# Where a node's root and Nix store come from, per image kind (real NixOS only).
#
#   disk     the configuration's own fileSystems (g5k-image: ext4 written by Kadeploy)
#   initramfs root on tmpfs; every role's closure is a squashfs image in the initrd itself
#            (/nix-store.squashfs, appended by the Nix library), loop-mounted read-only
#            under a tmpfs overlay (ramdisk kind, as NixOS's netboot)
#   9p       root on tmpfs; the host's /nix/store shared by QEMU (virtfs tag `nix-store`)
#            under a tmpfs overlay (vm kind)
#   nfs      root on tmpfs; the store exported over NFS, given at boot by `nfs_store=HOST:/path`
#            on the kernel command line, mounted read-only under a tmpfs overlay (remote-store)
#
# The overlay keeps the store writable (nix-shell, nix build on the node) without touching
# the shared lower store.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  cfg = config.nxc.store;
  inherit (lib) mkDefault mkIf mkMerge mkOption types;

  # `size`: tmpfs allows half of the RAM by default.
  tmpfsRoot = size: {
    fileSystems."/" = lib.mkImageMediaOverride {
      fsType = "tmpfs";
      options = [ "mode=0755" "size=${size}" ];
    };
    # No bootloader: kernel and initrd are handed to QEMU, kexec or Kadeploy directly.
    boot.loader.grub.enable = mkDefault false;
  };

  # Writable store: tmpfs upper layer over a read-only lower store at /nix/.ro-store.
  overlayStore = {
    fileSystems."/nix/.rw-store" = lib.mkImageMediaOverride {
      fsType = "tmpfs";
      options = [ "mode=0755" ];
      neededForBoot = true;
    };
    fileSystems."/nix/store" = lib.mkImageMediaOverride {
      fsType = "overlay";
      device = "overlay";
      options = [
        "lowerdir=/nix/.ro-store"
        "upperdir=/nix/.rw-store/store"
        "workdir=/nix/.rw-store/work"
      ];
      depends = [
        "/nix/.ro-store"
        "/nix/.rw-store/store"
        "/nix/.rw-store/work"
      ];
      neededForBoot = true;
    };
    boot.initrd.availableKernelModules = [ "overlay" ];
    boot.initrd.kernelModules = [ "overlay" ];
  };
in
{
  options.nxc.store = {
    kind = mkOption {
      type = types.enum [
        "disk"
        "initramfs"
        "9p"
        "nfs"
      ];
      default = "disk";
      description = "Where the root and the Nix store come from; set by flavour modules.";
    };
    ninePTag = mkOption {
      type = types.str;
      default = "nix-store";
      description = "QEMU virtfs mount tag of the host's /nix/store (kind `9p`).";
    };
    nfsOptions = mkOption {
      type = types.str;
      default = "ro,vers=3,nolock,soft,retry=10";
      description = "Mount options of the NFS store (kind `nfs`).";
    };
  };

  config = mkMerge [
    # The image (nix/lib/images/tarball.nix) carries its closure's registration: load it into
    # the node's Nix database once, at first boot, as NixOS's system tarballs do.
    (mkIf (cfg.kind == "disk" && config.nxc.stage1.enable && config.nix.enable) {
      boot.postBootCommands = ''
        if [ -f /nix-path-registration ]; then
          ${config.nix.package}/bin/nix-store --load-db < /nix-path-registration &&
            rm -f /nix-path-registration
        fi
      '';
    })

    (mkIf (cfg.kind == "initramfs") (mkMerge [
      (tmpfsRoot "50%")
      overlayStore
      {
        # The initrd's /nix-store.squashfs (nix/lib/images/ramdisk.nix), declared as NixOS's
        # netboot declares it: the device is relative to stage 1's working directory `/`, so
        # stage 1 takes it from the initramfs and not from the new root (an absolute path
        # would be read under $targetRoot).
        fileSystems."/nix/.ro-store" = lib.mkImageMediaOverride {
          fsType = "squashfs";
          device = "../nix-store.squashfs";
          options = [ "loop" ];
          neededForBoot = true;
        };
        boot.initrd.availableKernelModules = [ "squashfs" ];
        boot.initrd.kernelModules = [ "loop" ];
      }
      # The image carries its closure's registration at its root, as NixOS's netboot image:
      # load it so that `nix` on the node knows the store it runs from.
      (mkIf config.nix.enable {
        boot.postBootCommands = ''
          if [ -f /nix/store/nix-path-registration ]; then
            ${config.nix.package}/bin/nix-store --load-db < /nix/store/nix-path-registration
          fi
        '';
      })
    ]))

    (mkIf (cfg.kind == "9p") (mkMerge [
      (tmpfsRoot "50%")
      overlayStore
      {
        fileSystems."/nix/.ro-store" = lib.mkImageMediaOverride {
          device = cfg.ninePTag;
          fsType = "9p";
          options = [
            "trans=virtio"
            "version=9p2000.L"
            "msize=262144"
            "cache=loose"
          ];
          neededForBoot = true;
        };
        boot.initrd.availableKernelModules = [
          "9p"
          "9pnet_virtio"
          "virtio_pci"
        ];
        boot.initrd.kernelModules = [
          "9p"
          "9pnet_virtio"
        ];
      }
    ]))

    (mkIf (cfg.kind == "nfs") (mkMerge [
      (tmpfsRoot "50%")
      {
        boot.supportedFilesystems = [ "nfs" ];
        boot.initrd.supportedFilesystems = [ "nfs" ];
        boot.initrd.kernelModules = [
          "nfs"
          "nfsv3"
          "overlay"
        ];
        # DHCP in stage 1 for the NFS mount, kept for stage 2: flushing the addresses would cut
        # the store from under the running system.
        boot.initrd.network.enable = true;
        boot.initrd.network.flushBeforeStage2 = false;
        # Names in nfs_store= need the resolver in stage 1.
        boot.initrd.extraUtilsCommands = ''
          cp -pv ${pkgs.glibc}/lib/libnss_files.so.2 $out/lib
          cp -pv ${pkgs.glibc}/lib/libnss_dns.so.2 $out/lib
          cp -pv ${pkgs.glibc}/lib/libresolv.so.2 $out/lib
        '';
        # Before the role is chosen (stage1.nix, mkAfter): the role's init lives in this store.
        boot.initrd.postMountCommands = lib.mkBefore ''
          nfs_store=""
          for o in $(cat /proc/cmdline); do
            case "$o" in nfs_store=*) nfs_store="''${o#nfs_store=}" ;; esac
          done
          if [ -z "$nfs_store" ]; then
            echo "NXC_BOOT_ERROR no nfs_store=HOST:/path on the kernel command line" > /dev/console
            fail
          fi
          echo "nxc: mounting the Nix store $nfs_store"
          mkdir -p "$targetRoot/nix/.ro-store" "$targetRoot/nix/.rw-store" "$targetRoot/nix/store"
          mount -t tmpfs -o mode=0755 tmpfs "$targetRoot/nix/.rw-store"
          mkdir -p "$targetRoot/nix/.rw-store/store" "$targetRoot/nix/.rw-store/work"
          if ! mount -t nfs -o ${cfg.nfsOptions} "$nfs_store" "$targetRoot/nix/.ro-store"; then
            echo "NXC_BOOT_ERROR cannot mount the NFS store $nfs_store" > /dev/console
            fail
          fi
          mount -t overlay overlay \
            -o "lowerdir=$targetRoot/nix/.ro-store,upperdir=$targetRoot/nix/.rw-store/store,workdir=$targetRoot/nix/.rw-store/work" \
            "$targetRoot/nix/store"
        '';
        # The exported store belongs to the frontend user, and sudo refuses plugins not owned
        # by root: present sudo's files as root's (as the original nxc does).
        systemd.services.nxc-sudo-ownership = mkIf config.security.sudo.enable {
          description = "nxc: sudo files owned by root on an NFS store";
          wantedBy = [ "multi-user.target" ];
          before = [ "network.target" ];
          serviceConfig.Restart = "always";
          script = ''
            exec ${pkgs.bindfs}/bin/bindfs -f --force-user=root --force-group=root ${config.security.sudo.package} ${config.security.sudo.package}
          '';
        };
      }
    ]))
  ];
}
