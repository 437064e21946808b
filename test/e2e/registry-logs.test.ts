// `serve` logs every registry request at debug through its redacting logger (it used to give the registry client
// no logger at all, so the redaction never ran). A full review against a token-auth registry with a pull secret,
// at trace level: the requests are logged, and no password, base64 auth, bearer token or `account=USER` appears.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { DEFAULT_CONFIG, type Config } from '../../src/config.ts';
import { createMetrics } from '../../src/metrics.ts';
import { buildRuntime, type Runtime } from '../../src/cli/runtime.ts';
import { createServeLogger } from '../../src/cli/serve.ts';
import { buildWebhookApp } from '../../src/admission/server.ts';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { pushImage } from '../harness/push.ts';
import { startFakeApiServer, type FakeApiServer } from '../harness/fake-apiserver.ts';
import { podReview, type ReviewAnswer } from './reviews.ts';

const lines: string[] = [];
const sink = new Writable({
  write(chunk, _e, done) {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    done();
  },
});

let registry: TestRegistry;
let api: FakeApiServer;
let runtime: Runtime;
let config: Config;
const logger = createServeLogger('trace', sink);

t.before(async () => {
  registry = await startRegistry({ auth: 'token' });
  await pushImage(registry, { repository: 'team/app', tag: '1.0', platforms: [{ os: 'linux', architecture: 'amd64' }] });
  api = await startFakeApiServer();
  api.setNamespace('demo', {});
  api.setServiceAccount('demo', 'default', []);
  api.setNode({ name: 'node-amd64', arch: 'amd64' });
  const user = registry.users[0]!;
  api.setSecret('demo', 'regcred', 'kubernetes.io/dockerconfigjson', {
    '.dockerconfigjson': JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${user.username}:${user.password}`).toString('base64') } } }),
  });
  api.setSecret('demo', 'named', 'kubernetes.io/dockerconfigjson', {
    '.dockerconfigjson': JSON.stringify({ auths: { [registry.host]: { username: user.username, password: user.password } } }),
  });
  const dir = mkdtempSync(join(tmpdir(), 'pullguard-logs-'));
  const registryConfig = join(dir, 'registries.yaml');
  writeFileSync(registryConfig, JSON.stringify({ registries: { [registry.host]: { ca: registry.caFile } } }));
  config = structuredClone(DEFAULT_CONFIG);
  config.logLevel = 'trace';
  config.registry.configFile = registryConfig;
  config.kubernetes = { enabled: true, kubeconfig: api.kubeconfigFile, secretTtlSeconds: 0 };
  const built = buildRuntime(config, { log: logger, metrics: createMetrics({ defaultMetrics: false }) });
  if (!built.ok) throw new Error(built.errors.join('\n'));
  runtime = built.runtime;
});
t.teardown(async () => {
  await runtime?.close();
  await api?.stop();
  await registry?.stop();
});

t.test('registry requests are logged at debug, and no secret reaches the log at trace level', async (t) => {
  const app = buildWebhookApp({ config, checker: runtime.checker, cluster: runtime.cluster, metrics: createMetrics({ defaultMetrics: false }), logger });
  const image = (name: string) => `${registry.host}/${name}`;
  const reviews: { images: string[]; pullSecrets?: string[]; allowed: boolean }[] = [
    { images: [image('team/app:1.0')], pullSecrets: ['regcred'], allowed: true },
    { images: [image('team/app:nope')], pullSecrets: ['named'], allowed: false },
    { images: [image('team/private:1.0')], allowed: false },
  ];
  for (const r of reviews) {
    const res = await app.inject({ method: 'POST', url: '/validate?timeout=10s', payload: podReview(r.images, r.pullSecrets ? { pullSecrets: r.pullSecrets } : {}) });
    t.equal(res.statusCode, 200);
    t.equal(res.json<ReviewAnswer>().response.allowed, r.allowed, r.images.join(' '));
  }
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const requests = parsed.filter((l) => l['msg'] === 'registry request');
  t.ok(requests.length >= 5, `${requests.length} registry requests logged`);
  t.ok(requests.every((l) => l['level'] === 20), 'at debug');
  t.ok(requests.some((l) => l['operation'] === 'token'), 'token requests too');
  t.ok(registry.tokenServer!.requests.some((r) => r.user === registry.users[0]!.username), 'the credentials were used');

  const all = lines.join('\n');
  const user = registry.users[0]!;
  t.notMatch(all, user.password, 'no password');
  t.notMatch(all, Buffer.from(`${user.username}:${user.password}`).toString('base64'), 'no base64 auth');
  t.notMatch(all, /bearer\s+[A-Za-z0-9._~+/-]{8,}/i, 'no bearer token');
  t.notMatch(all, /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/, 'no JWT');
  t.notMatch(all, /basic\s+[A-Za-z0-9+/=]{8,}/i, 'no basic credentials');
  // The token request names the user in `account=`; the transport's URL redaction replaces the value.
  t.notMatch(all, /account=(?!REDACTED\b)/, 'no account= with a value');
  t.notMatch(all, new RegExp(`account=${user.username}`), 'the user is not named');
});
