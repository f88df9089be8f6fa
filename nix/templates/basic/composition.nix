# One role, `node`. Each attribute of `roles` is a NixOS module; nxc builds it for the chosen
# flavour (`nxc build -f docker`, `-f vm`, ...) and starts one node per role by default.
{ pkgs, ... }:
{
  roles = {
    node =
      { pkgs, ... }:
      {
        environment.systemPackages = [ pkgs.hello ];
      };
  };

  # Run with `nxc driver -t` once `nxc start` is done (NixOS test-driver style).
  testScript = ''
    start_all()
    node.wait_for_unit("multi-user.target")
    node.succeed("hello | grep -q 'Hello, world!'")
  '';
}
