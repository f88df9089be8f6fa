# The helpers compositions written for the original nxc use, so that they build unchanged:
#   nxc.users = { names = [ "user1" ]; prefixHome = "/users"; };   normal users, same uid on
#                                                                   every node (declaration order)
#   nxc.sharedDirs."/data".export = true;        this node shares /data
#   nxc.sharedDirs."/data".server = "storage";   this node mounts /data from host `storage`
#   nxc.postBootCommands = "...";                shell run at the end of stage 2's boot script
#   nxc.wait-online.enable = true;               network-online.target waits for a route
# Shared directories are NFS between machines, and the deployment's shared Docker volume
# (/var/nxc/shared, mounted by the docker flavour) between containers.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  cfg = config.nxc;
  inherit (lib) mkIf mkMerge mkOption types;
  inherit (builtins) attrNames filter listToAttrs;

  dirs = attrNames cfg.sharedDirs;
  exported = filter (d: cfg.sharedDirs.${d}.export) dirs;
  mounted = filter (d: cfg.sharedDirs.${d}.server != "") dirs;
  inContainer = config.boot.isContainer;

  # Stable, distinct fsid per exported directory: tmpfs roots have no UUID NFS could use.
  fsids = listToAttrs (lib.imap1 (i: d: { name = d; value = toString i; }) exported);
  fsid = d: fsids.${d};
in
{
  options.nxc = {
    users = {
      names = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "user1" "user2" ];
        description = "Normal users to create on the node (same uids on every node).";
      };
      prefixHome = mkOption {
        type = types.str;
        default = "/home";
        example = "/users";
        description = "Directory holding the users' homes (share it with nxc.sharedDirs).";
      };
    };

    sharedDirs = mkOption {
      default = { };
      example = {
        "/users".export = true;
      };
      description = "Directories shared between nodes (NFS; the shared volume under docker).";
      type = types.attrsOf (
        types.submodule {
          options = {
            export = mkOption {
              type = types.bool;
              default = false;
              description = "This node shares the directory.";
            };
            server = mkOption {
              type = types.str;
              default = "";
              description = "Hostname of the node this node mounts the directory from.";
            };
          };
        }
      );
    };

    postBootCommands = mkOption {
      type = types.lines;
      default = "";
      description = "Shell commands run at the end of stage 2's boot script, before systemd starts.";
    };

    wait-online.enable = mkOption {
      type = types.bool;
      default = false;
      description = "Make network-online.target wait until the node has a route.";
    };
  };

  config = mkMerge [
    (mkIf (cfg.users.names != [ ]) {
      users.users = listToAttrs (
        lib.imap0 (i: n: {
          name = n;
          value = {
            isNormalUser = true;
            uid = lib.mkDefault (2000 + i);
            home = "${cfg.users.prefixHome}/${n}";
            group = "users";
          };
        }) cfg.users.names
      );
      systemd.tmpfiles.rules = [ "d ${cfg.users.prefixHome} 0755 root root -" ];
    })

    (mkIf (cfg.postBootCommands != "") { boot.postBootCommands = cfg.postBootCommands; })

    (mkIf cfg.wait-online.enable {
      systemd.services.nxc-network-wait-online = {
        description = "nxc: wait until the network has a route";
        after = [ "network.target" ];
        before = [ "network-online.target" ];
        wantedBy = [
          "multi-user.target"
          "network-online.target"
        ];
        serviceConfig.Type = "oneshot";
        script = ''
          until ${pkgs.iproute2}/bin/ip route get 1.0.0.0 >/dev/null 2>&1; do sleep 0.2; done
        '';
      };
    })

    # Machines: NFS.
    (mkIf (!inContainer && exported != [ ]) {
      services.nfs.server.enable = true;
      services.nfs.server.exports = lib.concatMapStrings (
        d: "${d} *(rw,sync,no_subtree_check,no_root_squash,fsid=${fsid d})\n"
      ) exported;
      systemd.tmpfiles.rules = map (d: "d ${d} 0755 root root -") exported;
    })
    (mkIf (!inContainer && mounted != [ ]) {
      boot.supportedFilesystems = [ "nfs" ];
      fileSystems = listToAttrs (
        map (d: {
          name = d;
          value = {
            device = "${cfg.sharedDirs.${d}.server}:${d}";
            fsType = "nfs";
            # mounted on first access: the server may boot after this node
            options = [
              "noauto"
              "x-systemd.automount"
              "x-systemd.mount-timeout=60"
              "_netdev"
            ];
          };
        }) mounted
      );
    })

    # Containers: bind mounts of the deployment's shared volume.
    (mkIf (inContainer && dirs != [ ]) {
      systemd.services.nxc-shared-dirs = {
        description = "nxc: shared directories on the deployment's volume";
        wantedBy = [ "multi-user.target" ];
        after = [ "local-fs.target" ];
        before = [ "nxc-ready.service" ];
        path = [ pkgs.util-linux pkgs.coreutils ];
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
        };
        script = lib.concatMapStrings (d: ''
          mkdir -p /var/nxc/shared${d} ${d}
          mountpoint -q ${d} || mount --bind /var/nxc/shared${d} ${d}
        '') (exported ++ mounted);
      };
    })
  ];
}
