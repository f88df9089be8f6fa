# A web server and a client. Nodes reach each other by hostname: nxc writes every node of the
# deployment into /etc/hosts at boot, so `client` finds `server`.
{ pkgs, ... }:
{
  roles = {
    server =
      { pkgs, ... }:
      {
        services.nginx = {
          enable = true;
          virtualHosts.default = {
            default = true;
            root = pkgs.writeTextDir "index.html" "Hello from the nxc server\n";
          };
        };
        networking.firewall.allowedTCPPorts = [ 80 ];
      };

    client =
      { pkgs, ... }:
      {
        environment.systemPackages = [ pkgs.curl ];
      };
  };

  testScript = ''
    start_all()
    server.wait_for_unit("nginx.service")
    server.wait_for_open_port(80)
    for c in roles["client"]:
        c.wait_until_succeeds("curl -sf http://server/ | grep -q 'Hello from the nxc server'")
  '';
}
