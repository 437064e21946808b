// Credentials and hosts as the node sees them (issue #10): the kubelet's credential order (a stale secret fails
// even a public image), loopback registries without configuration (HTTPS first, then plain HTTP, as containerd
// 2.x), TLS failures that configuration fixes naming the setting, Docker Hub's pull budget, and one token fetch
// for many concurrent lookups of one repository.
import t from 'tap';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { pushImage } from '../harness/push.ts';
import { startRelay } from '../harness/registry-fronts.ts';
import { startFaultProxy } from '../harness/fault-proxy.ts';
import { clientFor, cred, ref } from './registry-fixture.ts';
import { verdictOf } from '../../src/verdict/reasons.ts';

let tokenReg: TestRegistry;
let plain: TestRegistry;
let tlsReg: TestRegistry;
const amd64 = [{ os: 'linux', architecture: 'amd64' }];
const multi = [...amd64, { os: 'linux', architecture: 'arm64' }];

t.before(async () => {
  [tokenReg, plain, tlsReg] = await Promise.all([startRegistry({ auth: 'token' }), startRegistry({ auth: 'none', tls: false }), startRegistry({ auth: 'none' })]);
  await pushImage(tokenReg, { repository: 'public/tool', tag: '1.0', platforms: amd64 });
  await pushImage(plain, { repository: 'apps/app', tag: 'v1', platforms: amd64 });
  for (let i = 0; i < 6; i++) await pushImage(tlsReg, { repository: 'library/app', tag: `t${i}`, platforms: multi });
  // Three tags of one index (same seed, same digest).
  for (let i = 0; i < 3; i++) await pushImage(tlsReg, { repository: 'library/same', tag: `s${i}`, platforms: multi, seed: 'same-content' });
});
t.teardown(async () => {
  await Promise.all([tokenReg.stop(), plain.stop(), tlsReg.stop()]);
});

t.test('kubelet order: a wrong secret for a public repository is CredentialsRejected (deny), anonymous is never tried', async (t) => {
  const c = clientFor({ [tokenReg.host]: { caFile: tokenReg.caFile } });
  t.teardown(() => c.close());
  const anon = await c.resolve(ref(`${tokenReg.host}/public/tool:1.0`), { platforms: [], credentials: [] });
  t.equal(anon.reason, 'Resolved', 'the repository is public');
  const before = tokenReg.tokenServer!.requests.length;
  const stale = cred('secret demo/stale', { username: 'alice', password: 'expired' });
  const staler = cred('secret demo/older', { username: 'bob', password: 'gone' });
  const r = await c.resolve(ref(`${tokenReg.host}/public/tool:1.0`), { platforms: [], credentials: [stale, staler] });
  t.equal(r.reason, 'CredentialsRejected', r.detail ?? '');
  t.equal(verdictOf(r.reason), 'deny');
  t.same(r.credentialsTried, ['secret demo/stale', 'secret demo/older'], 'each matching secret, in order, and nothing after');
  t.match(r.detail, /secret demo\/stale, secret demo\/older/, 'the detail names each secret');
  t.match(r.detail, /even a public image fails with a stale secret/);
  const asked = tokenReg.tokenServer!.requests.slice(before);
  t.ok(asked.length >= 2 && asked.every((x) => x.authScheme !== undefined), 'every token request carried a credential: no anonymous one');
});

