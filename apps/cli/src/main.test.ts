import { describe, expect, it } from 'vitest';
import { VERBS, buildProgram } from './main.js';
import type { Runtime } from './runtime.js';

const rt = { stdout: process.stdout, stderr: process.stderr } as Runtime;
const flags = (program: ReturnType<typeof buildProgram>, verb: string) => {
  const cmd = program.commands.find((c) => c.name() === verb);
  return {
    options: cmd?.options.map((o) => o.flags),
    args: cmd?.registeredArguments.map((a) => a.name()),
    sub: cmd?.commands.map((c) => [c.name(), c.options.map((o) => o.flags)]),
  };
};

describe('buildProgram', () => {
  it('VERBS lists every verb of the program, in its order', () => {
    expect(buildProgram(rt, { exitCode: 0 }).commands.map((c) => c.name())).toEqual([...VERBS]);
  });

  it.each(VERBS)(
    'with only %s: that verb alone, with the same options, arguments and subcommands',
    (verb) => {
      const one = buildProgram(rt, { exitCode: 0 }, verb);
      expect(one.commands.map((c) => c.name())).toEqual([verb]);
      expect(flags(one, verb)).toEqual(flags(buildProgram(rt, { exitCode: 0 }), verb));
      expect(one.options.map((o) => o.flags)).toEqual(
        buildProgram(rt, { exitCode: 0 }).options.map((o) => o.flags),
      );
    },
  );
});
