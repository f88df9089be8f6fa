import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isNxcError } from './errors.js';
import { configuredOptions, flagSpelling, resolveFlavourOptions } from './flavour-options.js';
import { makeProject } from './project.js';
import type { Flavour } from './transposition.js';

const project = (flavourOptions: Record<string, Record<string, unknown>> = {}) =>
  makeProject(
    '/p',
    { plugins: [], composition: 'composition.nix', nix: { flags: [], overrideInputs: {} }, flavourOptions },
    { configFile: '/p/nxc.config.json' },
  );

const deployer = async () => {
  throw new Error('never loaded by option checks');
};

const vm: Flavour = {
  name: 'vm',
  description: 'vm',
  build: { image: 'vm' },
  options: z
    .object({
      accel: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
      memory: z.number().int().positive().optional(),
      reuse: z.boolean().default(false),
    })
    .strict(),
  flags: [
    { flag: '--accel <accel>', option: 'accel', type: 'string', description: 'accelerator' },
    { flag: '--memory <MiB>', option: 'memory', type: 'number', description: 'RAM' },
    { flag: '-r, --reuse', option: 'reuse', type: 'boolean', description: 'reuse' },
  ],
  deployer,
};
const vmRamdisk: Flavour = { ...vm, name: 'vm-ramdisk' };
const docker: Flavour = {
  name: 'docker',
  description: 'docker',
  build: { image: 'docker' },
  // passthrough on purpose: core refuses unknown keys even when a schema would keep them
  options: z.object({ concurrency: z.number().int().positive().default(16) }).passthrough(),
  deployer,
};
const bare: Flavour = { name: 'bare', description: 'bare', build: { image: 'vm' }, deployer };
const installed = [docker, vmRamdisk, vm, bare];

function failure(fn: () => unknown): { message: string; hint?: string; exitCode: number } {
  try {
    fn();
  } catch (error) {
    if (isNxcError(error)) return error;
    throw error;
  }
  throw new Error('expected an NxcError');
}

describe('flavour options', () => {
  it('reads flag spellings', () => {
    expect(flagSpelling('--accel <mode>')).toEqual({ long: '--accel', takesValue: true });
    expect(flagSpelling('-y, --yes')).toEqual({ long: '--yes', short: '-y', takesValue: false });
    expect(() => flagSpelling('accel')).toThrow(/not written like/);
  });

  it('merges config, -O and flags (later wins), converts flag values and fills defaults', () => {
    const options = resolveFlavourOptions({
      project: project({ vm: { accel: 'tcg', memory: 256 } }),
      flavour: vm,
      installed,
      options: { memory: 512 },
      flags: { '--memory': '1024', '--reuse': true },
    });
    expect(options).toEqual({ accel: 'tcg', memory: 1024, reuse: true });
    expect(configuredOptions(project(), docker)).toEqual({ concurrency: 16 });
  });

  it('refuses a flag of another flavour, naming the flavours that own it', () => {
    const e = failure(() =>
      resolveFlavourOptions({ project: project(), flavour: docker, installed, flags: { '--accel': 'kvm' } }),
    );
    expect(e.message).toBe('--accel is an option of flavours vm-ramdisk, vm, not of docker');
    expect(e.hint).toMatch(/-f vm-ramdisk/);
    expect(e.exitCode).toBe(2);
  });

  it('refuses an unknown option with a did-you-mean, naming where it was written', () => {
    const e = failure(() =>
      resolveFlavourOptions({ project: project({ docker: { concurency: 4 } }), flavour: docker, installed }),
    );
    expect(e.message).toBe(
      'flavour docker: unknown option "concurency" (in /p/nxc.config.json, flavourOptions.docker); did you mean "concurrency"?',
    );
    expect(e.hint).toBe('options of docker: concurrency');
    expect(e.exitCode).toBe(2);
    const fromO = failure(() =>
      resolveFlavourOptions({ project: project(), flavour: vm, installed, options: { acel: 'kvm' } }),
    );
    expect(fromO.message).toBe('flavour vm: unknown option "acel" (in -O); did you mean "accel"?');
    const far = failure(() =>
      resolveFlavourOptions({ project: project(), flavour: vm, installed, options: { turbo: true } }),
    );
    expect(far.message).toBe('flavour vm: unknown option "turbo" (in -O)');
  });

  it('refuses an ill-typed value in one line naming the option and its origin', () => {
    const e = failure(() =>
      resolveFlavourOptions({ project: project(), flavour: vm, installed, flags: { '--accel': 'xen' } }),
    );
    expect(e.message).toMatch(/^flavour vm: option accel: invalid enum value\. .*'kvm'.* \(in --accel\)$/);
    expect(e.message).not.toContain('\n');
    const typed = failure(() =>
      resolveFlavourOptions({ project: project({ vm: { memory: 'lots' } }), flavour: vm, installed }),
    );
    expect(typed.message).toBe(
      'flavour vm: option memory: expected number, got string (in /p/nxc.config.json, flavourOptions.vm)',
    );
    const notNumber = failure(() =>
      resolveFlavourOptions({ project: project(), flavour: vm, installed, flags: { '--memory': 'lots' } }),
    );
    expect(notNumber.message).toBe('--memory lots: expected a number');
  });

  it('refuses any option for a flavour that takes none', () => {
    const e = failure(() =>
      resolveFlavourOptions({ project: project(), flavour: bare, installed, options: { x: 1 } }),
    );
    expect(e.message).toBe('flavour bare takes no option, got "x" (in -O)');
    expect(resolveFlavourOptions({ project: project(), flavour: bare, installed })).toEqual({});
  });
});

describe('flavour options, collecting every problem (nxc check)', () => {
  it('reports each unknown option, ill-typed value and bad flag, and returns undefined', () => {
    const problems: string[] = [];
    const result = resolveFlavourOptions({
      project: project({ vm: { acel: 'kvm' } }),
      flavour: vm,
      installed,
      options: { memory: 'lots', reuse: 'yes' },
      flags: { '--nope': true },
      onProblem: (p) => problems.push(p.message),
    });
    expect(result).toBeUndefined();
    expect(problems).toEqual([
      'unknown option --nope for flavour vm',
      expect.stringMatching(/unknown option "acel" .*did you mean "accel"/),
      expect.stringMatching(/option memory: .*\(in -O\)/),
      expect.stringMatching(/option reuse: .*\(in -O\)/),
    ]);
  });

  it('returns the parsed options and reports nothing when all is good', () => {
    const problems: string[] = [];
    const result = resolveFlavourOptions({
      project: project(),
      flavour: vm,
      installed,
      options: { memory: 512 },
      onProblem: (p) => problems.push(p.message),
    });
    expect(problems).toEqual([]);
    expect(result).toEqual({ accel: 'auto', memory: 512, reuse: false });
  });
});
