import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fallbackUnitStateScript, portOpenScript, procNetPort, shq, unitBaseName } from './shell.js';

const sh = (script: string) => execFileSync('sh', ['-c', script], { encoding: 'utf8' });

describe('shq', () => {
  it('quotes anything so that sh gives it back unchanged', () => {
    for (const s of ["it's", 'a b', '$(rm -rf /)', '"; echo x', '', "''", 'ünï\ncode']) {
      expect(sh(`printf %s ${shq(s)}`)).toBe(s);
    }
  });
});

describe('unit and port snippets', () => {
  it('strips .service only', () => {
    expect(unitBaseName('httpd.service')).toBe('httpd');
    expect(unitBaseName('multi-user.target')).toBe('multi-user.target');
    expect(unitBaseName('k3s')).toBe('k3s');
  });

  it('targets only look at /run/nxc/ready; unit names are quoted', () => {
    expect(fallbackUnitStateScript('multi-user.target')).toContain('/run/nxc/ready');
    expect(fallbackUnitStateScript("we'ird.service")).toContain(`n='we'\\''ird'`);
  });

  it('ports are checked in /proc/net/tcp with the upper-case hex port', () => {
    expect(procNetPort(80)).toBe('0050');
    expect(procNetPort(6443)).toBe('192B');
    expect(portOpenScript(6443)).toContain(':192B ');
    expect(portOpenScript(80, '10.0.0.2')).toContain("'10.0.0.2' 80");
    expect(() => portOpenScript(0)).toThrow(/not a TCP port/);
    expect(() => portOpenScript(70000)).toThrow(/not a TCP port/);
  });
});
