/**
 * The public surfaces of @nxc/core are what docs/api.md says, one file per `exports` subpath,
 * every export documented, no CLI helper among them, and every type a public declaration
 * names is itself public (else users could not write it down).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = join(pkg, 'src');
const apiDoc = join(pkg, '..', '..', 'docs', 'api.md');

/** `.` -> `@nxc/core`, `./flavour` -> `@nxc/core/flavour`. */
const specifier = (subpath: string) => (subpath === '.' ? '@nxc/core' : `@nxc/core/${subpath.slice(2)}`);
/** The surface file of a subpath: `src/public/<name>.ts`. */
const surfaceFile = (subpath: string) =>
  join(src, 'public', `${subpath === '.' ? 'index' : subpath.slice(2)}.ts`);

const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
};
const subpaths = Object.keys(manifest.exports).filter((s) => s !== './package.json');

/** Names per surface as docs/api.md lists them: `## \`@nxc/core...\`` then `- \`name\`, ... — text`. */
function documentedNames(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of readFileSync(apiDoc, 'utf8').split('\n')) {
    const heading = /^## `(@nxc\/core[^`]*)`/.exec(line);
    if (heading) {
      current = [];
      out.set(heading[1]!, current);
    } else if (/^## /.test(line)) {
      current = undefined;
    } else if (current && line.startsWith('- ')) {
      const head = line.split(' — ')[0]!;
      for (const m of head.matchAll(/`([A-Za-z_$][\w$]*)`/g)) current.push(m[1]!);
    }
  }
  return out;
}

let program: ts.Program;
let checker: ts.TypeChecker;
/** Exported symbols per specifier, aliases resolved. */
const surfaces = new Map<string, Map<string, ts.Symbol>>();

function exportsOf(file: string): Map<string, ts.Symbol> {
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`${file} is not in the program`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error(`${file} is not a module`);
  const out = new Map<string, ts.Symbol>();
  for (const s of checker.getExportsOfModule(moduleSymbol)) {
    out.set(s.name, s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  }
  return out;
}

beforeAll(() => {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(pkg, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  )!;
  program = ts.createProgram({
    rootNames: [join(src, 'index.ts'), ...subpaths.map(surfaceFile)],
    options: { ...config.options, noEmit: true },
  });
  checker = program.getTypeChecker();
  for (const subpath of subpaths) surfaces.set(specifier(subpath), exportsOf(surfaceFile(subpath)));
}, 60_000);

describe('public surfaces of @nxc/core', () => {
  it('are one src/public file per exports subpath, each built by tsup', () => {
    const files = readdirSync(join(src, 'public')).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'),
    );
    expect(files.map((f) => join(src, 'public', f)).sort()).toEqual(subpaths.map(surfaceFile).sort());
    const tsup = readFileSync(join(pkg, 'tsup.config.ts'), 'utf8');
    for (const subpath of subpaths.filter((s) => s !== '.')) {
      expect(tsup, `tsup entry for ${subpath}`).toContain(`'src/public/${subpath.slice(2)}.ts'`);
    }
    // the main entry is exactly public/index
    expect([...exportsOf(join(src, 'index.ts')).keys()].sort()).toEqual(
      [...surfaces.get('@nxc/core')!.keys()].sort(),
    );
  });

  it('export exactly the names docs/api.md lists for them', () => {
    const documented = documentedNames();
    expect([...documented.keys()].sort()).toEqual(subpaths.map(specifier).sort());
    for (const [name, symbols] of surfaces) {
      expect([...symbols.keys()].sort(), `exports of ${name} vs docs/api.md`).toEqual(
        [...(documented.get(name) ?? [])].sort(),
      );
    }
  });

  it('document every export where it is declared (TSDoc)', () => {
    const undocumented: string[] = [];
    for (const [name, symbols] of surfaces) {
      for (const [exported, symbol] of symbols) {
        const docs = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
        if (docs === '') undocumented.push(`${name}: ${exported}`);
      }
    }
    expect(undocumented).toEqual([]);
  });

  it('hold no helper of the CLI (flag parsing, tmux layout, install hints)', () => {
    const cliHelpers = [
      'tmuxLayout',
      'parseGeometry',
      'splitFlags',
      'installCommand',
      'parseParameterFlags',
      'readParameterFile',
    ];
    for (const [name, symbols] of surfaces) {
      expect(
        cliHelpers.filter((h) => symbols.has(h)),
        name,
      ).toEqual([]);
    }
  });

  it('name no type in a public declaration that no surface exports', () => {
    const exported = new Set<ts.Symbol>();
    for (const symbols of surfaces.values()) for (const s of symbols.values()) exported.add(s);
    const missing = new Map<string, Set<string>>();
    const seen = new Set<ts.Node>();
    const visit = (node: ts.Node, owner: string) => {
      if (seen.has(node)) return;
      seen.add(node);
      // (`typeof value` is left out: users name the type built from it, e.g. NxcUserConfig)
      if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node)) {
        const at = ts.isTypeReferenceNode(node) ? node.typeName : node.expression;
        let symbol = checker.getSymbolAtLocation(at);
        if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
        const decl = symbol?.declarations?.[0];
        const file = decl?.getSourceFile().fileName;
        if (symbol && decl && file?.startsWith(src) && !(symbol.flags & ts.SymbolFlags.TypeParameter)) {
          if (!exported.has(symbol)) {
            const key = `${symbol.name} (${relative(src, file)})`;
            if (!missing.has(key)) missing.set(key, new Set());
            missing.get(key)!.add(owner);
          }
          // a type private to a module still counts: look through it
          if (!exported.has(symbol)) for (const d of symbol.declarations ?? []) visit(d, owner);
        }
      }
      // bodies are implementation, not surface
      if (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isArrowFunction(node)) {
        for (const p of node.parameters) visit(p, owner);
        if (node.type) visit(node.type, owner);
        node.typeParameters?.forEach((p) => visit(p, owner));
        return;
      }
      if (ts.isVariableDeclaration(node)) {
        if (node.type) visit(node.type, owner);
        else if (node.initializer && !ts.isArrowFunction(node.initializer)) return;
        else if (node.initializer) visit(node.initializer, owner);
        return;
      }
      ts.forEachChild(node, (child) => visit(child, owner));
    };
    for (const [name, symbols] of surfaces) {
      for (const [exported, symbol] of symbols) {
        for (const d of symbol.declarations ?? []) visit(d, `${name}#${exported}`);
      }
    }
    const report = [...missing].map(([type, owners]) => `${type} <- ${[...owners].slice(0, 3).join(', ')}`);
    expect(report).toEqual([]);
  });
});
