/**
 * The k3s template's secrets (issue 13, finding 15), evaluated without nixpkgs: its roles go
 * through nixpkgs' real `lib.evalModules` (the copy in the shared folder, `$NXC_SHARED`,
 * default `../shared` beside the main checkout) against typed stand-ins for the options they
 * set, with the types of nixpkgs' declarations (services.k3s: nixos/modules/services/cluster/
 * k3s; systemd units). Checked: no join token in the template nor in anything Nix would put
 * in the store, the token file outside the store and private, agents starting k3s only once
 * their token is there, and a kubeconfig for root only.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const template = join(repo, 'nix/templates/k3s/composition.nix');

/** The shared folder: $NXC_SHARED, else `../shared` beside the main checkout (worktrees too). */
function sharedDir(): string {
  if (process.env.NXC_SHARED) return resolve(process.env.NXC_SHARED);
  const common = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], {
    cwd: repo,
    encoding: 'utf8',
  }).trim();
  return join(dirname(dirname(common)), 'shared');
}

const lib = join(sharedDir(), 'nixpkgs-lib/lib');

/** Typed stand-ins for what the template's roles set, and the evaluation of one role. */
const evaluator = `
{ lib, composition, role }:
let
  inherit (lib) mkOption types;
  opt = type: default: mkOption { inherit type default; };
  drv = name: { type = "derivation"; inherit name; outPath = "/nix/store/00000000000000000000000000000000-" + name; };
  pkgs = lib.genAttrs [ "k3s" "gzip" "coreutils" "jq" ] drv;
  unit = types.submodule {
    options = {
      description = opt types.str "";
      wantedBy = opt (types.listOf types.str) [ ];
      requiredBy = opt (types.listOf types.str) [ ];
      before = opt (types.listOf types.str) [ ];
      after = opt (types.listOf types.str) [ ];
      requires = opt (types.listOf types.str) [ ];
      path = opt (types.listOf (types.either types.package types.str)) [ ];
      serviceConfig = opt (types.attrsOf (types.oneOf [ types.bool types.int types.str ])) { };
      pathConfig = opt (types.attrsOf types.str) { };
      script = opt types.lines "";
    };
  };
  stubs = {
    options = {
      environment.systemPackages = opt (types.listOf types.package) [ ];
      networking.firewall.allowedTCPPorts = opt (types.listOf types.port) [ ];
      systemd.services = opt (types.attrsOf unit) { };
      systemd.paths = opt (types.attrsOf unit) { };
      services.k3s = {
        enable = opt types.bool false;
        role = opt (types.enum [ "server" "agent" ]) "server";
        serverAddr = opt types.str "";
        token = opt types.str "";
        tokenFile = opt (types.nullOr types.path) null;
        extraFlags = opt (types.either types.str (types.listOf types.str)) "";
      };
    };
  };
  spec = import composition { inherit pkgs lib; };
  c = (lib.evalModules { modules = [ stubs spec.roles.\${role} { _module.args = { inherit pkgs; }; } ]; }).config;
in {
  k3s = c.services.k3s;
  services = c.systemd.services;
  paths = c.systemd.paths;
  testScript = spec.testScript;
}`;

interface Unit {
  wantedBy: string[];
  before: string[];
  after: string[];
  requires: string[];
  serviceConfig: Record<string, unknown>;
  pathConfig: Record<string, string>;
  script: string;
}
interface Evaluated {
  k3s: {
    enable: boolean;
    role: string;
    token: string;
    tokenFile: string | null;
    extraFlags: string;
    serverAddr: string;
  };
  services: Record<string, Unit>;
  paths: Record<string, Unit>;
  testScript: string;
}

function evaluate(role: string): Evaluated {
  if (!existsSync(lib))
    throw new Error(`nixpkgs' lib not found at ${lib} (set NXC_SHARED to the shared folder)`);
  const expr = `(${evaluator}) { lib = import ${JSON.stringify(lib)}; composition = ${JSON.stringify(template)}; role = ${JSON.stringify(role)}; }`;
  const out = execFileSync('nix-instantiate', ['--eval', '--strict', '--json', '-E', expr], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out) as Evaluated;
}

describe('k3s template: the join token and the kubeconfig', () => {
  const server = evaluate('server');
  const agent = evaluate('agent');

  it('has no join token in the template nor in any value that Nix would copy to the store', () => {
    const text = readFileSync(template, 'utf8');
    expect(text).not.toMatch(/\btoken\s*=\s*"/);
    for (const node of [server, agent]) {
      expect(node.k3s.enable).toBe(true);
      expect(node.k3s.token).toBe('');
      // a string path: read at run time on the node, never copied into the store
      expect(node.k3s.tokenFile).toBe('/run/k3s/token');
      expect(node.services['k3s-token']?.serviceConfig.UMask).toBe('0077');
      expect(node.services['k3s-token']?.before).toContain('k3s.service');
    }
    // each deployment's own: the deployment's parameter, else made at boot by the server only
    expect(server.services['k3s-token']?.script).toMatch(/parameters\.k3s_token/);
    expect(server.services['k3s-token']?.script).toMatch(/\/dev\/urandom/);
    expect(agent.services['k3s-token']?.script).toMatch(/parameters\.k3s_token/);
    expect(agent.services['k3s-token']?.script).not.toMatch(/urandom/);
    expect(server.services.k3s?.requires).toContain('k3s-token.service');
  });

  it("starts an agent's k3s only once its token file is there", () => {
    expect(agent.k3s).toMatchObject({ role: 'agent', serverAddr: 'https://server:6443' });
    expect(agent.services.k3s?.wantedBy).toEqual([]);
    expect(agent.paths['k3s-token']).toMatchObject({
      wantedBy: ['multi-user.target'],
      pathConfig: { PathExists: '/run/k3s/token', Unit: 'k3s.service' },
    });
    // the test script hands the server's token to the agents as a file, not in a logged command
    expect(agent.testScript).toMatch(/server\.copy_from_vm\("\/run\/k3s\/token", d\)/);
    expect(agent.testScript).toMatch(/a\.copy_from_host\(token, "\/run\/k3s\/token\.new"\)/);
    expect(agent.testScript).not.toMatch(/cat \/run\/k3s\/token/);
  });

  it('writes the admin kubeconfig for root only', () => {
    expect(server.k3s.extraFlags).toMatch(/--write-kubeconfig-mode 0600\b/);
    expect(server.k3s.extraFlags).not.toMatch(/0644/);
  });
});
