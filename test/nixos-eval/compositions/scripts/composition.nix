{ pkgs, ... }:
let
  scripts = import ./scripts.nix { inherit pkgs; };
in
{
  roles = {
    one = { ... }: { environment.systemPackages = [ scripts.yaml-check ]; };
    two = { ... }: { environment.systemPackages = [ scripts.greet scripts.yaml-check ]; };
  };
  testScript = ''
    one.succeed("yaml-check")
    two.succeed("greet")
  '';
}
