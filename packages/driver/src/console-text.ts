/**
 * What of a node's console `wait_for_console_text` has not read yet. The console is read
 * again at every poll as a list of lines (QEMU: the serial log; docker: the container's
 * output followed by the journal of a systemd node). It is not always an append-only
 * list: the container's output can grow in the middle, before the journal's lines; and a
 * node started again begins a new console.
 */

/**
 * The text of `now` that is not in `read` (the lines an earlier match consumed): `read` is
 * found in `now` as a subsequence, in order, and every other line of `now` is unread. The
 * last line read may have been incomplete (a prompt) and grown since: what it gained is
 * unread. When `now` does not hold every line of `read` in order, the console started over
 * and all of `now` is unread.
 */
export function unreadConsoleText(read: readonly string[], now: readonly string[]): string {
  if (read.length === 0) return now.join('\n');
  const fresh: string[] = [];
  let j = 0;
  for (const line of now) {
    if (j < read.length) {
      const want = read[j]!;
      if (line === want) {
        j++;
        continue;
      }
      if (j === read.length - 1 && line.startsWith(want)) {
        j++;
        fresh.push(line.slice(want.length));
        continue;
      }
    }
    fresh.push(line);
  }
  return j < read.length ? now.join('\n') : fresh.join('\n');
}
