# A small distributed file system: GlusterFS storage nodes, each with one disk of its own
# (`nxc.disks`), forming one volume replicated on every storage node, and clients mounting it
# on /dfs. Nodes find each other by hostname (nxc writes every node of the deployment into
# /etc/hosts and the whole deployment into /etc/nxc/deployment.json at boot).
#
# The disk is /dev/disk/by-nxc/brick on every flavour that gives nodes disks (vm-ramdisk, vm,
# g5k-ramdisk, g5k-nfs-store: see docs/disks.md); on Grid'5000, reserve the machines with their
# disks: oarsub -t deploy -l "{type='default' or type='disk'}/host=4" ...
{ pkgs, ... }:
let
  brick = "/dev/disk/by-nxc/brick";
  # The storage nodes' hostnames, from the deployment (storage1, storage2, ...).
  storageHosts = ''
    ${pkgs.jq}/bin/jq -r '[.deployment[] | select(.role == "storage") | .host] | sort | .[]' /etc/nxc/deployment.json
  '';
in
{
  roles = {
    storage =
      { pkgs, ... }:
      {
        nxc.disks = [
          {
            id = "brick";
            size = "4G";
          }
        ];
        services.glusterfs.enable = true;
        environment.systemPackages = [ pkgs.glusterfs ];
        # glusterd (24007), bricks (49152 and up); nodes of a composition talk freely
        networking.firewall.enable = false;

        # The disk: an XFS file system made at the first start (the disk is empty at each start),
        # mounted on /data/brick.
        systemd.services.dfs-brick = {
          description = "dfs: the brick's file system on the node's disk";
          wantedBy = [ "multi-user.target" ];
          before = [ "glusterd.service" ];
          path = [
            pkgs.util-linux
            pkgs.xfsprogs
            pkgs.coreutils
          ];
          serviceConfig = {
            Type = "oneshot";
            RemainAfterExit = true;
          };
          script = ''
            for i in $(seq 1 60); do [ -b ${brick} ] && break; sleep 1; done
            [ -b ${brick} ] || { echo "dfs: no disk ${brick}"; exit 1; }
            blkid ${brick} >/dev/null || mkfs.xfs -q ${brick}
            mkdir -p /data/brick
            mountpoint -q /data/brick || mount ${brick} /data/brick
            mkdir -p /data/brick/dfs
          '';
        };

        # The volume, made once by the first storage node when every storage node is a peer.
        systemd.services.dfs-volume = {
          description = "dfs: the replicated volume `dfs`";
          wantedBy = [ "multi-user.target" ];
          after = [
            "glusterd.service"
            "dfs-brick.service"
            "network-online.target"
          ];
          requires = [
            "glusterd.service"
            "dfs-brick.service"
          ];
          wants = [ "network-online.target" ];
          path = [
            pkgs.glusterfs
            pkgs.coreutils
            pkgs.gnugrep
          ];
          serviceConfig = {
            Type = "oneshot";
            RemainAfterExit = true;
          };
          script = ''
            hosts=$(${storageHosts})
            first=$(echo "$hosts" | head -n 1)
            [ "$(cat /proc/sys/kernel/hostname)" = "$first" ] || exit 0
            n=$(echo "$hosts" | wc -l)
            for h in $hosts; do
              until gluster --mode=script peer probe "$h"; do sleep 2; done
            done
            until [ "$(gluster pool list | grep -c Connected)" -ge "$n" ]; do sleep 2; done
            if ! gluster volume info dfs >/dev/null 2>&1; then
              bricks=$(for h in $hosts; do printf '%s:/data/brick/dfs ' "$h"; done)
              if [ "$n" -gt 1 ]; then
                gluster --mode=script volume create dfs replica "$n" $bricks force
              else
                gluster --mode=script volume create dfs $bricks force
              fi
            fi
            gluster volume info dfs | grep -q '^Status: Started' || gluster --mode=script volume start dfs
          '';
        };
      };

    client =
      { pkgs, ... }:
      {
        environment.systemPackages = [ pkgs.glusterfs ];
        networking.firewall.enable = false;
        # Mounts the volume on /dfs once the first storage node serves it.
        systemd.services.dfs-mount = {
          description = "dfs: mount the volume on /dfs";
          wantedBy = [ "multi-user.target" ];
          after = [ "network-online.target" ];
          wants = [ "network-online.target" ];
          path = [
            pkgs.glusterfs
            pkgs.util-linux
            pkgs.coreutils
          ];
          serviceConfig = {
            Type = "oneshot";
            RemainAfterExit = true;
          };
          script = ''
            first=$(${storageHosts} | head -n 1)
            mkdir -p /dfs
            until mountpoint -q /dfs; do
              mount.glusterfs "$first:/dfs" /dfs || sleep 3
            done
          '';
        };
      };
  };

  # Default node counts (`nxc start -r storage=4` or a distribution file overrides them).
  rolesDistribution = {
    storage = 3;
    client = 1;
  };

  testScript = ''
    start_all()
    for s in roles["storage"]:
        s.wait_for_unit("dfs-brick.service")
        s.succeed("mountpoint -q /data/brick")
    roles["storage"][0].wait_for_unit("dfs-volume.service")
    for c in roles["client"]:
        c.wait_for_unit("dfs-mount.service")
        c.succeed(f"echo 'written by {c.name}' > /dfs/{c.name}")
    # replicated: every storage node's brick holds every file
    for s in roles["storage"]:
        for c in roles["client"]:
            s.wait_until_succeeds(f"grep -q 'written by {c.name}' /data/brick/dfs/{c.name}")
  '';
}
