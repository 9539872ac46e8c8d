// The import-direction check of STYLE.md "Layers you can see from the folder list":
// parsers → decode → track → check → analysis → report/export → cli, with src/record and
// src/protocol as the base anyone may import. Every way a module can pull in another is
// read from the TypeScript syntax tree (so comments and strings never count): static
// `import … from`, `export … from`, bare `import '…'`, `import x = require('…')`,
// dynamic `import('…')`, `require('…')` and type-position `import('…').T`. A dynamic
// import or require whose specifier is not a literal cannot be checked, so it is reported.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** Layer of a path relative to the repo root; higher may import lower, never the reverse. */
export function layer(rel: string): { rank: number; group: string } | undefined {
  const table: readonly [string, number][] = [
    ['src/record/', 0],
    ['src/protocol/', 0],
    ['parsers/', 1],
    ['capture/', 1],
    ['src/decode/', 2],
    ['src/track/', 3],
    ['src/check/', 4],
    ['src/analysis/', 5],
    ['src/report/', 6],
    ['src/export/', 6],
    ['src/cli/', 7],
    ['dashboards/', 7],
  ];
  const posix = rel.split('\\').join('/');
  for (const [prefix, rank] of table) if (posix.startsWith(prefix)) return { rank, group: prefix };
  return undefined;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** A module specifier found in a file, or `undefined` for a computed one that cannot be checked. */
export interface ImportSite {
  readonly specifier: string | undefined;
  readonly how: string;
  readonly line: number;
}

function literal(n: ts.Node | undefined): string | undefined {
  return n !== undefined && (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) ? n.text : undefined;
}

/** Every import of `text` (a TypeScript module), in source order. */
export function importsOf(fileName: string, text: string): ImportSite[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: ImportSite[] = [];
  const at = (n: ts.Node): number => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n)) {
      out.push({ specifier: literal(n.moduleSpecifier), how: n.importClause === undefined ? 'bare import' : 'import', line: at(n) });
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier !== undefined) {
      out.push({ specifier: literal(n.moduleSpecifier), how: 'export from', line: at(n) });
    } else if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference)) {
      out.push({ specifier: literal(n.moduleReference.expression), how: 'import = require', line: at(n) });
    } else if (ts.isCallExpression(n)) {
      const dynamic = n.expression.kind === ts.SyntaxKind.ImportKeyword;
      const req = ts.isIdentifier(n.expression) && n.expression.text === 'require';
      if (dynamic || req) out.push({ specifier: literal(n.arguments[0]), how: dynamic ? 'dynamic import()' : 'require()', line: at(n) });
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument)) {
      out.push({ specifier: literal(n.argument.literal), how: 'import() type', line: at(n) });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** Imports against the layer direction in the source folders under `root`. */
export function layerViolations(root: string): string[] {
  const bad: string[] = [];
  const files = ['src', 'parsers', 'capture', 'dashboards'].flatMap((d) => {
    try {
      return sources(join(root, d));
    } catch {
      return [];
    }
  });
  for (const file of files) {
    const rel = relative(root, file);
    const from = layer(rel);
    if (from === undefined) continue;
    for (const site of importsOf(file, readFileSync(file, 'utf8'))) {
      if (site.specifier === undefined) {
        bad.push(`${rel}:${site.line}: ${site.how} with a computed specifier cannot be checked against the layers`);
        continue;
      }
      if (!site.specifier.startsWith('.')) continue; // node: builtins and packages
      const target = relative(root, resolve(dirname(file), site.specifier));
      const to = layer(target);
      if (to === undefined) continue;
      const ok = to.rank < from.rank || to.group === from.group;
      if (!ok) bad.push(`${rel}:${site.line}: ${site.how} of ${target} (layer ${to.group} may not be imported from ${from.group})`);
    }
  }
  return bad;
}
