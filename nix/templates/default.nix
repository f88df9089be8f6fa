# Flake templates (`nix flake init -t <nxc>#k3s`), from the same index `nxc init` reads.
let
  index = builtins.fromJSON (builtins.readFile ./templates.json);
in
builtins.mapAttrs (name: description: {
  path = ./. + "/${name}";
  inherit description;
}) index
