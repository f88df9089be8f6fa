/** `nxc flavours`: the flavours the project's plugins provide. */
import { describeFlavours, loadFlavours } from '../plugins.js';
import type { Project } from '../project.js';

/** One installed flavour. */
export interface FlavourInfo {
  name: string;
  description: string;
  /** Image kind built for it. */
  image: string;
  /** Plugin package providing it. */
  plugin?: string;
  /** Why it cannot run here, when `check` was asked and it cannot. */
  unusable?: { reason: string; hint: string };
}

/** Lists installed flavours; with `check`, runs each one's `usable()` pre-check too. */
export async function listFlavours(project: Project, opts: { check?: boolean } = {}): Promise<FlavourInfo[]> {
  // without `check`, plugins that declare a manifest are not imported
  if (!opts.check)
    return (await describeFlavours(project)).map((f) => ({
      name: f.name,
      description: f.description,
      image: f.build.image,
      plugin: f.plugin.name,
    }));
  const registry = await loadFlavours(project);
  const out: FlavourInfo[] = [];
  for (const f of registry.list()) {
    const info: FlavourInfo = {
      name: f.name,
      description: f.description,
      image: f.build.image,
      plugin: f.plugin.name,
    };
    if (opts.check && f.usable) {
      const problem = await f.usable({ project });
      if (problem) info.unusable = problem;
    }
    out.push(info);
  }
  return out;
}
