import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The layers of src/, lowest first: a file may import at runtime from its own layer and the ones
// below it. Type-only imports are erased by the compiler, so they may point anywhere.
const LAYERS: readonly (readonly string[])[] = [
  ['protocol'],
  ['auth'],
  ['config', 'store'],
  ['net'],
  ['observability'],
  ['server'],
  ['modules'],
  ['main.ts'],
];

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [relative(SRC, path)] : [];
  });
}

// `import … from './x.js'`, `export … from './x.js'` and bare `import './x.js'`, over several lines.
const IMPORT = /^(?:import|export)\s+(type\s+)?(?:([^'";]*?)\s*from\s*)?['"](\.[^'"]+)['"]/gms;

/** Whether the compiler keeps an import: it drops `import type` and lists of `type` names only. */
function isRuntime(typeKeyword: string | undefined, clause: string | undefined): boolean {
  if (typeKeyword) return false;
  if (clause === undefined) return true;
  const named = /^\{([^}]*)\}$/s.exec(clause.trim());
  if (!named) return true; // a default or namespace import, or `export *`
  const names = named[1]!.split(',').map((n) => n.trim()).filter(Boolean);
  return names.length === 0 || names.some((n) => !n.startsWith('type '));
}

function runtimeImports(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(join(SRC, file), 'utf8');
    const targets: string[] = [];
    for (const [, typeKeyword, clause, spec] of text.matchAll(IMPORT)) {
      if (!isRuntime(typeKeyword, clause)) continue;
      targets.push(join(dirname(file), spec!).replace(/\.js$/, '.ts'));
    }
    graph.set(file, targets);
  }
  return graph;
}

/** Tarjan's strongly connected components with more than one file, or a file importing itself. */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)?.includes(v)) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

function layerOf(file: string): number {
  const top = file.split(/[\\/]/)[0]!;
  const layer = LAYERS.findIndex((names) => names.includes(top));
  if (layer < 0) throw new Error(`${file} is in no layer of this test`);
  return layer;
}

describe('layering of src/', () => {
  const graph = runtimeImports();

  it('reads the imports it checks and can find a cycle', () => {
    // A regex that silently matched nothing would make the other checks pass vacuously.
    expect(graph.get(join('server', 'server.ts'))).toContain(join('server', 'router.ts'));
    expect(graph.get(join('server', 'router.ts'))).not.toContain(join('server', 'server.ts'));
    expect(isRuntime(undefined, '{ relay, type Outgoing }')).toBe(true);
    expect(isRuntime(undefined, '{ type Outgoing }')).toBe(false);
    expect(isRuntime('type ', '{ Outgoing }')).toBe(false);
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['d']]]))).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('has no runtime import cycle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('imports at runtime only from the same layer or below', () => {
    const upward: string[] = [];
    for (const [file, targets] of graph)
      for (const target of targets) if (layerOf(target) > layerOf(file)) upward.push(`${file} -> ${target}`);
    expect(upward).toEqual([]);
  });
});
