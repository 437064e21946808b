// `serve` logs every registry request at debug through its redacting logger (it used to give the registry client
// no logger at all, so the redaction never ran). A full review against a token-auth registry with a pull secret,
// at trace level: the requests are logged, and no password, base64 auth, bearer token or `account=USER` appears.
import t from 'tap';
import { Writable } from 'node:stream';
import { createServeLogger } from '../../src/cli/serve.ts';
import type { TestRegistry } from '../harness/registry.ts';
import { AMD64, dockerConfigJson, startKit, type Kit } from '../harness/pullguard-kit.ts';
import { podReview, type ReviewAnswer } from './reviews.ts';

const lines: string[] = [];
const sink = new Writable({
  write(chunk, _e, done) {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    done();
  },
});

let kit: Kit;
let registry: TestRegistry;
const logger = createServeLogger('trace', sink);

t.before(async () => {
  kit = await startKit({
    registries: { registry: { auth: 'token' } },
    images: [{ registry: 'registry', repository: 'team/app', tag: '1.0', platforms: [AMD64] }],
    cluster(api, { registry }) {
      const user = registry!.users[0]!;
      api.setNamespace('demo', {});
      api.setServiceAccount('demo', 'default', []);
      api.setNode({ name: 'node-amd64', arch: 'amd64' });
      api.setSecret('demo', 'regcred', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': dockerConfigJson({ [registry!.host]: user }) });
      api.setSecret('demo', 'named', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': dockerConfigJson({ [registry!.host]: user }, 'fields') });
    },
  }, { logger, configure: (c) => void (c.logLevel = 'trace') });
  registry = kit.registries['registry']!;
});
t.teardown(() => kit?.close());

t.test('registry requests are logged at debug, and no secret reaches the log at trace level', async (t) => {
  const app = kit.pullguard.app();
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
