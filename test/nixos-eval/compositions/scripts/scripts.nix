# Small programs written with nixpkgs' writers, installed on the roles.
{ pkgs }:
{
  yaml-check = pkgs.writers.writePython3Bin "yaml-check" { libraries = [ pkgs.python3Packages.pyyaml ]; } ''
    import yaml
    print(yaml.safe_load("- ok")[0])
  '';
  greet = pkgs.writers.writeBashBin "greet" ''
    echo "hello from $(hostname)"
  '';
}
