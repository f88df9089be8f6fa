# Role `server` serves a page over HTTP on port 80; role `client` fetches it by hostname.
# Written with NixOS option names (environment.systemPackages, systemd.services) so that it
# reads like any composition; the demo builds on nxc's offline test OS.
{ pkgs, ... }:
let
  webroot = pkgs.writeTextFile {
    name = "demo-webroot";
    destination = "/index.html";
    text = "hello from the nxc demo server\n";
  };
in
{
  roles = {
    server = { pkgs, lib, options, ... }: lib.mkMerge [
      {
        environment.systemPackages = [ pkgs.busybox ];
        systemd.services.httpd = {
          wantedBy = [ "multi-user.target" ];
          script = "exec ${pkgs.busybox}/bin/httpd -f -p 80 -h ${webroot}";
        };
        networking.firewall.allowedTCPPorts = [ 80 ];
      }
      # On nxc's test OS this role runs real systemd (as on NixOS) rather than the test OS's
      # lighter service runner; the option does not exist on NixOS, hence the guard.
      (lib.optionalAttrs (options ? testos) { testos.init = "systemd"; })
    ];
    client = { pkgs, ... }: {
      environment.systemPackages = [ pkgs.busybox ];
    };
  };

  # Works whatever the role distribution: `-r client=3` names the clients client1..client3.
  testScript = ''
    start_all()
    clients = [m for m in machines if m.role == "client"]

    with subtest("the server serves HTTP on port 80"):
        server.wait_for_unit("httpd")
        server.wait_for_open_port(80)

    with subtest("every client reaches the server by hostname"):
        for c in clients:
            c.succeed("ping -c 1 server")
            page = c.succeed("wget -qO- http://server/")
            assert "hello from the nxc demo server" in page, page

    with subtest("a page that does not exist is an error"):
        clients[0].fail("wget -qO- http://server/missing")
  '';
}
