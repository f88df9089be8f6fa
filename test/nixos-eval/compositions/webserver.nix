# nginx serving one page built at build time; the client fetches it by hostname.
{ pkgs, ... }:
{
  roles = {
    server = { pkgs, ... }: {
      networking.firewall.enable = false;
      services.nginx.enable = true;
      services.nginx.virtualHosts.default.root = pkgs.runCommand "webroot" { } ''
        mkdir -p "$out"
        echo "served by nginx" > "$out/index.html"
      '';
    };
    client = { ... }: { };
  };
  testScript = ''
    server.wait_for_unit("nginx.service")
    assert "served by nginx" in client.succeed("curl -sSf http://server/")
  '';
}
