/**
 * Main entry of `@nxc/core` (the `.` export). The public surfaces live in `public/`, one file
 * per `exports` subpath: `public/index.ts` (this entry) and `public/flavour.ts`
 * (`@nxc/core/flavour`).
 */
export * from './public/index.js';
