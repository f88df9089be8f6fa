# The original nxc's `helpers`, and a role written for VMs (virtualisation.*) that the docker
# flavour must accept: the original drops a role's `virtualisation` definitions for docker.
{ pkgs, lib, helpers, ... }:
let
  worker = id: { ... }: { environment.variables.WORKER_ID = toString id; };
in
{
  roles =
    helpers.makeManyById worker "worker" 2
    // helpers.makeMany ({ ... }: { }) "spare" 1
    // helpers.mapListToAttrs (n: { ${n} = { ... }: { environment.variables.ROLE = n; }; }) [ "front" ]
    // helpers.mapAttrNamesToAttrs (n: { "${n}-mirror" = { ... }: { }; }) { cache = 1; }
    // helpers.mapAttrsToAttrs (n: v: { ${n} = { ... }: { environment.variables.SIZE = toString v; }; }) { store = 3; }
    // {
      vmhost = { pkgs, ... }: {
        virtualisation.docker.enable = true;
        environment.systemPackages = [ (helpers.callPackage ({ hello }: hello) { }) ];
      };
    };
  testScript = ''
    worker1.succeed("true")
  '';
}