t.test('a plain-HTTP registry on 127.0.0.1 without configuration resolves, over HTTP after HTTPS failed', async (t) => {
  const c = clientFor({});
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${plain.host}/apps/app:v1`), { platforms: amd64, credentials: [] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.equal(verdictOf(r.reason), 'allow');
  t.equal(r.scheme, 'http');
  t.match(r.detail, /plain HTTP after HTTPS failed/);
  const missing = await c.resolve(ref(`${plain.host}/apps/app:v2`), { platforms: [], credentials: [] });
  t.equal(missing.reason, 'TagNotFound', 'certain answers still deny over the fallback');
});

t.test('TLS failures that configuration fixes name the setting', async (t) => {
  t.test('an unknown CA names ca: (and insecureSkipVerify)', async (t) => {
    const c = clientFor({});
    t.teardown(() => c.close());
    const r = await c.resolve(ref(`${tlsReg.host}/library/app:t0`), { platforms: [], credentials: [] });
    t.equal(r.reason, 'RegistryUnreachable');
    t.equal(verdictOf(r.reason), 'unknown');
    t.equal(r.cause, 'tls');
    t.match(r.detail, /unknown authority/);
    t.match(r.detail, /`ca:`/);
    t.match(r.detail, /`insecureSkipVerify: true`/);
    t.match(r.detail, new RegExp(`registries\\."${tlsReg.host.replace(/\./g, '\\.')}"`));
  });
  t.test('a plain-HTTP server where TLS was expected names plainHTTP', async (t) => {
    const c = clientFor({ [plain.host]: { caFile: tlsReg.caFile } });
    t.teardown(() => c.close());
    const r = await c.resolve(ref(`${plain.host}/apps/app:v1`), { platforms: [], credentials: [] });
    t.equal(r.reason, 'RegistryUnreachable');
    t.equal(r.cause, 'tls');
    t.match(r.detail, /does not speak TLS/);
    t.match(r.detail, /`plainHTTP: true`/);
  });
});

t.test('Docker Hub pull budget: no manifest GET for a platform check past the reserve', async (t) => {
  let remaining = 12;
  const hub = await startRelay(tlsReg, {
    headers: (req): Record<string, string> => (req.path.includes('/manifests/') ? { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': `${remaining};w=21600` } : {}),
  });
  t.teardown(() => hub.stop());
  const skipped: { host: string; remaining: number; reserve: number }[] = [];
  const c = clientFor({ [hub.host]: { caFile: tlsReg.caFile } }, { observer: { pullBudgetLow: (e) => skipped.push(e) } }, { pullBudgetReserve: 10 });
  t.teardown(() => c.close());
  const all = await Promise.all(Array.from({ length: 6 }, (_, i) => c.resolve(ref(`${hub.host}/library/app:t${i}`), { platforms: amd64, credentials: [] })));
  const gets = hub.requests.filter((x) => x.method === 'GET' && x.path.includes('/manifests/'));
  t.equal(gets.length, 2, 'two index GETs: remaining 12, reserve 10');
  t.equal(all.filter((r) => r.reason === 'Resolved').length, 2, 'two platform checks fit in the budget above the reserve');
  const low = all.filter((r) => r.reason === 'PullBudgetLow');
  t.equal(low.length, 4);
  t.ok(low.every((r) => verdictOf(r.reason) === 'unknown' && r.digest !== undefined), 'unknown, with the digest the HEAD gave');
  t.match(low[0]?.detail, /platform was not checked/);
  t.equal(skipped.length, 4, 'the observer counted each skipped check');
  t.same(skipped[0], { host: hub.host, remaining: 10, reserve: 10 });

  hub.requests.length = 0;
  remaining = 3;
  const noPlatform = await c.resolve(ref(`${hub.host}/library/app:t5`), { platforms: [], credentials: [] });
  t.equal(noPlatform.reason, 'Resolved', 'existence is checked by HEAD, which costs no pull');
  t.equal(hub.requests.filter((x) => x.method === 'GET').length, 0);
});

t.test('concurrent lookups of one repository share one token fetch', async (t) => {
  for (let i = 0; i < 5; i++) await pushImage(tokenReg, { repository: 'public/many', tag: `v${i}`, platforms: amd64 });
  const c = clientFor({ [tokenReg.host]: { caFile: tokenReg.caFile } });
  t.teardown(() => c.close());
  const before = tokenReg.tokenServer!.requests.length;
  const alice = cred('secret demo/alice', tokenReg.users[0]!);
  const all = await Promise.all(Array.from({ length: 50 }, (_, i) => c.resolve(ref(`${tokenReg.host}/public/many:v${i % 5}${i >= 5 ? `-x${i}` : ''}`), { platforms: [], credentials: [alice], suggestTags: false })));
  t.equal(all.filter((r) => r.reason === 'Resolved').length, 5);
  t.equal(all.filter((r) => r.reason === 'TagNotFound').length, 45);
  t.equal(tokenReg.tokenServer!.requests.length - before, 1, '50 lookups, one token request');
});

t.test('concurrent lookups of tags that name one index share one platform read', async (t) => {
  const front = await startRelay(tlsReg);
  t.teardown(() => front.stop());
  const c = clientFor({ [front.host]: { caFile: tlsReg.caFile } });
  t.teardown(() => c.close());
  const all = await Promise.all(Array.from({ length: 21 }, (_, i) => c.resolve(ref(`${front.host}/library/same:s${i % 3}`), { platforms: amd64, credentials: [], image: `copy-${i}` })));
  t.ok(all.every((r) => r.reason === 'Resolved'), all.map((r) => r.reason).join(','));
  t.equal(new Set(all.map((r) => r.digest)).size, 1, 'one digest');
  t.equal(front.requests.filter((x) => x.method === 'GET' && x.path.includes(`/manifests/${all[0]!.digest}`)).length, 1, 'one index GET by digest for 21 lookups of 3 tags');
  // Since the GET-first change (issue #13): one HEAD learns that the host counts no pulls, then each other lookup
  // GETs its tag (digest and index in one answer) instead of HEAD + a shared GET: one request per lookup, as before.
  t.equal(front.requests.filter((x) => x.path.includes('/manifests/')).length, 22, 'one request per lookup, plus the one index read');
  t.equal(front.requests.filter((x) => x.method === 'HEAD').length, 1, 'one HEAD: the probe');
});

t.test('a caller\'s AbortSignal cancels the registry work in flight', async (t) => {
  const stall = await startFaultProxy(tlsReg);
  t.teardown(() => stall.stop());
  stall.setFault((req) => (req.path.includes('/manifests/') ? { kind: 'stall' } : { kind: 'pass' }));
  const c = clientFor({ [stall.host]: { caFile: tlsReg.caFile } }, {}, { requestTimeoutMs: 60_000 });
  t.teardown(() => c.close());
  const controller = new AbortController();
  const pending = c.resolve(ref(`${stall.host}/library/app:t0`), { platforms: [], credentials: [], signal: controller.signal });
  // Abort once the HEAD is on the wire (the proxy logged it), not on a timer.
  while (!stall.requests.some((x) => x.path.includes('/manifests/'))) await new Promise((r) => setImmediate(r));
  controller.abort();
  const r = await pending;
  t.equal(r.reason, 'RegistryTimeout');
  t.equal(verdictOf(r.reason), 'unknown');
});
