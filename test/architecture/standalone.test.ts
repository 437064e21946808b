// The repository stands alone: no source or test reads a folder beside the clone (the old sibling `shared` folder), so a clone
// anywhere passes `npm test`. The fixtures it needs live in test/fixtures (see the READMEs there for their origin).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCANNED = ['src', 'test'];
const TEXT = /\.(ts|js|mjs|cjs|json|ya?ml|md|sh)$/;

// Built from parts so this file does not match itself: the sibling folder reached with `..` (at any depth),
// its two subfolders by name, and its absolute path on the workplace machine.
const UP = ['..', 'shared'].join('/');
const OUTSIDE = [
  new RegExp(`${UP.replace(/\./g, '\\.')}\\b`),
  new RegExp(['shared', '(fixtures|conformance)'].join('/')),
  new RegExp(['', 'work', 'shared'].join('/')),
];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    if (d.name === 'node_modules' || d.name.startsWith('.')) return [];
    const path = join(dir, d.name);
    return d.isDirectory() ? files(path) : TEXT.test(d.name) ? [path] : [];
  });
}

t.test('no file under src/ or test/ refers to the shared folder outside the repository', async (t) => {
  const scanned = SCANNED.flatMap((d) => files(join(ROOT, d)));
  t.ok(scanned.length > 100, `scanned ${scanned.length} files`);
  const offenders = scanned.flatMap((file) =>
    readFileSync(file, 'utf8').split('\n').flatMap((line, i) =>
      OUTSIDE.some((re) => re.test(line)) ? [`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`] : []),
  );
  t.same(offenders, [], 'every fixture is read from test/fixtures');
});

t.test('the fixtures the tests read are in the repository', async (t) => {
  for (const version of ['v1.20', 'v1.26']) {
    for (const name of ['pod', 'pod-denied', 'pod-dryrun', 'pod-serverside-apply', 'pod-from-replicaset', 'deployment', 'deployment-update']) {
      t.ok(existsSync(join(ROOT, 'test/fixtures/admission', version, `${name}.json`)), `admission/${version}/${name}.json`);
    }
  }
  for (const table of ['reference', 'credentials', 'platforms']) {
    t.ok(existsSync(join(ROOT, 'test/fixtures/conformance', `conformance-${table}.json`)), `conformance-${table}.json`);
  }
  t.ok(existsSync(join(ROOT, 'test/fixtures/admission/README.md')), 'the admission fixtures say where they come from');
  t.ok(existsSync(join(ROOT, 'test/fixtures/conformance/README.md')), 'the conformance tables say where they come from');
});
