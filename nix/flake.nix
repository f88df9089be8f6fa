{
  description = "nxc (NixOS Compose): turn one composition into per-flavour artifacts and a compose info JSON";

  # No inputs: nixpkgs comes from the project (`lib.compose { nixpkgs = ...; }`), the
  # flavours from the installed plugin packages (nxc build generates `flavours/index.nix`
  # in its copy of this folder, `<project>/.nxc/nixlib`, and overrides the `nxc` input).
  outputs = { self }: {
    lib = import ./lib;
  };
}
