// The kit builds what the webhook and CLI tests stand on: a world of registries, images, a fault proxy and a cluster,
// and pullguard over it as `serve` builds it. Each part is checked through the way the tests use it.
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { AMD64, ARM64, dockerCfg, dockerConfigJson, startKit, startPullguard, writeRegistryConfig, type Kit } from './pullguard-kit.ts';
import { podReview } from '../e2e/reviews.ts';

let kit: Kit;
t.before(async () => {
  kit = await startKit({
    registries: { open: { auth: 'none' }, locked: { auth: 'basic' } },
    proxyFor: 'open',
    images: [
      { registry: 'open', repository: 'team/app', tag: '1.0', platforms: [AMD64, ARM64] },
      { registry: 'locked', repository: 'private/app', tag: '1.0', platforms: [AMD64] },
    ],
    cluster(api) {
      api.setNamespace('demo');
      api.setServiceAccount('demo', 'default', []);
      api.setNode({ name: 'node-amd64', arch: 'amd64' });
    },
  });
});
t.teardown(() => kit?.close());

t.test('the world has its registries by name, its images pushed, and a registry config trusting them and the proxy', async (t) => {
  const open = kit.registries['open']!;
  const locked = kit.registries['locked']!;
  t.same(Object.keys(kit.pushed).sort(), ['locked/private/app:1.0', 'open/team/app:1.0']);
  t.match(kit.pushed['open/team/app:1.0'], { digest: /^sha256:[0-9a-f]{64}$/ });
  const config = JSON.parse(readFileSync(kit.registryConfig, 'utf8')) as { registries: Record<string, { ca: string }>; defaults: Record<string, number> };
  t.same(Object.keys(config.registries).sort(), [open.host, locked.host, kit.proxy!.host].sort());
  t.equal(config.registries[kit.proxy!.host]?.ca, open.caFile, 'the proxy is trusted with the CA of the registry behind it');
  t.same(config.defaults, { requestTimeoutMs: 3000 });
  t.equal(kit.api?.requests.length, 0, 'the cluster is seeded directly, not through requests');
});

t.test('the pullguard over it admits what can be pulled and denies what cannot, through the webhook and the checker', async (t) => {
  const image = (name: string) => `${kit.registries['open']!.host}/${name}`;
  t.equal((await kit.pullguard.post(podReview([image('team/app:1.0')]))).response.allowed, true);
  t.equal((await kit.pullguard.post(podReview([`${kit.proxy!.host}/team/app:1.0`]))).response.allowed, true, 'through the fault proxy too');
  const denied = await kit.pullguard.post(podReview([image('team/app:9.9')]));
  t.equal(denied.response.allowed, false);
  t.match(denied.response.status?.message, /team\/app:9\.9/);
  const checked = await kit.pullguard.check(podReview([image('team/app:9.9')]));
  t.equal(checked.findings.length, 1, 'check gives the findings behind the verdict');
  t.ok(kit.api!.requests.some((r) => r.path === '/api/v1/namespaces/demo'), 'it read the cluster');
});

t.test('app(overrides) is a webhook for another config on the same runtime', async (t) => {
  const app = kit.pullguard.app({ mode: 'warn' });
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'POST', url: '/validate?timeout=10s', payload: podReview([`${kit.registries['open']!.host}/team/app:9.9`]) });
  const answer = res.json<{ response: { allowed: boolean; warnings?: string[] } }>();
  t.equal(answer.response.allowed, true, 'warn mode admits');
  t.ok((answer.response.warnings ?? []).length > 0, 'and says why it would have denied');
});

t.test('a pullguard started on its own reads no cluster unless given one, and configure edits its Config', async (t) => {
  const pg = startPullguard({ registryConfig: kit.registryConfig, configure: (c) => void (c.mode = 'warn') });
  t.teardown(() => pg.close());
  t.equal(pg.config.kubernetes.enabled, false);
  t.equal(pg.config.mode, 'warn');
  t.equal(pg.config.registry.configFile, kit.registryConfig);
  t.throws(() => startPullguard({ registryConfig: kit.file('bad.yaml', 'registries: [1]\n') }), /registries: must be object/, 'a bad config fails the start');
});

t.test('files: registry configs with unique names, and pull secret documents in both formats', async (t) => {
  const hosts = [{ host: 'r.example:5000', caFile: '/ca.pem' }];
  t.not(writeRegistryConfig(kit.dir, hosts), writeRegistryConfig(kit.dir, hosts));
  t.same(JSON.parse(dockerConfigJson({ 'r.example': { username: 'u', password: 'p' } })), { auths: { 'r.example': { auth: 'dTpw' } } });
  t.same(JSON.parse(dockerConfigJson({ 'r.example': { username: 'u', password: 'p' } }, 'fields', { credsStore: 'x' })), { auths: { 'r.example': { username: 'u', password: 'p' } }, credsStore: 'x' });
  t.same(JSON.parse(dockerCfg({ 'r.example': { username: 'u', password: 'p' } })), { 'r.example': { auth: 'dTpw' } });
});

t.test('closing the kit stops the world and removes its dir', async (t) => {
  const small = await startKit({ registries: { only: { auth: 'none' } }, cluster: () => {} });
  const url = small.api!.url;
  await small.close();
  t.notOk(existsSync(small.dir), 'the dir is gone');
  await t.rejects(fetch(`${url}/version`), 'the API server is stopped');
});
