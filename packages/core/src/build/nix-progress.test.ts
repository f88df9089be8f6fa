import { describe, expect, it } from 'vitest';
import { NixProgress, derivationName, summarizeNixError } from './nix-progress.js';

const at = (o: unknown) => `@nix ${JSON.stringify(o)}`;

describe('NixProgress', () => {
  it('counts derivations built against the Builds activity, newest `expected` wins', () => {
    const p = new NixProgress();
    p.line(at({ action: 'start', id: 1, level: 0, type: 104, text: '' }));
    p.line(at({ action: 'result', id: 1, type: 105, fields: [0, 7, 0, 0] }));
    p.line(at({ action: 'result', id: 9, type: 105, fields: [0, 42, 0, 0] })); // another activity
    p.line(at({ action: 'result', id: 1, type: 105, fields: [0, 2, 0, 0] }));
    p.line(
      at({
        action: 'start',
        id: 2,
        type: 105,
        text: "building '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-foo-system.drv'",
        fields: ['/nix/store/0123456789abcdfghijklmnpqrsvwxyz-foo-system.drv', '', 1, 1],
      }),
    );
    expect(p.state.current).toBe('building foo-system');
    p.line(at({ action: 'result', id: 2, type: 101, fields: ['compiling things'] }));
    p.line(at({ action: 'stop', id: 2 }));
    expect(p.state).toMatchObject({ built: 1, total: 2, builtNames: ['foo-system'] });
    expect(p.state.logTail).toContain('compiling things');
  });

  it('keeps errors and warnings apart, strips colours, ignores garbage', () => {
    const p = new NixProgress();
    p.line(at({ action: 'msg', level: 0, msg: '\u001b[31;1merror:\u001b[0m boom' }));
    p.line(at({ action: 'msg', level: 1, msg: 'warning: not writing lock file' }));
    p.line('@nix {not json');
    p.line('plain stderr line');
    expect(p.state.errors).toEqual(['error: boom']);
    expect(p.state.warnings).toEqual(['warning: not writing lock file']);
    expect(p.state.logTail).toEqual(['plain stderr line']);
  });
});

describe('summarizeNixError', () => {
  it('keeps the most specific error line and a few lines of detail', () => {
    const trace = [
      'error: while evaluating the attribute',
      '       … while calling something',
      '       at /nix/store/x/compose.nix:3:1:',
      "error: attribute 'doesNotExist' missing",
      '       at /nix/store/y-source/composition.nix:14:52:',
      '           13|     server = { pkgs, ... }: {',
    ].join('\n');
    const s = summarizeNixError([trace], []);
    expect(s.message).toBe("attribute 'doesNotExist' missing");
    expect(s.details.split('\n')).toHaveLength(2);
  });

  it('builder failures: the failing derivation plus the quoted log lines, without the "full logs" hint', () => {
    const msg = [
      "error: builder for '/nix/store/aaa-foo.drv' failed with exit code 1;",
      '       last 3 log lines:',
      '       > step 1',
      '       > step 2',
      '       > tar: command not found',
      "       For full logs, run 'nix log /nix/store/aaa-foo.drv'.",
    ].join('\n');
    const s = summarizeNixError([msg], []);
    expect(s.message).toBe("builder for '/nix/store/aaa-foo.drv' failed with exit code 1");
    expect(s.details).toContain('tar: command not found');
    expect(s.details).not.toContain('full logs');
  });

  it('a dependency that failed: its builder failure, not "1 dependencies ... failed to build"', () => {
    const builder = [
      "error: builder for '/nix/store/aaa-busybox-static.drv' failed with exit code 2;",
      '       last 2 log lines:',
      '       > unpacking sources',
      '       > patchelf: cannot open: No such file',
      "       For full logs, run 'nix log /nix/store/aaa-busybox-static.drv'.",
    ].join('\n');
    const dependent =
      "error: 1 dependencies of derivation '/nix/store/bbb-compose-info-composition-docker.json.drv' failed to build";
    const s = summarizeNixError([builder, dependent], []);
    expect(s.message).toBe("builder for '/nix/store/aaa-busybox-static.drv' failed with exit code 2");
    expect(s.details).toContain('patchelf: cannot open');
  });

  it('falls back on the log tail when Nix printed no error message', () => {
    expect(summarizeNixError([], ['first', 'error: last words']).message).toBe('last words');
  });

  it('derivationName strips store prefix and .drv', () => {
    expect(
      derivationName('/nix/store/0123456789abcdfghijklmnpqrsvwxyz-compose-info-composition-docker.json.drv'),
    ).toBe('compose-info-composition-docker.json');
  });
});
