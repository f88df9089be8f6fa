# Reads setup.toml's parameters (`nxc.lib.compose { setup = ./setup.toml; ... }`).
{ pkgs, setup, ... }:
{
  roles = {
    node = { ... }: {
      environment.variables.GREETING = setup.params.greeting;
      environment.variables.COUNT = toString (setup.params.count + 1);
      environment.variables.VARIANT = setup.project.selected;
      environment.systemPackages = [ pkgs.hello ];
    };
  };
  testScript = ''
    node.succeed('[ "$COUNT" = 21 ]')
  '';
}
