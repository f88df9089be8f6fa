/**
 * NixOS evaluation suite: every flavour x every `nxc init` template, the demo and
 * compositions in the original nxc's style, evaluated through nxc's own `lib.compose` with
 * nixpkgs' real `lib` against typed stand-ins for the NixOS options (same types and defaults
 * as nixpkgs' declarations) and what NixOS's own modules define (assertions included).
 * Every role's configuration is forced (systemd units, stage-1 commands, file systems, the
 * compose info) and read back. With `NXC_NIXPKGS=/path/to/nixpkgs` the same compositions are
 * instantiated against that nixpkgs instead (real eval-config.nix and modules).
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Evaluated,
  type FlavourDecl,
  NixEvalError,
  type RoleConfig,
  cleanup,
  evaluate,
  initPath,
  nixpkgsLib,
  projectFlavours,
  repo,
  scratchDir,
  standInNixpkgs,
  suiteDir,
} from './harness.js';

const comp = (p: string) => join(suiteDir, 'compositions', p);
const hardware = [
  join(suiteDir, 'hardware/hardware-configuration.nix'),
  join(suiteDir, 'hardware/nixos-hardware-intel.nix'),
];

interface Case {
  label: string;
  composition?: string;
  compositions?: string;
  setup?: string;
}

const templates: Case[] = readdirSync(join(repo, 'nix/templates'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => ({
    label: `template ${d.name}`,
    composition: join(repo, 'nix/templates', d.name, 'composition.nix'),
  }));

/** Every composition of the suite: [label, eval input]. */
const cases: Case[] = [
  ...templates,
  { label: 'demo', composition: join(repo, 'examples/demo/composition.nix') },
  { label: 'original basic', composition: comp('basic.nix') },
  { label: 'original webserver', composition: comp('webserver.nix') },
  { label: 'original shared-directories-users', composition: comp('shared-directories-users.nix') },
  { label: 'original scripts', composition: comp('scripts/composition.nix') },
  { label: 'original helpers', composition: comp('original-helpers.nix') },
  { label: 'original setup', composition: comp('setup/composition.nix'), setup: comp('setup/setup.toml') },
  { label: 'original multi-compositions', compositions: comp('multi/compositions.nix') },
  { label: 'original kernel', compositions: comp('kernel/compositions.nix') },
];

const full = process.env.NXC_NIXPKGS;
let flavours: Record<string, FlavourDecl>;
const results = new Map<string, Record<string, Evaluated>>();

async function standIn(
  label: string,
  input: Parameters<typeof evaluate>[0],
): Promise<Record<string, Evaluated>> {
  const key = `${label} ${JSON.stringify(input)}`;
  const cached = results.get(key);
  if (cached) return cached;
  const out = (await evaluate(input)) as Record<string, Evaluated>;
  results.set(key, out);
  return out;
}

const allInOne = (e: Evaluated) => e.info.flavour.image !== 'docker';
const isG5k = (e: Evaluated) => e.info.flavour.name.startsWith('g5k-');
const isQemu = (e: Evaluated) => e.info.flavour.name === 'vm' || e.info.flavour.name === 'vm-ramdisk';

