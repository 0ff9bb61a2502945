// The core's layers (ARCHITECTURE.md) import only downward, and its modules form no cycle. Every import of every
// file under src/ is read with TypeScript's own pre-processor (static, `import type`, re-exports and literal
// dynamic `import()`; comments and strings are not imports), each file is given the layer of its first folder under
// src/, and the test fails naming every edge that goes up a layer, across peers, out of src/ (app/, workers/,
// cli/ are hosts of the core, never its dependencies) or round a cycle. And an architecture is described once: no file
// outside src/model/arch (in src/, app/, workers/ or cli/) compares a value with a family's name or a model_type
// (`=== 'gpt2'`, `case 'qwen2':`); it asks the descriptor's recipe instead.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import { DESCRIPTORS, SUPPORTED_MODEL_TYPES } from '../../src/model/arch';

const SRC = join(__dirname, '../../src');

/**
 * Lowest first; a file imports only from its own layer or a lower row. Layers on one row are peers and import
 * none of each other. 'errors' is src/errors.ts, the error types every layer may throw.
 */
const LAYERS: string[][] = [
  ['errors'], ['gpu'], ['ops'], ['model'], ['tokenize'], ['io'], ['data'], ['train'], ['generate'], ['eval', 'export'],
  ['storage'], ['engine'],
];
const rowOf = new Map(LAYERS.flatMap((row, i) => row.map((layer) => [layer, i] as const)));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(e.name) ? [path] : [];
  });
}

/** The module a relative specifier names: a .ts/.tsx file, a folder's index, or a non-TS asset (`.wgsl?raw`). */
function resolve(from: string, spec: string): string {
  const base = join(dirname(from), spec.replace(/\?.*$/, ''));
  const found = [`${base}.ts`, `${base}.tsx`, join(base, 'index.ts'), base].find((p) => existsSync(p) && statSync(p).isFile());
  if (!found) throw new Error(`${relative(SRC, from)}: cannot resolve ${spec}`);
  return found;
}

const layerOf = (file: string): string => relative(SRC, file).split('/')[0].replace(/\.tsx?$/, '');

interface Edge { from: string; to: string }
const show = (e: Edge): string => `${relative(SRC, e.from)} (${layerOf(e.from)}) → ${relative(SRC, e.to)} (${layerOf(e.to)})`;

/** Every relative import edge of `files` (package imports such as 'idb' or 'node:fs' are not edges). */
function importEdges(files: string[]): Edge[] {
  return files.flatMap((from) => ts.preProcessFile(readFileSync(from, 'utf8'), true, true).importedFiles
    .filter((f) => f.fileName.startsWith('.'))
    .map((f) => ({ from, to: resolve(from, f.fileName) })));
}

/** Edges that leave src/, climb to a higher row, or cross between peers or into a folder no row names. */
function layerViolations(edges: Edge[]): string[] {
  return edges.filter(({ from, to }) => {
    if (relative(SRC, to).startsWith('..')) return true;
    const [a, b] = [layerOf(from), layerOf(to)];
    if (a === b) return false;
    const [ra, rb] = [rowOf.get(a), rowOf.get(b)];
    return ra === undefined || rb === undefined || rb >= ra;
  }).map(show);
}

/** The import cycles among TS modules (Tarjan's strongly connected components), each as the edges inside it. */
function importCycles(edges: Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const index = new Map<string, number>(), low = new Map<string, number>(), onStack = new Set<string>();
  const stack: string[] = [], cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size); low.set(v, index.get(v)!); stack.push(v); onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc = new Set<string>();
    for (let w = ''; w !== v;) { w = stack.pop()!; onStack.delete(w); scc.add(w); }
    const inside = edges.filter((e) => scc.has(e.from) && scc.has(e.to));
    if (scc.size > 1 || inside.length > 0) cycles.push(inside.map(show));
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

