# nixpkgs' real `lib`: the folder named by NXC_NIXPKGS_LIB (the suite always sets it).
let dir = builtins.getEnv "NXC_NIXPKGS_LIB"; in
if dir == "" then throw "NXC_NIXPKGS_LIB is not set: point it at a folder holding nixpkgs' lib (…/nixpkgs-lib/lib)"
else if !(builtins.pathExists (/. + dir + "/default.nix")) then throw "NXC_NIXPKGS_LIB=${dir} holds no nixpkgs lib (no default.nix)"
else /. + dir
