import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The layers, as DESIGN.md draws them: cli → {runner, history} → {twin, injectors, load,
 * observe, bpf} → core; detect, diagnose, reports and export depend on core only, so they work on a
 * saved run folder (or a scenario file). This test reads every import of every source file (tests included) and holds the
 * tree to that.
 */
const root = new URL('..', import.meta.url).pathname;
const FOLDERS = ['core', 'runner', 'twin', 'injectors', 'load', 'observe', 'bpf', 'detect', 'diagnose', 'history', 'reports', 'export', 'cli', 'bench'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name.startsWith('.') || entry.name === 'testdata' || entry.name === 'fixtures') return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Each file's relative imports, as paths from the repository root. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s(?:[^'"]*?\sfrom\s)?['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return specifiers.map((s) => relative(root, resolve(dirname(file), s)));
}

const files = FOLDERS.flatMap((folder) => {
  try {
    return sources(join(root, folder));
  } catch {
    return [];
  }
});
const graph = new Map(files.map((file) => [relative(root, file), importsOf(file)]));
const layer = (path: string) => path.split('/')[0]!;

test('lower layers never import the run loop, and detect and reports import only core', () => {
  const wrong: string[] = [];
  for (const [file, imports] of graph) {
    const from = layer(file);
    for (const target of imports) {
      const to = layer(target);
      if (to === from || to === 'node_modules') continue;
      if (['twin', 'injectors', 'load', 'observe', 'bpf', 'detect', 'diagnose', 'reports', 'export', 'core'].includes(from) && (to === 'runner' || to === 'cli' || to === 'history')) wrong.push(`${file} -> ${target}`);
      if (['detect', 'diagnose', 'reports', 'export'].includes(from) && to !== 'core' && !file.endsWith('.test.ts')) wrong.push(`${file} -> ${target}`);
      if (from === 'core' && !file.endsWith('.test.ts')) wrong.push(`${file} -> ${target}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test("no file imports another folder's private files: across top folders, only through index.ts (tests may reach into their own layer's helpers)", () => {
  const wrong: string[] = [];
  for (const [file, imports] of graph) {
    for (const target of imports) {
      const from = layer(file);
      const to = layer(target);
      if (from === to || to === 'core') continue;
      if (!target.endsWith('/index.ts') && !/\/testing\.ts$/.test(target)) wrong.push(`${file} -> ${target}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('there are no import cycles between source files', () => {
  const cycles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'visiting');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'visiting') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' -> '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  assert.deepEqual(cycles, []);
});
