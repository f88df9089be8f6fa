/** A minimal QMP client (QEMU Machine Protocol: JSON lines on a unix socket). */
import { connect } from 'node:net';

/**
 * Sends one command (after the capabilities handshake) and resolves with its `return`,
 * or rejects on error / timeout. `quit` may close the socket before answering: that counts as done.
 */
export function qmpCommand(
  socketPath: string,
  execute: string,
  timeoutMs = 3000,
  args?: Record<string, unknown>,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let buf = '';
    let stage: 'greeting' | 'caps' | 'cmd' = 'greeting';
    let done = false;
    const finish = (err?: Error, value?: unknown): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(
      () => finish(new Error(`QMP ${execute}: no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    sock.on('error', (e) => finish(e));
    sock.on('close', () =>
      stage === 'cmd' && execute === 'quit'
        ? finish(undefined, {})
        : finish(new Error(`QMP socket closed during ${stage}`)),
    );
    sock.on('data', (d) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        if ('event' in msg) continue;
        if (stage === 'greeting' && 'QMP' in msg) {
          stage = 'caps';
          sock.write(`${JSON.stringify({ execute: 'qmp_capabilities' })}\n`);
        } else if (stage === 'caps' && 'return' in msg) {
          stage = 'cmd';
          sock.write(`${JSON.stringify(args ? { execute, arguments: args } : { execute })}\n`);
        } else if (stage === 'cmd' && 'return' in msg) {
          finish(undefined, msg.return);
        } else if ('error' in msg) {
          finish(new Error(`QMP ${execute}: ${JSON.stringify(msg.error)}`));
        }
      }
    });
  });
}

/**
 * Runs a human monitor (HMP) command through QMP (`human-monitor-command`) and returns its
 * text. HMP reports most failures as text, not as a QMP error: callers check the text.
 */
export async function hmpCommand(socketPath: string, commandLine: string, timeoutMs = 3000): Promise<string> {
  const r = await qmpCommand(socketPath, 'human-monitor-command', timeoutMs, { 'command-line': commandLine });
  return typeof r === 'string' ? r : '';
}
