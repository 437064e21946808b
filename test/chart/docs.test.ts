// values.yaml's `## @param` comments are the one source of the chart's docs: README.md's Parameters table and
// values.schema.json's descriptions are generated from them, and a hand edit of either (or a new value without a
// comment) fails here with the command that regenerates them.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { chartFiles, DOCS_COMMAND, generatedReadme, generatedSchema, type ChartFiles } from './docs.ts';

/** A scratch copy of the chart's three doc files, with values.yaml edited by `edit`. */
function scratch(edit: (values: string) => string): ChartFiles {
  const dir = mkdtempSync(join(tmpdir(), 'pullguard-docs-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const files = { values: join(dir, 'values.yaml'), readme: join(dir, 'README.md'), schema: join(dir, 'values.schema.json') };
  writeFileSync(files.values, edit(readFileSync(chartFiles.values, 'utf8')));
  copyFileSync(chartFiles.readme, files.readme);
  copyFileSync(chartFiles.schema, files.schema);
  return files;
}

t.test('README.md has the Parameters table generated from values.yaml', async (t) => {
  const committed = readFileSync(chartFiles.readme, 'utf8');
  t.ok(committed.includes('## Parameters'), 'a Parameters section to generate into');
  t.equal(committed, generatedReadme(), `charts/pullguard/README.md has drifted from values.yaml: run ${DOCS_COMMAND}`);
});

t.test('values.schema.json has the descriptions generated from values.yaml', async (t) => {
  t.equal(readFileSync(chartFiles.schema, 'utf8'), generatedSchema(), `charts/pullguard/values.schema.json has drifted from values.yaml: run ${DOCS_COMMAND}`);
});

t.test('every value is documented: values.yaml and the table list the same keys', async (t) => {
  const leaves = (v: unknown, path: string): string[] =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length > 0
      ? Object.entries(v).flatMap(([k, child]) => leaves(child, path ? `${path}.${k}` : k))
      : [path];
  const values = YAML.parse(readFileSync(chartFiles.values, 'utf8')) as Record<string, unknown>;
  const section = readFileSync(chartFiles.readme, 'utf8').split('\n## Parameters\n')[1] ?? '';
  const rows = [...section.matchAll(/^\| `([^`]+)` +\|/gm)].map((m) => m[1] ?? '');
  // A map documented as a whole (e.g. labels with a default entry) covers its entries.
  const covered = (key: string) => key.split('.').some((_, i, parts) => rows.includes(parts.slice(0, i + 1).join('.')));
  t.same(leaves(values, '').filter((key) => !covered(key)), [], 'every value has a row (its own or its map’s)');
  const exists = (key: string) => key.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], values) !== undefined;
  t.same(rows.filter((key) => !exists(key)), [], 'every row is a value');
});

t.test('schema descriptions are the values.yaml descriptions, config included', async (t) => {
  const schema = JSON.parse(readFileSync(chartFiles.schema, 'utf8')) as { properties: Record<string, { properties: Record<string, { description?: string; properties?: Record<string, { description?: string }> }> }> };
  t.match(schema.properties['image']?.properties['repository']?.description, /pullguard's image/);
  t.match(schema.properties['config']?.properties['mode']?.description, /^`enforce` denies/);
  t.match(schema.properties['config']?.properties['cache']?.properties?.['maxEntries']?.description, /cache entries/);
});

t.test('a changed description is a drift the checks see', async (t) => {
  const files = scratch((v) => v.replace('## @param replicaCount Replicas;', '## @param replicaCount How many pods;'));
  t.not(generatedReadme(files), readFileSync(files.readme, 'utf8'), 'the README table would change');
  t.not(generatedSchema(files), readFileSync(files.schema, 'utf8'), 'the schema would change');
  t.match(generatedSchema(files), '"description": "How many pods;');
});

t.test('a value without a ## @param comment is refused, naming the key and the command', async (t) => {
  const files = scratch((v) => `${v}\nundocumented: 1\n`);
  t.throws(() => generatedReadme(files), { message: /Missing metadata for key: undocumented[\s\S]*npm run chart:docs/ });
});

t.test('a documented key the schema does not have is refused', async (t) => {
  const files = scratch((v) => `${v}\n## @param brandNew A new value\nbrandNew: 1\n`);
  t.throws(() => generatedSchema(files), { message: /documents brandNew, but values\.schema\.json has no such property/ });
});
