/** `nxc build`: the Nix build is core's `build()` (packages/core/src/build). */
import * as core from '@nxc/core';
import type { Runtime } from '../runtime.js';
import { printJson, project, renderer, table } from './common.js';

interface BuildFlags {
  composition?: string;
  flavour?: string;
  listCompositionsFlavours?: boolean;
  listFlavours?: boolean;
  dryRun?: boolean;
  showTrace?: boolean;
  nixFlags?: string;
  outLink?: string;
  json?: boolean;
}

type BuildFn = (project: core.Project, opts: Record<string, unknown>) => Promise<Record<string, unknown>>;
type ListFn = (project: core.Project) => Promise<unknown>;

function fromCore<T>(name: string): T {
  const fn = (core as unknown as Record<string, unknown>)[name];
  if (typeof fn !== 'function') {
    throw new core.NxcError('NXC_USAGE', `this @nxc/core has no ${name}()`, {
      hint: 'install matching versions of @nxc/cli and @nxc/core',
      exitCode: core.ExitCode.environment,
    });
  }
  return fn as T;
}

export async function buildAction(rt: Runtime, file: string | undefined, flags: BuildFlags): Promise<number> {
  const proj = await project(rt);
  if (flags.listFlavours) {
    const list = await core.listFlavours(proj);
    if (flags.json) printJson(rt, { flavours: list });
    else rt.stdout.write(`${table(list.map((f) => [f.name, f.description]))}\n`);
    return 0;
  }
  if (flags.listCompositionsFlavours) {
    const comps = await fromCore<ListFn>('listCompositions')(proj);
    if (flags.json) printJson(rt, comps);
    else rt.stdout.write(`${JSON.stringify(comps, null, 2)}\n`);
    return 0;
  }
  const reporter = renderer(rt, flags.json);
  const result = await fromCore<BuildFn>('build')(proj, {
    ...(file ? { compositionFile: file } : {}),
    ...(flags.composition ? { composition: flags.composition } : {}),
    ...(flags.flavour ? { flavour: flags.flavour } : {}),
    ...(flags.dryRun ? { dryRun: true } : {}),
    ...(flags.showTrace ? { showTrace: true } : {}),
    ...(flags.nixFlags ? { nixFlags: flags.nixFlags.split(/\s+/).filter(Boolean) } : {}),
    ...(flags.outLink ? { outLink: flags.outLink } : {}),
    reporter,
    signal: rt.signal,
  });
  reporter.clear();
  if (flags.json) printJson(rt, result);
  else {
    const rows = Object.entries(result).filter(([, v]) => typeof v === 'string') as [string, string][];
    rt.stdout.write(`${table(rows)}\n`);
  }
  return 0;
}
