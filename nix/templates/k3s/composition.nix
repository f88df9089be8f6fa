# A k3s (lightweight Kubernetes) cluster, as in the NixOS Compose paper: one `server` and
# `agent` nodes that join it at https://server:6443 (nxc puts every node in /etc/hosts).
# k3s wants memory: with the vm flavours give each VM 2 GiB or more.
#
# The join token is a secret: whoever holds it can join a node to the cluster and read its
# secrets. So it is never written in this file nor anywhere in the Nix store (world-readable
# on the machine that builds, and on docker nodes that share its store): each deployment gets
# its own, kept on every node in /run/k3s/token (tmpfs, 0600 root) where k3s reads it
# (`tokenFile`). Where it comes from:
#   - by default the server makes a random one at boot, and the test script (`nxc start -t`,
#     `nxc driver -t`) copies it, as a file, to each agent over nxc's own connection to the
#     nodes (SSH, or docker exec); an agent's k3s starts as soon as its token file appears;
#   - `nxc start -p k3s_token=<secret>` gives every node the same token through the
#     deployment document at boot (unattended start, no test script needed). Mind that the
#     document is a file of the project and, beyond about 30 nodes on Grid'5000, is served over
#     plain HTTP (checked against a digest, but readable on the network).
# The admin kubeconfig (/etc/rancher/k3s/k3s.yaml on the server) is 0600: root only.
{ pkgs, ... }:
let
  tokenFile = "/run/k3s/token";

  # Writes the deployment's `k3s_token` parameter (if any) to tokenFile; on the server, a
  # random token when there is none. Runs before k3s, after nxc has applied the deployment.
  writeToken =
    pkgs: isServer:
    {
      description = "k3s join token of this deployment";
      wantedBy = [ "multi-user.target" ];
      before = [ "k3s.service" ];
      after = [ "nxc-boot.service" ];
      path = [ pkgs.coreutils pkgs.jq ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        UMask = "0077";
      };
      script = ''
        mkdir -p "$(dirname ${tokenFile})"
        t=$(jq -r '.parameters.k3s_token // empty' /etc/nxc/deployment.json 2>/dev/null || true)
        ${
          if isServer then
            ''[ -n "$t" ] || t=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')''
          else
            ""
        }
        if [ -n "$t" ] && ! [ -s ${tokenFile} ]; then
          printf '%s' "$t" > ${tokenFile}.new && mv ${tokenFile}.new ${tokenFile}
        fi
      '';
    };
in
{
  roles = {
    server =
      { pkgs, ... }:
      {
        environment.systemPackages = [ pkgs.k3s pkgs.gzip ];
        networking.firewall.allowedTCPPorts = [ 6443 ];
        systemd.services.k3s-token = writeToken pkgs true;
        systemd.services.k3s = {
          requires = [ "k3s-token.service" ];
          after = [ "k3s-token.service" ];
        };
        services.k3s = {
          enable = true;
          role = "server";
          inherit tokenFile;
          # single node control plane, no traefik: keeps the first boot light
          extraFlags = "--disable traefik --write-kubeconfig-mode 0600";
        };
      };

    agent =
      { pkgs, lib, ... }:
      {
        environment.systemPackages = [ pkgs.k3s pkgs.gzip ];
        systemd.services.k3s-token = writeToken pkgs false;
        # k3s starts when the token is there (from the deployment, or copied by the test script)
        systemd.paths.k3s-token = {
          wantedBy = [ "multi-user.target" ];
          pathConfig = {
            PathExists = tokenFile;
            Unit = "k3s.service";
          };
        };
        systemd.services.k3s.wantedBy = lib.mkForce [ ];
        services.k3s = {
          enable = true;
          role = "agent";
          serverAddr = "https://server:6443";
          inherit tokenFile;
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
    # Agents without a token (no `-p k3s_token=`) get the server's as a file (0600) through a
    # private temporary folder of nxc's machine: it never appears in a command nor in the log.
    import shutil, tempfile
    d = tempfile.mkdtemp()
    try:
        token = server.copy_from_vm("${tokenFile}", d)
        for a in roles["agent"]:
            a.succeed("mkdir -p -m 700 /run/k3s")
            a.copy_from_host(token, "${tokenFile}.new")
            a.succeed("test -s ${tokenFile} || mv ${tokenFile}.new ${tokenFile}; rm -f ${tokenFile}.new")
    finally:
        shutil.rmtree(d)
    for a in roles["agent"]:
        a.wait_for_unit("k3s.service")
        server.wait_until_succeeds(
            "k3s kubectl get node %s --no-headers | grep -qw Ready" % a.host, timeout=600
        )
    server.succeed("k3s kubectl get nodes -o wide >&2")
  '';
}