/** What must hold for every role of every composition x flavour. */
function checkInvariants(key: string, e: Evaluated): void {
  const where = (role: string) => `${key}, role ${role}`;
  expect(Object.keys(e.roles).sort(), key).toEqual(Object.keys(e.info.roles).sort());
  for (const [role, cfg] of Object.entries(e.roles)) {
    expect(cfg.nxc.role, where(role)).toBe(role);
    // finding 3: kvm-intel and kvm-amd are never both force-loaded (one always fails)
    const mods: string[] = cfg.boot.kernelModules;
    expect(
      mods.includes('kvm-intel') && mods.includes('kvm-amd'),
      `${where(role)}: boot.kernelModules ${mods}`,
    ).toBe(false);
    if (allInOne(e)) {
      // finding 4: the scripted stage 1 runs the flavours' stage-1 commands
      expect(cfg.initrd.scripted, `${where(role)}: boot.initrd.systemd.enable`).toBe(true);
      expect(cfg.boot.initrd.network.flushBeforeStage2, where(role)).toBe(false);
    }
    if (e.info.flavour.image === 'tarball') {
      // finding 6: the image's closure registration reaches the node's Nix database
      expect(cfg.boot.postBootCommands, where(role)).toMatch(/nix-store --load-db < \/nix-path-registration/);
    }
    if (isG5k(e)) {
      // finding 3: G5K NICs that need firmware get it in stage 1
      for (const m of ['bnx2x', 'qede'])
        expect(cfg.initrd.modules, `${where(role)}: initrd module ${m}`).toContain(m);
      expect(cfg.initrd.firmware.length, `${where(role)}: firmware for stage 1`).toBeGreaterThan(0);
    }
  }
  if (allInOne(e)) {
    // finding 1: the boot PATH covers bin/ AND sbin/ of the boot tools (busybox keeps ip in sbin/)
    expect(e.init, `${key}: all.init`).toBeTruthy();
    const path = initPath(e.init ?? '');
    const anyRole = Object.values(e.roles)[0] as RoleConfig;
    const busybox = (anyRole.nxc.bootTools as string[]).find((p) => p.includes('-busybox-'));
    expect(busybox, `${key}: busybox in nxc.bootTools`).toBeTruthy();
    for (const dir of ['bin', 'sbin'])
      expect(path, `${key}: PATH of all.init`).toContain(`${busybox}/${dir}`);
    expect(Object.keys(e.roles_map ?? {}).sort(), key).toEqual(Object.keys(e.info.roles).sort());
  }
}

afterAll(cleanup);

beforeAll(async () => {
  nixpkgsLib(); // fails the whole file, not skips it, when nixpkgs' lib is missing
  flavours = await projectFlavours();
}, 120_000);

// Stand-ins when no nixpkgs is given; with NXC_NIXPKGS the real one replaces them (nothing is skipped:
// the tests of the other mode are not defined).
const whenStandIn = full ? () => undefined : describe;
const itStandIn = full ? () => undefined : it;

