// What a command loads (issue #13: a CLI that starts fast): `resolve` and `check` without --kubeconfig never load
// @kubernetes/client-node (~0.5 s and ~50 MiB of a cold start), prom-client or fastify. The CLI runs as a user runs
// it, in a child, with a module hook (node:module registerHooks) that lists every module it loads.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { makeTempDir, removeTempDir } from '../harness/lifecycle.ts';
import { pushImage } from '../harness/push.ts';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { MAIN, runNodeListingModules } from './env.ts';

t.setTimeout(120_000);


// pino is loaded only when a line is logged at an enabled level (src/cli/log.ts); at warn a clean run logs none.
const HEAVY = ['@kubernetes/client-node', 'prom-client', 'fastify', 'pino'];

let reg: TestRegistry;
let dir: string;
let registryConfig: string;
t.before(async () => {
  reg = await startRegistry({ auth: 'none' });
  await pushImage(reg, { repository: 'team/app', tag: '1.0', platforms: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }] });
  dir = makeTempDir('pullguard-lazy-load-');
  registryConfig = join(dir, 'registries.yaml');
  writeFileSync(registryConfig, `registries:\n  "${reg.host}":\n    ca: ${reg.caFile}\n`);
});
t.teardown(async () => {
  await reg?.stop();
  if (dir) removeTempDir(dir);
});

async function loadedBy(args: string[]): Promise<{ code: number; stdout: string; stderr: string; packages: Set<string> }> {
  const r = await runNodeListingModules(MAIN, args);
  if (!r.loaded) throw new Error(`the module hook printed nothing (exit ${r.code}):\n${r.stderr}`);
  const packages = new Set(r.loaded.flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.slice(1, 2) ?? []));
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, packages };
}

t.test('resolve with --platform resolves against a real registry without loading the Kubernetes client, prom-client, fastify or pino', async (t) => {
  const r = await loadedBy(['resolve', '--registry-config', registryConfig, '--platform', 'linux/arm64', `${reg.host}/team/app:1.0`]);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, /^ALLOW /);
  t.ok(r.packages.has('undici'), 'the hook saw the registry client load (it sees packages at all)');
  for (const p of HEAVY) t.notOk(r.packages.has(p), `${p} is not loaded`);
});

t.test('check without --kubeconfig does not load the Kubernetes client either', async (t) => {
  const manifest = join(dir, 'pod.yaml');
  writeFileSync(manifest, `apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: app\n      image: ${reg.host}/team/app:1.0\n`);
  const r = await loadedBy(['check', '--registry-config', registryConfig, '-f', manifest]);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.ok(r.packages.has('undici') && r.packages.has('yaml'));
  for (const p of HEAVY) t.notOk(r.packages.has(p), `${p} is not loaded`);
});
