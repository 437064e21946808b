// The import graph of src/ and the three rules it must keep: src/registry is entered only through its index, no
// module imports a layer above its own, and there are no cycles (file or folder). Imports are read with
// TypeScript's own pre-processor (static, type-only, re-exports and dynamic import()), so comments never count.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** file → the src files it imports; paths relative to src/ (`registry/index.ts`). */
export type ImportGraph = Map<string, string[]>;

/**
 * Layers from the bottom: a module may import its own layer or lower ones. The data flows
 * admission → workloads → verdict → registry/credentials, cluster sits below verdict, reference (with config, schema and
 * metrics, which import nothing of ours but each other) at the bottom; the CLI drives everything.
 */
export const LAYERS: Readonly<Record<string, number>> = {
  reference: 0,
  'config.ts': 0,
  'metrics.ts': 0,
  'schema.ts': 0,
  registry: 1,
  credentials: 1,
  cluster: 1,
  verdict: 2,
  workloads: 3,
  admission: 4,
  audit: 4,
  cli: 5,
};

export const REGISTRY_DOOR = 'registry/index.ts';

export function readImportGraph(srcDir: string): ImportGraph {
  const graph: ImportGraph = new Map();
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []));
  for (const file of walk(srcDir)) {
    const imports = ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => relative(srcDir, resolve(dirname(file), spec)));
    graph.set(relative(srcDir, file), [...new Set(imports)].sort());
  }
  return graph;
}

/** The folder (or top-level file) a src path belongs to: `registry`, `config.ts`. */
export function unitOf(path: string): string {
  return path.split('/')[0] ?? path;
}

export interface GraphReport {
  /** `from -> to` for every import into src/registry other than through its index. */
  registryBypasses: string[];
  /** `from -> to (layer a imports layer b)` for every import of a higher layer. */
  upward: string[];
  /** Folders or top-level files missing from LAYERS. */
  unplaced: string[];
  /** Each cycle of files, as `a -> b -> a`. */
  fileCycles: string[];
  /** Each cycle of folders, as `a -> b -> a`. */
  folderCycles: string[];
}

export function checkGraph(graph: ImportGraph, layers: Readonly<Record<string, number>> = LAYERS): GraphReport {
  const registryBypasses: string[] = [];
  const upward: string[] = [];
  const unplaced = new Set<string>();
  const folders: ImportGraph = new Map();
  for (const [from, imports] of graph) {
    const fromUnit = unitOf(from);
    if (layers[fromUnit] === undefined) unplaced.add(fromUnit);
    for (const to of imports) {
      const toUnit = unitOf(to);
      if (layers[toUnit] === undefined) unplaced.add(toUnit);
      if (toUnit === 'registry' && fromUnit !== 'registry' && to !== REGISTRY_DOOR) registryBypasses.push(`${from} -> ${to}`);
      const a = layers[fromUnit];
      const b = layers[toUnit];
      if (a !== undefined && b !== undefined && b > a) upward.push(`${from} -> ${to} (${fromUnit} imports ${toUnit}, a layer above it)`);
      if (fromUnit !== toUnit) folders.set(fromUnit, [...new Set([...(folders.get(fromUnit) ?? []), toUnit])]);
    }
  }
  return {
    registryBypasses,
    upward,
    unplaced: [...unplaced].sort(),
    fileCycles: cycles(graph),
    folderCycles: cycles(folders),
  };
}

/** Strongly connected components with more than one member (or a self-import), each shown as one closed path. */
export function cycles(graph: ImportGraph): string[] {
  // Tarjan's algorithm, iterative over a sorted node list so the report is stable.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(next) ?? 0));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component);
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return found.map((component) => closedPath(graph, new Set(component))).sort();
}

/** One closed path through a component, from its first member in sort order: `a -> b -> a`. */
function closedPath(graph: ImportGraph, members: Set<string>): string {
  const start = [...members].sort()[0] ?? '';
  // Breadth-first back to the start, staying inside the component.
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift() ?? '';
    for (const next of graph.get(node) ?? []) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [node];
        for (let at = node; at !== start; ) {
          at = previous.get(at) ?? start;
          path.unshift(at);
        }
        return [...path, start].join(' -> ');
      }
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return [...members].sort().join(' <-> ');
}
