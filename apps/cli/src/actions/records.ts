/** `nxc records` and `nxc records show ID`. */
import path from 'node:path';
import { type DeploymentRecord, listRecords, readRecord } from '@nxc/core';
import { UsageError } from '../failure.js';
import type { Runtime } from '../runtime.js';
import { printJson, project, table } from './common.js';

export async function recordsAction(
  rt: Runtime,
  verb: string | undefined,
  id: string | undefined,
  flags: { json?: boolean },
): Promise<number> {
  const proj = await project(rt);
  if (verb !== undefined) {
    if (verb !== 'show')
      throw new UsageError(
        `nxc records: unknown action "${verb}"`,
        'use `nxc records` or `nxc records show ID`',
      );
    if (!id)
      throw new UsageError('nxc records show: which record?', 'give its id (`nxc records` lists them)');
    const { record, path: file } = await readRecord(proj, id);
    if (flags.json) printJson(rt, record);
    else rt.stdout.write(describe(record, path.relative(rt.cwd, file)));
    return 0;
  }
  const { records, problems } = await listRecords(proj);
  // a bad file is one line, on stderr: the list (and --json) stays usable
  for (const p of problems) rt.stderr.write(`warning: ${p.message}\n`);
  if (flags.json) {
    printJson(rt, records);
    return 0;
  }
  if (records.length === 0) {
    rt.stdout.write('no deployment record (every successful `nxc start` writes one)\n');
    return 0;
  }
  rt.stdout.write(
    `${table([
      ['STARTED', 'DEPLOYMENT', 'NODES', 'ID', 'FILE'],
      ...records.map((r) => [
        r.startedAt,
        `${r.composition}::${r.flavour}${r.retry ? ' (retry)' : ''}`,
        String(r.nodes),
        r.id.slice(-8),
        path.relative(rt.cwd, r.path),
      ]),
    ])}\n`,
  );
  return 0;
}

/** A record for humans: what ran, where, built from what (`--json` has everything). */
function describe(r: DeploymentRecord, file: string): string {
  const lines = [
    `record      ${r.id} (${file})`,
    `deployment  ${r.composition}::${r.flavour}${r.retry ? ' (retry of failed nodes)' : ''}`,
    `started     ${r.startedAt}, returned ${r.endedAt}`,
    `versions    @nxc/core ${r.versions.core}, ${r.versions.plugin.name} ${r.versions.plugin.version ?? '(no version)'}`,
    `compose     ${r.composeInfo.storePath ?? r.composeInfo.file}`,
  ];
  const inputs = Object.entries(r.flake.inputs).map(([name, i]) =>
    i.follows
      ? `${name} follows ${i.follows.join('/')}`
      : `${name} ${i.rev ?? i.narHash ?? i.type ?? ''}`.trim(),
  );
  lines.push(
    `inputs      ${r.flake.lock === null ? (r.flake.note ?? 'no lock') : inputs.join(', ') || '(none)'}`,
  );
  if (r.replayOf) {
    const how = r.replication
      ? `replication (${(r.changedParameters ?? []).join(', ')} changed)`
      : 'repetition';
    lines.push(
      `replay of   ${r.replayOf}: ${how}, compose info ${r.composeInfoOrigin === 'rebuilt' ? 'rebuilt with the recorded lock' : 'as recorded'}`,
    );
    for (const change of r.replayChanges ?? []) lines.push(`            ${change}`);
  }
  if (r.identity)
    lines.push(`identity    ${r.identity.kind === 'file' ? r.identity.file : 'the project identity'}`);
  if (r.parameters) lines.push(`parameters  ${JSON.stringify(r.parameters)}`);
  if (r.kernelParams) lines.push(`kernel      ${r.kernelParams}`);
  if (r.platform) lines.push(`platform    ${JSON.stringify(r.platform)}`);
  lines.push(
    '',
    table([
      ['HOST', 'ROLE', 'ADDRESS', 'MACHINE', 'STATE', 'READY'],
      ...r.nodes.map((n) => [n.host, n.role, n.address, n.machine ?? '-', n.state, n.readyAt ?? '-']),
    ]),
  );
  return `${lines.join('\n')}\n`;
}
