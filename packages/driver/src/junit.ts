/**
 * JUnit XML report of a test-script run: one `<testcase>` per `subtest`, failures with
 * their one-line message and the output as text. Written atomically (temp file + rename)
 * so a CI never reads half a report.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NxcError } from '@nxc/core';

/** One subtest as run. */
export interface SubtestResult {
  /** Name; nested subtests are joined with ` › ` (outer › inner). */
  name: string;
  ok: boolean;
  /** Seconds. */
  durationS: number;
  /** One line, when it failed. */
  message?: string;
  /** Error code (NXC_TEST_FAILED, NXC_TIMEOUT...), when it failed. */
  code?: string;
  /** Output and context, when it failed. */
  details?: string;
  /** Line of the test script where it failed. */
  line?: number;
}

/** What the report is about. */
export interface JunitReport {
  /** Suite name, e.g. `composition::docker`. */
  suite: string;
  subtests: SubtestResult[];
  /** When the run started. */
  timestamp: Date;
  /** Whole run duration in seconds. */
  durationS: number;
}

// XML 1.0 forbids most control characters even escaped: drop them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

/** Escapes text for an XML attribute or element. */
export function xmlEscape(text: string): string {
  return text
    .replace(INVALID_XML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function seconds(s: number): string {
  return (Math.round(s * 1000) / 1000).toFixed(3);
}

/** Renders the report. */
export function junitXml(report: JunitReport): string {
  const failures = report.subtests.filter((t) => !t.ok).length;
  const tests = report.subtests.length;
  const suite = xmlEscape(report.suite);
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="nxc driver" tests="${tests}" failures="${failures}" errors="0" time="${seconds(report.durationS)}">`,
    `  <testsuite name="${suite}" tests="${tests}" failures="${failures}" errors="0" skipped="0" time="${seconds(report.durationS)}" timestamp="${report.timestamp.toISOString().replace(/\.\d{3}Z$/, '')}">`,
  ];
  for (const t of report.subtests) {
    const open = `    <testcase name="${xmlEscape(t.name)}" classname="${suite}" time="${seconds(t.durationS)}"`;
    if (t.ok) {
      out.push(`${open}/>`);
      continue;
    }
    const where = t.line === undefined ? '' : ` (test script line ${t.line})`;
    const message = `${t.message ?? 'failed'}${where}`;
    out.push(`${open}>`);
    out.push(
      `      <failure message="${xmlEscape(message)}" type="${xmlEscape(t.code ?? 'NXC_TEST_FAILED')}">${xmlEscape(
        [message, t.details ?? ''].filter(Boolean).join('\n'),
      )}</failure>`,
    );
    out.push('    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>', '');
  return out.join('\n');
}

/** Writes the report to `file` atomically (parent folders created). */
export async function writeJunit(file: string, report: JunitReport): Promise<void> {
  const target = path.resolve(file);
  const tmp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(tmp, junitXml(report), 'utf8');
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { force: true });
    throw new NxcError(
      'NXC_IO',
      `cannot write the JUnit report ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      {
        hint: 'give --junit a path in a writable directory',
        cause: error,
      },
    );
  }
}
