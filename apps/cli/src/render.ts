/**
 * Renders core's progress events: a live status line on a TTY, plain lines when piped,
 * JSON lines with --json (on stderr, so stdout stays the command's data).
 */
import type { ProgressEvent, Reporter } from '@nxc/core';
import pc from 'picocolors';

export type RenderMode = 'tty' | 'plain' | 'json';

/** A reporter that can also clear its live line before the command prints results. */
export interface Renderer extends Reporter {
  /** Removes the live line (call before writing to stdout/stderr yourself). */
  clear(): void;
}

/** Picks the mode from --json and whether stderr is a terminal. */
export function renderMode(json: boolean, stream: NodeJS.WriteStream): RenderMode {
  if (json) return 'json';
  return stream.isTTY && process.env.TERM !== 'dumb' ? 'tty' : 'plain';
}

function describe(event: ProgressEvent): string {
  switch (event.type) {
    case 'step':
    case 'done':
    case 'warn':
      return event.message;
    case 'progress':
      return `${event.task} ${event.current}/${event.total}${event.detail ? ` ${event.detail}` : ''}`;
    case 'node':
      return `${event.host}: ${event.state}${event.detail ? ` (${event.detail})` : ''}`;
  }
}

let active: Renderer | undefined;

/** Clears the live line of the renderer in use, if any (before printing an error or a notice). */
export function clearLive(): void {
  active?.clear();
}

/** Creates the renderer for a mode, writing to `stream` (stderr). */
export function createRenderer(mode: RenderMode, stream: NodeJS.WriteStream): Renderer {
  active = make(mode, stream);
  return active;
}

function make(mode: RenderMode, stream: NodeJS.WriteStream): Renderer {
  if (mode === 'json') {
    return {
      emit(event) {
        stream.write(`${JSON.stringify({ ...event, time: new Date().toISOString() })}\n`);
      },
      clear() {},
    };
  }
  if (mode === 'plain') {
    return {
      emit(event) {
        const prefix = event.type === 'warn' ? 'warning: ' : '';
        stream.write(`${prefix}${describe(event)}\n`);
      },
      clear() {},
    };
  }
  let live = false;
  const clear = () => {
    if (live) stream.write('\r\x1b[K');
    live = false;
  };
  return {
    emit(event) {
      clear();
      const text = describe(event);
      if (event.type === 'progress' || event.type === 'node') {
        const width = (stream.columns ?? 80) - 3;
        stream.write(`${pc.cyan('›')} ${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
        live = true;
      } else if (event.type === 'warn') {
        stream.write(`${pc.yellow('warning:')} ${text}\n`);
      } else if (event.type === 'done') {
        stream.write(`${pc.green('✔')} ${text}\n`);
      } else {
        stream.write(`${pc.cyan('›')} ${text}\n`);
      }
    },
    clear,
  };
}
