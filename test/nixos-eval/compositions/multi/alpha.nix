{ pkgs, ... }:
{
  roles.a = { pkgs, lib, ... }: { environment.systemPackages = [ pkgs.hello ]; };
  testScript = ''a.succeed("hello")'';
}
