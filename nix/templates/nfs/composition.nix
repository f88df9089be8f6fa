# An NFS server exporting /srv/shared and clients mounting it on /data. Clients reach the
# server by hostname (nxc writes every node of the deployment into /etc/hosts at boot).
{ pkgs, ... }:
{
  roles = {
    server =
      { pkgs, ... }:
      {
        services.nfs.server = {
          enable = true;
          # fsid: the root filesystem of ramdisk flavours is a tmpfs, which NFS cannot
          # identify by itself
          exports = ''
            /srv/shared *(rw,sync,no_subtree_check,no_root_squash,fsid=1)
          '';
        };
        systemd.tmpfiles.rules = [ "d /srv/shared 0777 root root -" ];
        networking.firewall.allowedTCPPorts = [ 111 2049 ];
        networking.firewall.allowedUDPPorts = [ 111 2049 ];
      };

    client =
      { pkgs, ... }:
      {
        fileSystems."/data" = {
          device = "server:/srv/shared";
          fsType = "nfs";
          # mounted on first access: clients may boot before the server exports
          options = [
            "nfsvers=4.2"
            "noauto"
            "x-systemd.automount"
            "x-systemd.mount-timeout=60"
            "_netdev"
          ];
        };
      };
  };

  # Default node counts (`nxc start -r client=4` or a distribution file overrides them).
  rolesDistribution = {
    client = 2;
  };

  testScript = ''
    start_all()
    server.wait_for_unit("nfs-server.service")
    server.succeed("echo 'written by the server' > /srv/shared/hello")
    for c in roles["client"]:
        c.wait_until_succeeds("grep -q 'written by the server' /data/hello")
        c.succeed("echo %s > /data/from-%s" % (c.host, c.host))
    for c in roles["client"]:
        server.succeed("grep -qx %s /srv/shared/from-%s" % (c.host, c.host))
  '';
}
