/**
 * Pane layout of `nxc connect` with several hosts, in the original nxc's geometry syntax:
 * `1+3+2` = three columns of 1, 3 and 2 panes; `2*3` = two columns of 3 panes; `4` = one
 * column of 4. Pure: the CLI runs the tmux commands.
 */
import { NxcError } from '@nxc/core';

/** Default geometry by pane count (the original's table). */
const DEFAULT_GEOMETRY = ['1', '1+1', '1+2', '2+2', '2+3', '3+3', '3+4', '4+4'];

/**
 * Parses a tmux geometry into pane counts per column, left to right. Without a geometry,
 * picks the original's default for `paneCount` panes (at most 8).
 */
export function parseGeometry(geometry: string | undefined, paneCount: number): number[] {
  const g = geometry ?? DEFAULT_GEOMETRY[Math.min(7, Math.max(0, paneCount - 1))]!;
  const bad = (why: string) =>
    new NxcError('NXC_USAGE', `-g ${g}: ${why}`, {
      hint: 'use N (one column), A+B+C (columns of A, B, C panes) or C*N (C columns of N panes)',
    });
  const int = (s: string) => {
    if (!/^\s*\d+\s*$/.test(s)) throw bad(`"${s}" is not a number`);
    const n = Number(s);
    if (n < 1) throw bad('pane counts must be at least 1');
    return n;
  };
  if (g.includes('+') && g.includes('*')) throw bad('mixing + and * is not supported');
  if (g.includes('+')) return g.split('+').map(int);
  if (g.includes('*')) {
    const parts = g.split('*');
    if (parts.length !== 2) throw bad('expected C*N');
    return Array.from({ length: int(parts[0]!) }, () => int(parts[1]!));
  }
  return [int(g)];
}

/** One pane to create: split `from` (index into earlier panes, -1 = the window's first pane). */
export interface PaneStep {
  /** Index of the pane to split (in creation order); undefined for the first pane. */
  split?: number;
  /** `h`: new column to the right; `v`: new pane below. */
  direction?: 'h' | 'v';
  /** Size of the new pane in percent of the split pane. */
  percent?: number;
  /** Index of the command it runs (into the commands given to {@link tmuxLayout}). */
  command: number;
}

/**
 * Plans the panes for `columns` (see {@link parseGeometry}): creation order, which pane to
 * split, direction and size, so columns are equal width and panes in a column equal height.
 * Pane commands are numbered column by column, top to bottom.
 */
export function tmuxLayout(columns: number[]): PaneStep[] {
  const steps: PaneStep[] = [];
  const top: number[] = []; // creation index of each column's top pane
  const n = columns.length;
  steps.push({ command: 0 });
  top.push(0);
  // command index of the first pane of each column
  const firstCmd: number[] = [];
  columns.reduce((acc, k, i) => {
    firstCmd[i] = acc;
    return acc + k;
  }, 0);
  for (let v = 1; v < n; v++) {
    steps.push({
      split: top[v - 1]!,
      direction: 'h',
      percent: Math.round((100 * (n - v)) / (n - v + 1)),
      command: firstCmd[v]!,
    });
    top.push(steps.length - 1);
  }
  for (let v = 0; v < n; v++) {
    const k = columns[v]!;
    let last = top[v]!;
    for (let h = 1; h < k; h++) {
      steps.push({
        split: last,
        direction: 'v',
        percent: Math.round((100 * (k - h)) / (k - h + 1)),
        command: firstCmd[v]! + h,
      });
      last = steps.length - 1;
    }
  }
  return steps;
}
