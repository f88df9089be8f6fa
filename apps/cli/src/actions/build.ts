/** `nxc build`: core's `build()` (Nix on the project's flake) with progress and a summary. */
import path from 'node:path';
import { NxcError, build, listCompositions, listFlavours } from '@nxc/core';
import type { Runtime } from '../runtime.js';
import { printJson, project, renderer, table } from './common.js';

interface BuildFlags {
  composition?: string;
  flavour?: string;
  listCompositionsFlavours?: boolean;
  listFlavours?: boolean;
  fast?: boolean;
  dryRun?: boolean;
  showTrace?: boolean;
  nixFlags?: string;
  outLink?: string;
  json?: boolean;
}

export async function buildAction(rt: Runtime, file: string | undefined, flags: BuildFlags): Promise<number> {
  const proj = await project(rt);
  if (file !== undefined && path.resolve(rt.cwd, file) !== path.resolve(proj.root, proj.config.composition)) {
    throw new NxcError(
      'NXC_USAGE',
      `nxc build ${file}: the flake builds ${proj.config.composition}, not ${file}`,
      {
        hint: `set "composition": "${file}" in nxc.json (and in flake.nix), or drop the argument`,
      },
    );
  }
  if (flags.listFlavours) {
    const list = await listFlavours(proj);
    if (flags.json) printJson(rt, { flavours: list });
    else rt.stdout.write(`${table(list.map((f) => [f.name, f.description]))}\n`);
    return 0;
  }
  const common = {
    ...(flags.composition ? { composition: flags.composition } : {}),
    ...(flags.flavour ? { flavour: flags.flavour } : {}),
    ...(flags.showTrace ? { showTrace: true } : {}),
    ...(flags.fast ? { fast: true } : {}),
    ...(flags.nixFlags ? { nixFlags: flags.nixFlags } : {}),
    signal: rt.signal,
  };
  if (flags.listCompositionsFlavours) {
    const targets = await listCompositions(proj, common);
    if (flags.json) printJson(rt, { targets });
    else rt.stdout.write(`${targets.map((t) => `${t.composition}::${t.flavour}`).join('\n')}\n`);
    return 0;
  }
  const reporter = renderer(rt, flags.json);
  const result = await build(proj, {
    ...common,
    ...(flags.dryRun ? { dryRun: true } : {}),
    ...(flags.outLink ? { outLink: flags.outLink } : {}),
    reporter,
  });
  reporter.clear();
  if (flags.json) {
    printJson(rt, {
      dryRun: result.dryRun,
      targets: result.targets.map((t) => ({
        composition: t.composition,
        flavour: t.flavour,
        composeInfoPath: t.composeInfoPath,
        ...(t.outPath ? { outPath: t.outPath } : {}),
        ...(result.dryRun ? { command: t.command } : {}),
        ...(t.stats ? { stats: t.stats } : {}),
      })),
    });
    return 0;
  }
  // The reporter already said what was built (stderr); stdout gets the dry run's commands.
  if (result.dryRun) for (const t of result.targets) rt.stdout.write(`${t.command}\n`);
  return 0;
}
