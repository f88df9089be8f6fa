import { describe, expect, it } from 'vitest';
import { fallbackUnitStateScript, portOpenScript, procNetPort, unitBaseName } from './shell.js';

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
    expect(portOpenScript(80, '10.0.0.2')).toContain('nc -z -w 2 10.0.0.2 80');
    expect(portOpenScript(80, 'a b')).toContain("nc -z -w 2 'a b' 80");
    expect(() => portOpenScript(0)).toThrow(/not a TCP port/);
    expect(() => portOpenScript(70000)).toThrow(/not a TCP port/);
  });
});
