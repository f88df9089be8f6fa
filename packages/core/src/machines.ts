/**
 * Machine files (`-m FILE`, typically `$OAR_NODEFILE` on Grid'5000): one host per line.
 * OAR repeats a host once per reserved core, so duplicates are collapsed, keeping the
 * first-seen order (the order decides which machine gets which node).
 */
import { NxcError } from './errors.js';
import { displayPath, readUserFile } from './validation.js';

const HINT = 'pass a file with one host per line, e.g. -m $OAR_NODEFILE';

/**
 * Reads a machine file: blank lines and `#` comments ignored, surrounding spaces trimmed,
 * duplicates collapsed in first-seen order.
 *
 * @throws NxcError `NXC_MACHINES` when the file is missing, unreadable, holds no host, or a
 *   line holds more than one word.
 */
export async function readMachineFile(file: string): Promise<string[]> {
  const where = displayPath(file);
  const text = await readUserFile(file, { code: 'NXC_MACHINES', what: 'machine file', hint: HINT });
  const hosts: string[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    if (/\s/.test(line)) {
      throw new NxcError('NXC_MACHINES', `${where}:${index + 1}: "${line}" is not one host name`, {
        hint: HINT,
      });
    }
    if (!seen.has(line)) {
      seen.add(line);
      hosts.push(line);
    }
  });
  if (hosts.length === 0) {
    throw new NxcError('NXC_MACHINES', `machine file ${where} lists no host`, { hint: HINT });
  }
  return hosts;
}
