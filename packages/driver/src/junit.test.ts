import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { junitXml, writeJunit, xmlEscape } from './junit.js';

const report = {
  suite: 'composition::docker',
  timestamp: new Date('2026-11-22T01:02:03.456Z'),
  durationS: 12.3456,
  subtests: [
    { name: 'server starts', ok: true, durationS: 1.5 },
    {
      name: 'clients › reach <server>',
      ok: false,
      durationS: 0.25,
      message: 'client1: command `curl "x" && y` failed (exit code 7)',
      code: 'NXC_TEST_FAILED',
      details: 'stderr:\n  refused & \u0007gone',
      line: 12,
    },
  ],
};

describe('junitXml', () => {
  it('writes one testcase per subtest, failures with message, type and output', () => {
    expect(junitXml(report)).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<testsuites name="nxc driver" tests="2" failures="1" errors="0" time="12.346">',
        '  <testsuite name="composition::docker" tests="2" failures="1" errors="0" skipped="0" time="12.346" timestamp="2026-11-22T01:02:03">',
        '    <testcase name="server starts" classname="composition::docker" time="1.500"/>',
        '    <testcase name="clients › reach &lt;server&gt;" classname="composition::docker" time="0.250">',
        '      <failure message="client1: command `curl &quot;x&quot; &amp;&amp; y` failed (exit code 7) (test script line 12)" type="NXC_TEST_FAILED">client1: command `curl &quot;x&quot; &amp;&amp; y` failed (exit code 7) (test script line 12)',
        'stderr:',
        '  refused &amp; gone</failure>',
        '    </testcase>',
        '  </testsuite>',
        '</testsuites>',
        '',
      ].join('\n'),
    );
  });

  it('escapes the five XML specials and drops characters XML cannot hold', () => {
    expect(xmlEscape(`<a href="x">'&'</a>\u0000\u001b`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;',
    );
  });
});

describe('writeJunit', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes atomically: the final file only, no temp file left, replaces an old report', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'junit-'));
    const file = path.join(dir, 'sub', 'report.xml');
    await writeJunit(file, { ...report, subtests: [] });
    await writeJunit(file, report);
    expect(await readFile(file, 'utf8')).toBe(junitXml(report));
    expect(await readdir(path.join(dir, 'sub'))).toEqual(['report.xml']);
  });

  it('an unwritable place is an NXC_IO error naming the file, and leaves nothing', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'junit-'));
    const file = path.join(dir, 'report.xml');
    // a directory where the file should be: rename fails
    const { mkdir } = await import('node:fs/promises');
    await mkdir(file);
    await expect(writeJunit(file, report)).rejects.toMatchObject({
      code: 'NXC_IO',
      message: expect.stringMatching(/^cannot write the JUnit report .*report.xml: E/),
    });
    expect((await readdir(dir)).sort()).toEqual(['report.xml']);
  });
});
