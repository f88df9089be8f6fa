# Shared by the all-in-one image kinds: one kernel and one stage-1 initrd for every role
# (taken from the first role), the role map, and the init the kernel starts (`init=`),
# which runs the boot script: it picks this node's role and execs that role's init.
{ pkgs, systems, compositionName, bootScript, ... }:
let
  inherit (builtins) attrNames concatMap head map mapAttrs toJSON concatStringsSep;
  roleNames = attrNames systems;
  base = systems.${head roleNames}.config;
  loader = base.system.boot.loader or { };
  kernelFile = loader.kernelFile or "bzImage";
  initrdFile = loader.initrdFile or "initrd";
  roleMap = pkgs.writeText "nxc-roles-${compositionName}.json"
    (toJSON (mapAttrs (r: s: "${s.config.system.build.toplevel}/init") systems));
  # Stage 1 starts `init=` under `env -i`: this PATH is all the boot script has. Every boot tool
  # contributes both bin/ and sbin/ (nixpkgs' busybox keeps ip, hostname, ... in sbin/); a
  # directory a package lacks costs nothing.
  bootPath = concatStringsSep ":" (concatMap (p: [ "${p}/bin" "${p}/sbin" ]) base.nxc.bootTools);
  init = pkgs.writeScript "nxc-init-${compositionName}" ''
    #!${pkgs.runtimeShell}
    # nxc all-in-one init (${compositionName}: ${concatStringsSep ", " roleNames})
    export NXC_ROLES=${roleMap}
    export PATH=${bootPath}''${PATH:+:$PATH}
    exec ${pkgs.runtimeShell} ${bootScript} "$@"
  '';
in
rec {
  inherit roleNames roleMap init;
  kernel = "${base.system.build.kernel}/${kernelFile}";
  stage1Initrd = "${base.system.build.initialRamdisk}/${initrdFile}";
  cmdline = concatStringsSep " " ([ "init=${init}" ] ++ (base.boot.kernelParams or [ ]));
  toplevels = map (r: systems.${r}.config.system.build.toplevel) roleNames;
}
