/** Schema of a network condition as nxc records it (net state file, deployment record). */
import { z } from 'zod';
import { lazy } from './lazy.js';

/** One recorded condition (built on first use). */
export const conditionSchema = lazy(() => {
  const end = z.object({ host: z.string(), address: z.string() }).strict();
  return z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('partition'), a: end, b: end }).strict(),
    z
      .object({
        kind: z.literal('delay'),
        a: end,
        b: end,
        delayMs: z.number(),
        jitterMs: z.number().optional(),
      })
      .strict(),
    z.object({ kind: z.literal('loss'), a: end, b: end, percent: z.number() }).strict(),
    z.object({ kind: z.literal('rate'), a: end, b: end, kbitPerSecond: z.number() }).strict(),
  ]);
});
