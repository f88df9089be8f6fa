/** zod, re-declared here so that `@nxc/core/flavour` documents it where it is declared. */
import { z as zod } from 'zod';

/**
 * zod, as core reads it: flavours build their options and state schemas with it, so their
 * schemas and core's checks use one copy. (Types such as `z.infer` come from `zod` itself.)
 */
export const z: typeof zod = zod;
