/**
 * Reading what `kadeploy3` reports. Its client prints, after the progress lines,
 *   The deployment is successful on nodes
 *   node-a
 *   The deployment failed on nodes
 *   node-b (<error of the node's last step>)
 * and with `-o FILE` / `-n FILE` appends the OK / KO node names to those files (one a line).
 * The files are authoritative for which node is where; the text gives the reasons.
 */

/** Per-node outcome of a Kadeploy run. */
export interface KadeployOutcome {
  ok: string[];
  ko: Array<{ node: string; reason: string }>;
}

/** Parses kadeploy3's output (and the contents of its `-o` / `-n` files when given). */
export function parseKadeployOutput(text: string, files: { ok?: string; ko?: string } = {}): KadeployOutcome {
  const okText: string[] = [];
  const koText = new Map<string, string>();
  let section: 'ok' | 'ko' | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (/^The \w+ is successful on nodes$/.test(line)) {
      section = 'ok';
      continue;
    }
    if (/^The \w+ failed on nodes$/.test(line)) {
      section = 'ko';
      continue;
    }
    if (!section) continue;
    const m = /^([A-Za-z0-9._-]+)(?:\s+\((.*)\))?$/.exec(line);
    if (!m?.[1]) {
      section = undefined;
      continue;
    }
    if (section === 'ok') okText.push(m[1]);
    else koText.set(m[1], m[2]?.trim() || 'no reason given');
  }
  const lines = (s: string | undefined): string[] | undefined =>
    s === undefined
      ? undefined
      : s
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean);
  const okFile = lines(files.ok);
  const koFile = lines(files.ko);
  const ok = [...new Set(okFile ?? okText)];
  const koNames = [...new Set(koFile ?? [...koText.keys()])].filter((n) => !ok.includes(n));
  return { ok, ko: koNames.map((node) => ({ node, reason: koText.get(node) ?? 'no reason given' })) };
}
