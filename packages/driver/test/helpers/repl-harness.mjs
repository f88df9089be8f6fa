/**
 * TEST HELPER: runs `runTestScript({ interactive: true })` from the BUILT package with this
 * process's own stdio (a real terminal when started inside tmux), over a minimal real
 * transport: commands run with `sh -c` on this machine, `NXC_NODE` names the node; a
 * serial console that answers each line sent to it.
 * Usage: node repl-harness.mjs HOST... ; exit code = the driver's.
 */
import { spawn } from 'node:child_process';
import { runTestScript } from '../../dist/index.js';

const hosts = process.argv.slice(2);
const transport = {
  exec(host, command, options) {
    return new Promise((resolve, reject) => {
      // own process group: a terminal Ctrl-C reaches nxc and Python, not the node's commands
      const child = spawn('sh', ['-c', command], { env: { ...process.env, NXC_NODE: host }, detached: true });
      const kill = () => {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {}
      };
      options?.signal?.addEventListener('abort', kill, { once: true });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => {
        stdout += c;
      });
      child.stderr.on('data', (c) => {
        stderr += c;
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ exitCode: code ?? 1, stdout, stderr }));
    });
  },
  async shell() {
    throw new Error('no shell');
  },
  async copyTo() {},
  async copyFrom() {},
  async close() {},
};
const deployment = {
  deployment: Object.fromEntries(hosts.map((h, i) => [`10.0.0.${i + 2}`, { host: h, role: h }])),
  'ssh_key.pub': '',
  composition: 'composition',
  flavour: 'local',
  user: 'root',
};
// A serial console that answers each line it receives (as a shell on ttyS0 would echo it).
const consoleText = ['boot'];
const nodeConsole = {
  async consoleLines() {
    return [...consoleText];
  },
  async sendConsole(_host, chars) {
    for (const line of chars.split('\n').filter(Boolean)) consoleText.push(`console got: ${line}`);
  },
};
// Like the CLI: Ctrl-C aborts the signal (in the REPL it only interrupts the running command).
const ac = new AbortController();
process.on('SIGINT', () => ac.abort());
const result = await runTestScript({
  transport,
  deployment,
  interactive: true,
  signal: ac.signal,
  console: nodeConsole,
});
process.exitCode = result.exitCode;
