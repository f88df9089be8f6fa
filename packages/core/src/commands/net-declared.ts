/**
 * Declared network conditions: the composition's `network` list and `nxc start --net FILE`,
 * both a list of entries `{ from, to, partition?, delay?, jitter?, loss?, rate? }` between
 * two sets of nodes (hostnames, `@role`, `all`). Start resolves them against the deployment
 * and applies them once the nodes are up.
 */
import { extname } from 'node:path';
import { z } from 'zod';
import type { DeploymentDocument } from '../deployment.js';
import { NxcError } from '../errors.js';
import { lazy } from '../lazy.js';
import type { NetworkCondition } from '../transposition.js';
import { readUserFile } from '../validation.js';
import { type NetRequest, checkValue, parseDelay, parseLoss, parseRate } from './net.js';
import { resolveTargets } from './targets.js';

/** One declared condition between the nodes of `from` and those of `to` (built on first use). */
export const declaredConditionSchema = lazy(() => {
  const side = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
  const value = z.union([z.string().min(1), z.number()]);
  return z
    .object({
      from: side,
      to: side,
      partition: z.boolean().optional(),
      delay: value.optional(),
      jitter: value.optional(),
      loss: value.optional(),
      rate: value.optional(),
    })
    .strict();
});

/** One declared condition (composition `network` list, `nxc start --net FILE`). */
export type DeclaredCondition = z.infer<ReturnType<typeof declaredConditionSchema>>;

const asText = (v: string | number, unit: string) => (typeof v === 'number' ? `${v}${unit}` : v);

function requests(d: DeclaredCondition): NetRequest[] {
  const out: NetRequest[] = [];
  if (d.partition) out.push({ kind: 'partition' });
  if (d.delay !== undefined) {
    out.push({
      kind: 'delay',
      delayMs: parseDelay(asText(d.delay, 'ms')),
      ...(d.jitter !== undefined ? { jitterMs: parseDelay(asText(d.jitter, 'ms')) } : {}),
    });
  }
  if (d.loss !== undefined) out.push({ kind: 'loss', percent: parseLoss(asText(d.loss, '%')) });
  if (d.rate !== undefined) out.push({ kind: 'rate', kbitPerSecond: parseRate(asText(d.rate, 'kbit')) });
  return out;
}

/**
 * Checks a declared list (raw) and resolves it against the deployment into the conditions to
 * put in force, one per kind and pair of nodes (a later entry for the same kind and pair wins).
 * `where` names the source in errors ("composition network", "--net conditions.json").
 * @throws NxcError `NXC_USAGE` naming the entry and what is wrong.
 */
export function resolveDeclared(
  doc: DeploymentDocument,
  declared: unknown[],
  where: string,
): NetworkCondition[] {
  const out = new Map<string, NetworkCondition>();
  declared.forEach((raw, i) => {
    const at = `${where}, entry ${i + 1}`;
    const parsed = declaredConditionSchema().safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new NxcError('NXC_USAGE', `${at}: ${issue.path.join('.') || 'entry'}: ${issue.message}`, {
        hint: 'write each entry as { from = "@client"; to = "@server"; delay = "50ms"; } (keys: from, to, partition, delay, jitter, loss, rate)',
      });
    }
    const d = parsed.data;
    if (d.jitter !== undefined && d.delay === undefined) {
      throw new NxcError('NXC_USAGE', `${at}: jitter without delay`, {
        hint: 'add a delay, e.g. delay = "50ms"',
      });
    }
    let reqs: NetRequest[];
    try {
      reqs = requests(d);
      for (const r of reqs) checkValue(r);
    } catch (error) {
      if (error instanceof NxcError) {
        throw new NxcError('NXC_USAGE', `${at}: ${error.message}`, {
          ...(error.hint ? { hint: error.hint } : {}),
        });
      }
      throw error;
    }
    if (reqs.length === 0) {
      throw new NxcError('NXC_USAGE', `${at}: no condition (partition, delay, loss or rate)`, {
        hint: 'add e.g. delay = "50ms" or partition = true',
      });
    }
    const list = (s: string | string[]) => (typeof s === 'string' ? [s] : s);
    const a = resolveTargets(doc, list(d.from), `${at}: from`);
    const b = resolveTargets(doc, list(d.to), `${at}: to`);
    const both = a.filter((n) => b.some((m) => m.host === n.host)).map((n) => n.host);
    if (both.length > 0) {
      throw new NxcError('NXC_USAGE', `${at}: node ${both.join(', ')} is on both sides`, {
        hint: 'name each node on one side only',
      });
    }
    for (const r of reqs) {
      for (const x of a) {
        for (const y of b) {
          const k = `${r.kind}\0${[x.host, y.host].sort().join('\0')}`;
          out.set(k, {
            ...r,
            a: { host: x.host, address: x.address },
            b: { host: y.host, address: y.address },
          } as NetworkCondition);
        }
      }
    }
  });
  return [...out.values()];
}

/**
 * Reads `nxc start --net FILE`: a JSON (`.json`) or YAML list of declared conditions, checked
 * for shape here (the nodes are resolved at start).
 * @throws NxcError `NXC_USAGE` when the file is missing, not parseable or not a list.
 */
export async function readNetworkFile(file: string): Promise<unknown[]> {
  const text = await readUserFile(file, {
    code: 'NXC_USAGE',
    what: 'network conditions file',
    hint: 'pass an existing JSON or YAML file listing { from, to, delay, ... } entries',
  });
  let data: unknown;
  try {
    data = extname(file).toLowerCase() === '.json' ? JSON.parse(text) : (await import('yaml')).parse(text);
  } catch (error) {
    throw new NxcError(
      'NXC_USAGE',
      `--net ${file}: not valid ${extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML'} (${(error instanceof Error ? error.message : String(error)).split('\n')[0]})`,
      { hint: 'fix the syntax' },
    );
  }
  if (!Array.isArray(data)) {
    throw new NxcError('NXC_USAGE', `--net ${file}: expected a list of conditions`, {
      hint: 'e.g. [{"from": "@client", "to": "@server", "delay": "50ms"}]',
    });
  }
  data.forEach((raw, i) => {
    const parsed = declaredConditionSchema().safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new NxcError(
        'NXC_USAGE',
        `--net ${file}, entry ${i + 1}: ${issue.path.join('.') || 'entry'}: ${issue.message}`,
        { hint: 'keys: from, to, partition, delay, jitter, loss, rate' },
      );
    }
  });
  return data;
}
