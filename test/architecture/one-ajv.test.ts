// One Ajv: src/schema.ts builds the only instance (one set of options, one error formatter); every other module
// compiles its schemas on it. A second `new Ajv` would bring its own options (useDefaults once did) and wording.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    return d.isDirectory() ? sources(path) : d.name.endsWith('.ts') ? [path] : [];
  });
}

/** `file:line` of every Ajv built (`new Ajv`, `new Ajv2019`, ...) or imported as a value rather than a type. */
function ajvMakers(files: { name: string; text: string }[]): string[] {
  const made = /\bnew\s+Ajv\w*\s*\(/;
  const valueImport = /^\s*import\s+(?!type\b)[^;]*\bAjv\w*\b[^;]*from\s+'ajv[^']*'/;
  return files.flatMap(({ name, text }) => text.split('\n').flatMap((line, i) => {
    const spec = /\{([^}]*)\}/.exec(line)?.[1] ?? '';
    const onlyTypes = spec !== '' && spec.split(',').every((s) => s.trim() === '' || /^type\s/.test(s.trim()) || !/\bAjv/.test(s));
    return made.test(line) || (valueImport.test(line) && !onlyTypes) ? [`${name}:${i + 1}`] : [];
  }));
}

t.test('the check finds an Ajv built or imported as a value, and lets type imports and the shared instance be', async (t) => {
  t.same(ajvMakers([
    { name: 'a.ts', text: "import { Ajv } from 'ajv';\nconst x = new Ajv({ useDefaults: true });" },
    { name: 'b.ts', text: "import type { ValidateFunction } from 'ajv';\nimport { ajv } from '../schema.ts';" },
    { name: 'c.ts', text: "import { type ErrorObject, type JSONSchemaType } from 'ajv';" },
    { name: 'd.ts', text: "import Ajv2020 from 'ajv/dist/2020';\n" },
  ]), ['a.ts:1', 'a.ts:2', 'd.ts:1']);
});

t.test('no module of src/ but src/schema.ts builds an Ajv', async (t) => {
  const files = sources(SRC).map((path) => ({ name: relative(SRC, path), text: readFileSync(path, 'utf8') }));
  t.ok(files.length > 40, `${files.length} files`);
  const makers = ajvMakers(files);
  t.same(makers.filter((m) => !m.startsWith('schema.ts:')), [], 'build Ajv in src/schema.ts only');
  t.ok(makers.some((m) => m.startsWith('schema.ts:')), 'src/schema.ts does build it (the check sees a real one)');
});
