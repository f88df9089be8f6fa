{ pkgs, ... }:
{
  roles.b = { pkgs, lib, ... }: { };
  testScript = ''b.succeed("true")'';
}
