/** `nxc flavours`. */
import { listFlavours } from '@nxc/core';
import type { Runtime } from '../runtime.js';
import { printJson, project, table } from './common.js';

export async function flavoursAction(
  rt: Runtime,
  flags: { check?: boolean; json?: boolean },
): Promise<number> {
  const list = await listFlavours(await project(rt), { check: flags.check === true });
  if (flags.json) {
    printJson(rt, { flavours: list });
    return 0;
  }
  if (list.length === 0) {
    rt.stdout.write('no flavour installed (add one, e.g. `pnpm add -D @nxc/flavour-docker`)\n');
    return 0;
  }
  rt.stdout.write(
    `${table([
      ['FLAVOUR', 'IMAGE', 'PLUGIN', flags.check ? 'USABLE' : 'DESCRIPTION'],
      ...list.map((f) => [
        f.name,
        f.image,
        f.plugin ?? '',
        flags.check ? (f.unusable ? `no: ${f.unusable.reason}` : 'yes') : f.description,
      ]),
    ])}\n`,
  );
  return 0;
}
