# The original's shared directories and users: homes exported by `server`, data by `storage`.
{ pkgs, ... }:
let
  people = { names = [ "alice" "bob" ]; prefixHome = "/home-shared"; };
in
{
  roles = {
    server = { ... }: {
      nxc.users = people;
      nxc.sharedDirs."/home-shared".export = true;
    };
    storage = { ... }: {
      nxc.sharedDirs."/data".export = true;
      nxc.postBootCommands = "mkdir -p /data/in";
      nxc.wait-online.enable = true;
    };
    client = { ... }: {
      nxc.users = people;
      nxc.sharedDirs."/home-shared".server = "server";
      nxc.sharedDirs."/data".server = "storage";
    };
  };
  testScript = ''
    storage.succeed("touch /data/in/x")
    client.succeed("ls /data/in/x")
  '';
}
