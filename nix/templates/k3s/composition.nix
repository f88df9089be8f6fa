# A k3s (lightweight Kubernetes) cluster, as in the NixOS Compose paper: one `server` and
# `agent` nodes that join it at https://server:6443 (nxc puts every node in /etc/hosts).
# k3s wants memory: with the vm flavours give each VM 2 GiB or more.
{ pkgs, ... }:
let
  # Shared secret the agents present to join the cluster. Change it for anything long-lived.
  token = "nxc-k3s-demo-token-change-me";
in
{
  roles = {
    server =
      { pkgs, ... }:
      {
        environment.systemPackages = [ pkgs.k3s pkgs.gzip ];
        networking.firewall.allowedTCPPorts = [ 6443 ];
        services.k3s = {
          enable = true;
          role = "server";
          inherit token;
          # single node control plane, no traefik: keeps the first boot light
          extraFlags = "--disable traefik --write-kubeconfig-mode 0644";
        };
      };

    agent =
      { pkgs, ... }:
      {
        environment.systemPackages = [ pkgs.k3s pkgs.gzip ];
        services.k3s = {
          enable = true;
          role = "agent";
          serverAddr = "https://server:6443";
          inherit token;
        };
      };
  };

  # Default node counts (`nxc start -r agent=5` or a distribution file overrides them).
  rolesDistribution = {
    agent = 2;
  };

  testScript = ''
    start_all()
    server.wait_for_unit("k3s.service")
    server.wait_until_succeeds("k3s kubectl get nodes")
    for a in roles["agent"]:
        a.wait_for_unit("k3s.service")
        server.wait_until_succeeds(
            "k3s kubectl get node %s --no-headers | grep -qw Ready" % a.host, timeout=600
        )
    server.succeed("k3s kubectl get nodes -o wide >&2")
  '';
}
