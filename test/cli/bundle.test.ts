// The bundle the container image runs (scripts/bundle.ts, issue #13): built here with esbuild, it answers a real
// registry as the sources do, still loads @kubernetes/client-node only when a command needs the cluster (its chunk
// stays out of `resolve`), and that chunk loads as ESM without a missing require() or Node's punycode warning.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { bundle } from '../../scripts/bundle.ts';
import { makeTempDir, removeTempDir } from '../harness/lifecycle.ts';
import { pushImage } from '../harness/push.ts';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { runNodeListingModules } from './env.ts';

t.setTimeout(180_000);


let reg: TestRegistry;
let dir: string;
let built: Awaited<ReturnType<typeof bundle>>;
t.before(async () => {
  dir = makeTempDir('pullguard-bundle-');
  [reg, built] = await Promise.all([startRegistry({ auth: 'none' }), bundle(join(dir, 'bundle'))]);
  await pushImage(reg, { repository: 'team/app', tag: '1.0', platforms: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }] });
});
t.teardown(async () => {
  await reg?.stop();
  if (dir) removeTempDir(dir);
});

/** The output chunks holding any module of `pkg` (esbuild's metafile names every input of every chunk). */
function chunksOf(pkg: string): string[] {
  return Object.entries(built.metafile.outputs)
    .filter(([out, o]) => out.endsWith('.js') && Object.keys(o.inputs).some((i) => i.includes(`node_modules/${pkg}/`)))
    .map(([out]) => out);
}

t.test('the bundle is one entry point with code-split chunks and linked source maps', async (t) => {
  const outputs = Object.keys(built.metafile.outputs);
  t.ok(outputs.some((o) => o.endsWith('/main.js')), 'main.js');
  t.ok(outputs.some((o) => o.endsWith('/main.js.map')), 'main.js.map beside it, not inline');
  t.equal(chunksOf('@kubernetes/client-node').length > 0, true, 'client-node is bundled');
  t.notOk(chunksOf('@kubernetes/client-node').some((c) => c.endsWith('/main.js')), 'but not into the entry chunk');
});

t.test('resolve from the bundle answers a real registry without loading the Kubernetes client, fastify or prom-client', async (t) => {
  const registryConfig = join(dir, 'registries.yaml');
  writeFileSync(registryConfig, `registries:\n  "${reg.host}":\n    ca: ${reg.caFile}\n`);
  const r = await runNodeListingModules(built.main, ['resolve', '--registry-config', registryConfig, '--platform', 'linux/arm64', `${reg.host}/team/app:1.0`]);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, /^ALLOW /);
  t.ok(r.loaded, 'the module hook reported');
  const loaded = new Set((r.loaded ?? []).map((u) => u.replace(/^file:\/\//, '')));
  t.notOk([...loaded].some((u) => u.includes('/node_modules/')), 'nothing is read from node_modules: the dependencies it needs are bundled');
  for (const pkg of ['@kubernetes/client-node', 'fastify', 'prom-client']) {
    const lazy = chunksOf(pkg);
    t.ok(lazy.length > 0, `${pkg} has a chunk of its own`);
    for (const c of lazy) t.notOk(loaded.has(join(dir, 'bundle', c.split('/').at(-1) ?? '')), `${pkg}'s chunk is not loaded`);
  }
  t.notMatch(r.stderr, /Warning|DEP0040/, 'no warnings');
});

t.test("client-node's chunk loads as ESM: its CommonJS finds require() and the userland punycode", async (t) => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  for (const c of chunksOf('@kubernetes/client-node')) await t.resolves(import(pathToFileURL(join(dir, 'bundle', c.split('/').at(-1) ?? '')).href), c);
  await new Promise((r) => setImmediate(r));
  t.same(warnings.filter((w) => /punycode/.test(w)), [], 'no punycode deprecation');
});
