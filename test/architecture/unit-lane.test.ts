// `npm run test:unit` is the fast lane: the files its globs (in package.json) select start no server and no
// process, so it runs in seconds. A file that needs a registry, an API server, HTTPS, helm or a child process
// belongs to `npm test` only (which runs every file, this lane included).
import { globSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('package.json', `file://${ROOT}`), 'utf8')) as { scripts: Record<string, string> };

// What makes a test slow: the servers and processes of test/harness, the kits that start a whole pullguard, helm,
// the bench world, and Node's own network and process modules.
const SLOW_IMPORTS = [
  /harness\/(registry|fake-apiserver|loopback-server|token-server|fault-proxy|connect-proxy|redirect|push|credential-plugin|pullguard-kit|kit-world)/,
  /\/(env|check-env)\.ts$/,
  /(^|\/)(helm|render|fake-apiserver)\.ts$/,
  /bench\/(world|load)\.ts$/,
  /^node:(child_process|http|https|http2|net|tls|dgram|worker_threads)$/,
];
const SLOW_CALLS = /\.listen\(|\bspawn\(|\bexecFile(Sync)?\(|\bfork\(/;

const patterns = [...(pkg.scripts['test:unit'] ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1] ?? '');
const files = [...new Set(patterns.flatMap((p) => globSync(p, { cwd: ROOT })))].sort();

t.test('the unit lane is a list of test files that exist', async (t) => {
  t.match(pkg.scripts['test:unit'], /^tap /, 'npm run test:unit runs tap');
  t.ok(patterns.length > 0, 'it names its files with quoted globs');
  t.ok(files.length >= 20, `${files.length} files`);
  t.same(files.filter((f) => !f.endsWith('.test.ts')), [], 'only test files');
});

t.test('no file in the unit lane starts a server or a process', async (t) => {
  for (const file of files) {
    const text = readFileSync(new URL(file, `file://${ROOT}`), 'utf8');
    const imports = [...text.matchAll(/from '([^']+)'|import\('([^']+)'\)/g)].map((m) => m[1] ?? m[2] ?? '');
    t.same(imports.filter((i) => SLOW_IMPORTS.some((re) => re.test(i))), [], `${file}: imports nothing that serves or spawns`);
    t.notMatch(text, SLOW_CALLS, `${file}: listens on nothing and spawns nothing`);
  }
});
