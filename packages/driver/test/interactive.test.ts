/**
 * `-I` in a real terminal: tmux runs the driver (built package) with its own stdio; we type
 * into the Python REPL and read the screen.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const harness = path.join(import.meta.dirname, 'helpers/repl-harness.mjs');
const dist = path.join(import.meta.dirname, '../dist/index.js');
const session = `nxc-driver-repl-${process.pid}`;
let dir: string;

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

async function screenUntil(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let screen = '';
  while (Date.now() < deadline) {
    screen = tmux('capture-pane', '-p', '-t', session);
    if (pattern.test(screen)) return screen;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`screen never matched ${pattern}:\n${screen}`);
}

beforeAll(() => {
  expect(existsSync(dist), 'build the package first: pnpm turbo run build --filter @nxc/driver...').toBe(
    true,
  );
  dir = mkdtempSync(path.join(tmpdir(), 'nxc-driver-repl-'));
});

afterAll(() => {
  try {
    tmux('kill-session', '-t', session);
  } catch {}
  rmSync(dir, { recursive: true, force: true });
});

describe('nxc driver -I in a terminal', () => {
  it('opens a Python REPL with the node objects; Ctrl-D exits 0', async () => {
    const status = path.join(dir, 'status');
    tmux(
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      '160',
      '-y',
      '40',
      `node ${harness} server web-1; echo "exit=$?" > ${status}; sleep 60`,
    );
    await screenUntil(/nodes: server, web_1[\s\S]*^>>>\s*$/m);
    tmux('send-keys', '-t', session, 'print(server.succeed("echo $NXC_NODE-says-hi"))', 'Enter');
    await screenUntil(/^server-says-hi$/m);
    tmux('send-keys', '-t', session, 'web_1.succeed("exit 9")', 'Enter');
    const screen = await screenUntil(/web-1: command `exit 9` failed \(exit code 9\)/);
    expect(screen).toContain('RemoteError');
    // Ctrl-C interrupts the running command, not the session
    tmux('send-keys', '-t', session, 'server.succeed("sleep 30; echo slept")', 'Enter');
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = Date.now();
    tmux('send-keys', '-t', session, 'C-c');
    await screenUntil(/KeyboardInterrupt[\s\S]*^>>>\s*$/m, 5000);
    tmux('send-keys', '-t', session, 'print(server.succeed("echo still-$NXC_NODE"))', 'Enter');
    await screenUntil(/^still-server$/m, 5000);
    expect(Date.now() - t0).toBeLessThan(5000);
    // console_interact: each line typed goes to the serial console, its answer is shown
    tmux('send-keys', '-t', session, 'server.console_interact()', 'Enter');
    await screenUntil(/server: serial console \(each line is sent on Enter; Ctrl-D returns\)/, 5000);
    tmux('send-keys', '-t', session, 'uname -a', 'Enter');
    await screenUntil(/^console got: uname -a$/m, 5000);
    tmux('send-keys', '-t', session, 'C-d');
    await screenUntil(/server: left the serial console[\s\S]*^>>>\s*$/m, 5000);
    tmux('send-keys', '-t', session, 'C-d');
    for (let i = 0; i < 100 && !existsSync(status); i++) await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(status, 'utf8').trim()).toBe('exit=0');
  });
});
