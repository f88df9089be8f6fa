/** `nxc init` and `nxc clean`. */
import path from 'node:path';
import { NxcError, clean, init, listDeployments, listTemplates, status } from '@nxc/core';
import type { Runtime } from '../runtime.js';
import { printJson, project, table } from './common.js';

export async function initAction(
  rt: Runtime,
  dir: string,
  flags: { template: string; list?: boolean; force?: boolean },
): Promise<number> {
  if (flags.list) {
    const templates = await listTemplates();
    rt.stdout.write(
      `${table([['TEMPLATE', 'DESCRIPTION'], ...templates.map((t) => [t.name, t.description])])}\n`,
    );
    return 0;
  }
  const result = await init({
    dir: path.resolve(rt.cwd, dir),
    template: flags.template,
    force: flags.force === true,
  });
  rt.stdout.write(
    `initialised ${result.dir} from template ${result.template} (${result.files.length} files)\n`,
  );
  if (result.merged.length > 0) rt.stdout.write(`added nxc's state folders to ${result.merged.join(', ')}\n`);
  return 0;
}

/**
 * Removes build/, deploy/, artifact/ but the deployment records (those too with --records or
 * --all; .nxc/ with --all). Refuses while a recorded
 * deployment still has nodes up, since its documents are how `nxc stop` finds them.
 */
export async function cleanAction(
  rt: Runtime,
  flags: { all?: boolean; records?: boolean; force?: boolean; json?: boolean },
): Promise<number> {
  const proj = await project(rt);
  if (!flags.force) {
    for (const entry of await listDeployments(proj)) {
      const label = `${entry.composition}::${entry.flavour}`;
      let up: string[];
      try {
        const [d] = await status(proj, { composition: label, signal: rt.signal });
        up = (d?.nodes ?? [])
          .filter((n) => n.state === 'running' || n.state === 'starting')
          .map((n) => n.host);
      } catch {
        up = ['(state unknown)'];
      }
      if (up.length > 0) {
        throw new NxcError(
          'NXC_DEPLOYMENT',
          `${label} is still running (${up.join(', ')}); clean would lose track of it`,
          {
            hint: `stop it first with \`nxc stop -C ${label}\`, or use \`nxc clean --force\``,
          },
        );
      }
    }
  }
  const result = await clean(proj, { all: flags.all === true, records: flags.records === true });
  if (flags.json) printJson(rt, result);
  else
    rt.stdout.write(
      result.removed.length
        ? `removed ${result.removed.map((p) => path.relative(proj.root, p) || '.').join(', ')}\n`
        : 'nothing to clean\n',
    );
  return 0;
}
