/** Helpers shared by actions (loaded lazily, may import @nxc/core). */
import { type Project, loadProject } from '@nxc/core';
import { type Renderer, createRenderer, renderMode } from '../render.js';
import type { Runtime } from '../runtime.js';

/** The project around the working directory. */
export function project(rt: Runtime): Promise<Project> {
  return loadProject(rt.cwd);
}

/** A renderer for this command's progress on stderr. */
export function renderer(rt: Runtime, json: boolean | undefined): Renderer {
  return createRenderer(renderMode(json === true, rt.stderr), rt.stderr);
}

/** Writes data as pretty JSON on stdout. */
export function printJson(rt: Runtime, data: unknown): void {
  rt.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
}

/** Left-pads columns of a small table. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows
    .map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  '))
    .join('\n');
}
