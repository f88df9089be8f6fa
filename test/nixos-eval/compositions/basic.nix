# One role with nothing in it but the defaults nxc adds.
{ pkgs, ... }:
{
  roles = {
    foo = { pkgs, ... }: { };
  };
  testScript = ''
    foo.succeed("true")
  '';
}
