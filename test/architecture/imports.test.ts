// The layering of src/ is checked, not only described: src/registry only through its index, no upward imports,
// no import cycles. The checker itself is tested on small made-up graphs first, so a pass means something.
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { checkGraph, cycles, readImportGraph, type ImportGraph } from './import-graph.ts';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const graphOf = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));

t.test('the checker finds each kind of violation in a made-up graph', async (t) => {
  const report = checkGraph(graphOf({
    'verdict/check.ts': ['registry/resolve.ts', 'registry/index.ts', 'workloads/podspec.ts'],
    'registry/index.ts': ['registry/resolve.ts'],
    'registry/resolve.ts': ['reference/reference.ts'],
    'reference/reference.ts': [],
    'workloads/podspec.ts': [],
    'cluster/a.ts': ['cluster/b.ts'],
    'cluster/b.ts': ['cluster/a.ts'],
    'mystery/x.ts': [],
  }));
  t.same(report.registryBypasses, ['verdict/check.ts -> registry/resolve.ts'], 'an import of a registry internal from outside');
  t.same(report.upward, ['verdict/check.ts -> workloads/podspec.ts (verdict imports workloads, a layer above it)']);
  t.same(report.fileCycles, ['cluster/a.ts -> cluster/b.ts -> cluster/a.ts']);
  t.same(report.unplaced, ['mystery'], 'a folder with no layer is reported, not ignored');
  t.same(report.folderCycles, []);
});

t.test('cycles are reported once each, as a closed path, including a self-import and folder cycles', async (t) => {
  t.same(cycles(graphOf({ a: ['b'], b: ['c'], c: ['a', 'd'], d: [], e: ['e'] })), ['a -> b -> c -> a', 'e -> e']);
  t.same(cycles(graphOf({ a: ['b'], b: [] })), []);
  const folders = checkGraph(graphOf({ 'registry/x.ts': ['credentials/y.ts'], 'credentials/y.ts': ['registry/index.ts'], 'registry/index.ts': [] }));
  t.same(folders.folderCycles, ['credentials -> registry -> credentials']);
  t.same(folders.fileCycles, []);
});

const graph = readImportGraph(SRC);
const report = checkGraph(graph);

t.test('src/ is read whole, static, type-only, re-exported and dynamic imports alike', async (t) => {
  t.ok(graph.size > 40, `${graph.size} files`);
  t.ok(graph.get('cli/program.ts')?.includes('cli/resolve.ts'), 'a dynamic import() counts');
  t.ok(graph.get('cluster/node-info.ts')?.some((f) => f.startsWith('cluster/')), 'a type-only import counts');
});

t.test('every folder of src/ has a layer', async (t) => {
  t.same(report.unplaced, [], 'add new folders to LAYERS in test/architecture/import-graph.ts');
});

t.test('no module imports a layer above its own', async (t) => {
  t.same(report.upward, []);
});

// Cycles on main that their folder's owner is to break (a type-only import each); any other cycle fails now.
// None left: registry/inspect.ts <-> registry/not-found.ts was broken by moving InspectRequest into outcome.ts.
const KNOWN_CYCLES: Record<string, string> = {};
t.test('there are no import cycles between files or folders', async (t) => {
  t.same(report.fileCycles.filter((c) => KNOWN_CYCLES[c] === undefined), [], 'no file cycle besides the known ones');
  for (const [cycle, todo] of Object.entries(KNOWN_CYCLES)) t.notOk(report.fileCycles.includes(cycle), cycle, { todo });
  t.same(report.folderCycles, []);
});

// A reason string turns the assertion into a todo (its diff lists every bypass) while known ones are removed;
// false makes any bypass fail. None is left (audit/questions.ts takes cacheKey from registry/index.ts).
const BYPASSES_PENDING = false as string | false;
t.test('nothing outside src/registry imports its internals: registry/index.ts is the only door', async (t) => {
  t.same(report.registryBypasses, [], 'imports of src/registry files other than its index', BYPASSES_PENDING === false ? {} : { todo: BYPASSES_PENDING });
});