describe('src/ layers', () => {
  const files = sourceFiles(SRC);
  const edges = importEdges(files);

  test('every file of src/ is in a layer of ARCHITECTURE.md', () => {
    expect(files.length).toBeGreaterThan(100);
    expect([...new Set(files.map(layerOf))].filter((l) => !rowOf.has(l))).toEqual([]);
  });

  test('imports go only down a layer, never to a peer, never out of src/', () => {
    expect(layerViolations(edges)).toEqual([]);
  });

  test('no module import cycle', () => {
    expect(importCycles(edges)).toEqual([]);
  });

  test('the checks find what they look for', () => {
    // Made-up edges on real files, so a scan that stopped seeing imports would fail here as well as pass above.
    const f = (p: string): string => join(SRC, p);
    expect(edges.length).toBeGreaterThan(300);
    expect(layerViolations([
      { from: f('ops/rope.ts'), to: f('model/config.ts') },
      { from: f('eval/metrics.ts'), to: f('export/zip.ts') },
      { from: f('gpu/runtime.ts'), to: join(SRC, '../workers/data-host.ts') },
      { from: f('model/config.ts'), to: f('ops/rope.ts') },
    ])).toEqual([
      'ops/rope.ts (ops) → model/config.ts (model)',
      'eval/metrics.ts (eval) → export/zip.ts (export)',
      'gpu/runtime.ts (gpu) → ../workers/data-host.ts (..)',
    ]);
    expect(importCycles([
      { from: f('data/a.ts'), to: f('data/b.ts') }, { from: f('data/b.ts'), to: f('data/c.ts') },
      { from: f('data/c.ts'), to: f('data/a.ts') }, { from: f('data/c.ts'), to: f('data/d.ts') },
    ])).toEqual([['data/a.ts (data) → data/b.ts (data)', 'data/b.ts (data) → data/c.ts (data)', 'data/c.ts (data) → data/a.ts (data)']]);
  });
});

/** Family names and model types, as the descriptors list them. */
const FAMILY_NAMES = new Set<string>([...DESCRIPTORS.map((d) => d.family), ...SUPPORTED_MODEL_TYPES]);
const COMPARISONS = new Set([ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken]);

/** Each place in `source` that compares with a family name (`x === 'gpt2'`, `case 'llama':`), as `line: text`. */
function familyComparisons(name: string, source: string): string[] {
  const file = ts.createSourceFile(name, source, ts.ScriptTarget.Latest, true, name.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const named = (n: ts.Node) => ts.isStringLiteralLike(n) && FAMILY_NAMES.has(n.text);
  const found: string[] = [];
  const visit = (n: ts.Node): void => {
    const hit = (ts.isBinaryExpression(n) && COMPARISONS.has(n.operatorToken.kind) && (named(n.left) || named(n.right))) || (ts.isCaseClause(n) && named(n.expression));
    if (hit) found.push(`${name}:${file.getLineAndCharacterOfPosition(n.getStart()).line + 1}: ${n.getText().split('\n')[0]}`);
    ts.forEachChild(n, visit);
  };
  visit(file);
  return found;
}

describe('an architecture is described once', () => {
  const ROOT = join(__dirname, '../..');
  const ARCH = join(SRC, 'model/arch');
  const files = ['src', 'app', 'workers', 'cli'].flatMap((d) => sourceFiles(join(ROOT, d))).filter((f) => !f.startsWith(`${ARCH}/`));

  test('nothing outside src/model/arch compares a family name', () => {
    expect(files.length).toBeGreaterThan(150);
    expect(files.flatMap((f) => familyComparisons(relative(ROOT, f), readFileSync(f, 'utf8')))).toEqual([]);
  });

  test('the check finds what it looks for', () => {
    expect(FAMILY_NAMES).toContain('gpt2');
    expect(FAMILY_NAMES).toContain('qwen2');
    expect(familyComparisons('x.ts', [
      "if (c.architecture !== 'gpt2') f();",
      "const q = kind === 'qwen2' ? 1 : 0;",
      "switch (t) { case 'smollm3': break; }",
      "const name = 'llama'; const ok = name === 'mistral-like';",
      "const table = { llama: 1 }; const s = 'gpt2';",
    ].join('\n'))).toEqual([
      "x.ts:1: c.architecture !== 'gpt2'",
      "x.ts:2: kind === 'qwen2'",
      "x.ts:3: case 'smollm3': break;",
    ]);
  });
});
