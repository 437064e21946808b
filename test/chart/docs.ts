// The chart's documentation has one source, the `## @param key description` comments in values.yaml. From them this
// module makes README.md's Parameters table (with @bitnami/readme-generator-for-helm) and the descriptions in
// values.schema.json, whose `config` section is also regenerated from the server's own config schema.
// `node test/chart/docs.ts` (npm run chart:docs) writes both files; docs.test.ts fails when they drift.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../../src/config.ts';
import { chartDir } from './helm.ts';

/** What a reader of a drift failure should run. */
export const DOCS_COMMAND = 'npm run chart:docs';

/** Config keys the chart derives from its other values (see config.test.ts); values.yaml cannot set them. */
export const chartOwnedConfig: [section: 'server' | 'registry', key: string][] = [
  ['server', 'tlsCertFile'],
  ['server', 'tlsKeyFile'],
  ['server', 'defaultTimeoutSeconds'],
  ['registry', 'configFile'],
];

export interface ChartFiles {
  values: string;
  readme: string;
  schema: string;
}

export const chartFiles: ChartFiles = {
  values: join(chartDir, 'values.yaml'),
  readme: join(chartDir, 'README.md'),
  schema: join(chartDir, 'values.schema.json'),
};

interface Param {
  name: string;
  description: string;
  extra?: boolean;
  skip?: boolean;
}

interface Generator {
  runReadmeGenerator(options: { values: string; readme: string; config?: string }): void;
  config: unknown;
  parseMetadataComments(valuesFile: string, config: unknown): { parameters: Param[] };
}

const require = createRequire(import.meta.url);

function generator(): Generator {
  const pkg = '@bitnami/readme-generator-for-helm';
  return {
    ...(require(pkg) as Pick<Generator, 'runReadmeGenerator'>),
    ...(require(`${pkg}/lib/parser`) as Pick<Generator, 'parseMetadataComments'>),
    config: require(`${pkg}/config.json`) as unknown,
  };
}

/** Runs `fn` with console.log captured (the generator narrates every step); its errors carry what it printed. */
function quietly<T>(fn: () => T): T {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
  try {
    return fn();
  } catch (err) {
    const detail = lines.filter((l) => l.startsWith('ERROR')).join('\n');
    throw new Error(`values.yaml's ## @param metadata is wrong (${(err as Error).message}):\n${detail}\nFix values.yaml, then run ${DOCS_COMMAND}.`, { cause: err });
  } finally {
    console.log = log;
  }
}

/** README.md as generated from values.yaml: the `## Parameters` section replaced, everything else kept. */
export function generatedReadme(files: ChartFiles = chartFiles): string {
  const dir = mkdtempSync(join(tmpdir(), 'pullguard-chart-docs-'));
  try {
    const copy = join(dir, 'README.md');
    copyFileSync(files.readme, copy);
    quietly(() => generator().runReadmeGenerator({ values: files.values, readme: copy }));
    return readFileSync(copy, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type SchemaNode = { description?: string; properties?: Record<string, SchemaNode>; additionalProperties?: unknown; [k: string]: unknown };

/** The server's config schema less the chart-owned keys: what values.schema.json's `config` must be. */
export function chartConfigSchema(): SchemaNode {
  const copy = JSON.parse(JSON.stringify(configSchema)) as SchemaNode;
  for (const [section, key] of chartOwnedConfig) delete copy.properties?.[section]?.properties?.[key];
  return copy;
}

/** The node `path` names, or undefined where the schema leaves that part free-form (e.g. resources.requests.cpu). */
function nodeAt(schema: SchemaNode, path: string[], name: string): SchemaNode | undefined {
  let node = schema;
  for (const key of path) {
    const next = node.properties?.[key];
    if (next === undefined) {
      if (node.properties === undefined && node.additionalProperties !== false) return undefined;
      throw new Error(`values.yaml documents ${name}, but values.schema.json has no such property; add it to the schema`);
    }
    node = next;
  }
  return node;
}

/** values.schema.json as generated: the committed constraints, `config` from the server, descriptions from values.yaml. */
export function generatedSchema(files: ChartFiles = chartFiles): string {
  const schema = JSON.parse(readFileSync(files.schema, 'utf8')) as SchemaNode & { properties: Record<string, SchemaNode> };
  const { config } = schema.properties;
  schema.properties['config'] = { ...(config?.description === undefined ? {} : { description: config.description }), ...chartConfigSchema() };
  const { parameters } = quietly(() => generator().parseMetadataComments(files.values, generator().config));
  for (const param of parameters) {
    if (param.skip || !param.description) continue;
    const node = nodeAt(schema, param.name.split('.'), param.name);
    if (node === undefined) continue;
    const { description: _old, ...rest } = node;
    // Description first, so a reader of the schema meets it before the constraints.
    for (const key of Object.keys(node)) delete node[key];
    Object.assign(node, { description: param.description }, rest);
  }
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/** Writes both generated files in place. */
export function writeDocs(files: ChartFiles = chartFiles): void {
  const readme = generatedReadme(files);
  const schema = generatedSchema(files);
  writeFileSync(files.readme, readme);
  writeFileSync(files.schema, schema);
}

if (import.meta.filename === process.argv[1]) {
  writeDocs();
  process.stdout.write(`wrote ${chartFiles.readme} and ${chartFiles.schema} from ${chartFiles.values}\n`);
}