whenStandIn('every composition x every flavour (stand-in nixpkgs)', () => {
  it('the suite covers the six flavours', () => {
    expect(Object.keys(flavours).sort()).toEqual([
      'docker',
      'g5k-image',
      'g5k-nfs-store',
      'g5k-ramdisk',
      'vm',
      'vm-ramdisk',
    ]);
  });

  it.each(cases)('$label', async (c) => {
    const out = await standIn(c.label, c);
    const flavoursSeen = new Set(Object.values(out).map((e) => e.info.flavour.name));
    expect([...flavoursSeen].sort()).toEqual(Object.keys(flavours).sort());
    for (const [key, e] of Object.entries(out)) checkInvariants(key, e);
  });

  it.each(templates.slice(0, 1).concat(cases.filter((c) => c.label === 'original shared-directories-users')))(
    '$label with a generated hardware-configuration.nix and nixos-hardware imported',
    async (c) => {
      const out = await standIn(`${c.label} hw`, { ...c, extraModules: hardware });
      for (const [key, e] of Object.entries(out)) {
        checkInvariants(key, e);
        for (const cfg of Object.values(e.roles)) {
          // the hardware configuration's own choices (mkDefault) stand where nxc has none
          expect(cfg.hardware.enableRedistributableFirmware, key).toBe(true);
          expect(
            cfg.boot.kernelModules.filter((m: string) => m.startsWith('kvm')),
            key,
          ).toEqual(['kvm-intel']);
          if (isQemu(e)) expect(cfg.networking.useDHCP, `${key}: qemu VMs get static addresses`).toBe(false);
          if (isG5k(e)) expect(cfg.networking.useDHCP, `${key}: G5K nodes use DHCP`).toBe(true);
          if (e.info.flavour.name === 'g5k-image')
            expect(cfg.powerManagement.cpuFreqGovernor, key).toBe('powersave');
        }
      }
    },
  );

  it('nixpkgs from before the net-tools rename (only `nettools`) evaluates too', async () => {
    const out = await standIn('basic older', {
      composition: templates[0]?.composition,
      env: { NXC_EVAL_NIXPKGS_ERA: 'older' },
    });
    expect(Object.keys(out)).toHaveLength(6);
  });

  it("the original's helpers and the docker flavour dropping `virtualisation.*`", async () => {
    const out = await standIn('original helpers', cases.find((c) => c.label === 'original helpers') ?? {});
    for (const [key, e] of Object.entries(out)) {
      expect(Object.keys(e.roles).sort(), key).toEqual(
        ['cache-mirror', 'front', 'spare1', 'store', 'vmhost', 'worker1', 'worker2'].sort(),
      );
      expect(e.roles.worker2?.environment.variables.WORKER_ID, key).toBe('2');
      expect(e.roles.store?.environment.variables.SIZE, key).toBe('3');
      const docker = e.roles.vmhost?.virtualisation.docker.enable;
      expect(docker, key).toBe(e.info.flavour.name !== 'docker');
      // helpers.callPackage fills arguments from the composition's package set
      expect(e.roles.vmhost?.environment.systemPackages, key).toContainEqual(
        expect.stringMatching(/-hello-[0-9.]*$|-hello$/),
      );
    }
  });

  it("setup.toml's params (selected variant, override-params) reach the composition", async () => {
    const c = cases.find((x) => x.label === 'original setup') ?? {};
    const out = await standIn('original setup', c);
    for (const [key, e] of Object.entries(out)) {
      expect(e.roles.node?.environment.variables, key).toMatchObject({
        GREETING: 'hi from dev',
        COUNT: '21',
        VARIANT: 'dev',
      });
      // [dev.build.hello.attrs] became an overlay on the role's package set
      expect(e.roles.node?.environment.systemPackages, key).toContainEqual(
        expect.stringMatching(/-hello-overridden$/),
      );
    }
  });

  it('several compositions and another kernel', async () => {
    const multi = await standIn('original multi-compositions', {
      compositions: comp('multi/compositions.nix'),
    });
    expect(Object.keys(multi).filter((k) => k.startsWith('alpha::'))).toHaveLength(6);
    expect(Object.keys(multi).filter((k) => k.startsWith('beta::'))).toHaveLength(6);
    const kernel = await standIn('original kernel', { compositions: comp('kernel/compositions.nix') });
    for (const [key, e] of Object.entries(kernel))
      if (allInOne(e)) expect(e.info.all.kernel, key).toContain('linux-6.18.1');
  });

  it('a role forcing the systemd stage 1 gets one clear assertion on kernel flavours, none on docker', async () => {
    const file = join(scratchDir(), 'systemd-initrd.nix');
    writeFileSync(file, '{ ... }: { roles.node = { ... }: { boot.initrd.systemd.enable = true; }; }\n');
    await expect(
      standIn('systemd-initrd docker', { composition: file, only: 'docker' }),
    ).resolves.toBeTruthy();
    const failure = await standIn('systemd-initrd vm', { composition: file, only: 'vm' }).catch(
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(NixEvalError);
    expect((failure as NixEvalError).stderr).toMatch(/nxc: flavour vm needs NixOS's scripted stage 1/);
  });
});

/**
 * The stand-ins refuse and transform what nixpkgs' declarations do (types, `apply`, NixOS's
 * assertions), so that a role or a module of nxc that would fail on real NixOS fails here.
 */
interface Fidelity {
  label: string;
  /** The role's module body, `{ config, pkgs, ... }: { <role> }`. */
  role: string;
  error?: RegExp;
  check?: (cfg: RoleConfig) => void;
}
const fidelity: Fidelity[] = [
  {
    label: 'a unit name without its type (wantedBy = [ "multi-user" ])',
    role: 'systemd.services.x = { wantedBy = [ "multi-user" ]; script = "true"; };',
    error: /systemd\.services\.x\.wantedBy.*is not of type/s,
  },
  {
    label: 'a serviceConfig.Type systemd does not know',
    role: 'systemd.services.x.serviceConfig.Type = "oneshoot";',
    error: /systemd\.services\.x\.serviceConfig.*is not of type/s,
  },
  {
    label: 'a unit description on two lines',
    role: 'systemd.services.x.description = "two\\nlines";',
    error: /systemd\.services\.x\.description.*is not of type/s,
  },
  {
    label: 'a user whose primary group is not declared',
    role: 'users.users.alice = { isNormalUser = true; group = "staff"; };',
    error: /primary group that is undefined: alice/,
  },
  {
    label: 'a normal user with a uid below 1000',
    role: 'users.users.alice = { isNormalUser = true; uid = 500; };',
    error: /users\.users\.alice\.uid set below 1000/,
  },
  {
    label: 'an overlay that is not a function',
    role: 'nixpkgs.overlays = [ { } ];',
    error: /nixpkgs\.overlays.*is not of type/s,
  },
  {
    label: 'boot.kernelPackages that is not a kernel package set (no `extend`)',
    role: 'boot.kernelPackages = { kernel = pkgs.hello; };',
    error: /attribute 'extend' missing/,
  },
  {
    label: 'hardware.firmware read as a list (its value is one package)',
    role: 'environment.etc.fw.text = toString (map (p: p.name) config.hardware.firmware);',
    error: /expected a list but found a set|value is a set while a list was expected/,
  },
  {
    label: 'a file system whose label and device disagree',
    role: 'fileSystems."/data" = { device = "/dev/sdb1"; fsType = "ext4"; label = "data"; };',
    error: /mount point \/data has its label and device set to inconsistent values/,
  },
  {
    label: 'firewall ports are sorted and unique, environment.variables are strings',
    role: 'networking.firewall.allowedTCPPorts = [ 80 22 80 ]; environment.variables = { P = [ "/a" "/b" ]; N = 3; U = null; };',
    check: (cfg) => {
      expect(cfg.networking.firewall.allowedTCPPorts).toEqual([22, 80]);
      expect(cfg.environment.variables).toMatchObject({ P: '/a:/b', N: '3' });
      expect(cfg.environment.variables).not.toHaveProperty('U');
    },
  },
  {
    label: 'a file system needed for boot and one grown by systemd-growfs get their mount options',
    role: 'fileSystems."/var" = { device = "/dev/sdb1"; fsType = "ext4"; autoResize = true; };',
    check: (cfg) => expect(cfg.fileSystems['/var'].options).toEqual(['x-systemd.growfs', 'x-initrd.mount']),
  },
];

whenStandIn('the stand-ins refuse and transform as nixpkgs does', () => {
  it.each(fidelity)('$label', async (c) => {
    const file = join(scratchDir(), `fidelity-${fidelity.indexOf(c)}.nix`);
    writeFileSync(file, `{ ... }: { roles.node = { config, pkgs, lib, ... }: { ${c.role} }; }\n`);
    const out = await evaluate({ composition: file, only: 'docker' }).catch((e: unknown) => e);
    if (c.error) {
      expect(out, c.label).toBeInstanceOf(NixEvalError);
      expect((out as NixEvalError).stderr).toMatch(c.error);
    } else {
      if (out instanceof Error) throw out;
      const e = (out as Record<string, Evaluated>)['composition::docker'];
      c.check?.(e?.roles.node as RoleConfig);
    }
  });
});

describe('the full-nixpkgs path (NXC_NIXPKGS)', () => {
  if (full)
    it.each(cases)('$label instantiates against $NXC_NIXPKGS', async (c) => {
      const out = (await evaluate({ ...c, fullNixpkgs: full })) as Record<string, string>;
      expect(Object.keys(out).length).toBeGreaterThanOrEqual(6);
      for (const drv of Object.values(out)) expect(drv).toMatch(/^\/nix\/store\/.+\.drv$/);
    });

  itStandIn('runs up to nixpkgs: a folder that is not nixpkgs is refused with one clear line', async () => {
    const empty = join(scratchDir(), 'not-nixpkgs');
    mkdirSync(empty, { recursive: true });
    const failure = await evaluate({ composition: templates[0]?.composition, fullNixpkgs: empty }).catch(
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(NixEvalError);
    expect((failure as NixEvalError).message).toContain(`NXC_NIXPKGS=${empty} is not a nixpkgs checkout`);
  });

  itStandIn(
    'runs up to nixpkgs: given a nixpkgs-shaped folder it instantiates every compose info',
    async () => {
      const out = (await evaluate({
        composition: templates[0]?.composition,
        fullNixpkgs: standInNixpkgs,
      })) as Record<string, string>;
      expect(Object.keys(out).sort()).toEqual(
        Object.keys(flavours)
          .map((f) => `composition::${f}`)
          .sort(),
      );
      for (const drv of Object.values(out)) expect(drv).toMatch(/^\/nix\/store\/.+\.drv$/);
    },
  );

  itStandIn('without nixpkgs lib the suite fails, it does not skip', async () => {
    const failure = await evaluate({
      composition: templates[0]?.composition,
      only: 'docker',
      env: { NXC_NIXPKGS_LIB: '/nonexistent/nixpkgs-lib' },
    }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(NixEvalError);
    expect((failure as NixEvalError).message).toContain('holds no nixpkgs lib');
  });
});
