// Faults injected between the client and a real registry: error statuses, rate limits, resets, stalls, huge and
// garbage bodies. Every one becomes a classified Resolution (mostly `unknown`), never a crash or a hang.
import t from 'tap';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { pushImage } from '../harness/push.ts';
import { startFaultProxy, type Fault, type FaultProxy, type FaultRequest } from '../harness/fault-proxy.ts';
import type { RegistryObserver, RequestEvent } from '../../src/registry/transport.ts';
import { clientFor, ref } from './registry-fixture.ts';
import { verdictOf } from '../../src/verdict/reasons.ts';

let reg: TestRegistry;
let proxy: FaultProxy;

t.before(async () => {
  reg = await startRegistry({ auth: 'none' });
  proxy = await startFaultProxy(reg);
  await pushImage(reg, { repository: 'apps/multi', tag: 'v1', platforms: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }] });
  await pushImage(reg, { repository: 'apps/single', tag: 'v1', platforms: [{ os: 'linux', architecture: 'amd64' }] });
});
t.teardown(async () => {
  await proxy.stop();
  await reg.stop();
});

function recorder() {
  const requests: RequestEvent[] = [];
  const rateLimits: { host: string; remaining?: number; limit?: number }[] = [];
  const observer: RegistryObserver = { request: (e) => requests.push(e), rateLimit: (e) => rateLimits.push(e) };
  return { requests, rateLimits, observer };
}

/** A client through the fault proxy, with `fault` applied to requests matching `when`. */
function faulty(t: { teardown(fn: () => unknown): void }, when: (r: FaultRequest) => boolean, fault: Fault, deps = {}, defaults = {}) {
  proxy.reset();
  proxy.setFault((r) => (when(r) ? fault : { kind: 'pass' }));
  const c = clientFor({ [proxy.host]: { caFile: reg.caFile } }, deps, defaults);
  t.teardown(async () => {
    await c.close();
    proxy.reset();
  });
  return c;
}
const manifests = (r: FaultRequest) => r.path.includes('/manifests/');
const manifestGets = (r: FaultRequest) => r.method === 'GET' && r.path.includes('/manifests/');
const any = () => true;
const multi = () => ref(`${proxy.host}/apps/multi:v1`);
const amd64 = [{ os: 'linux', architecture: 'amd64' }];

t.test('a 503 from the registry is RegistryError (unknown) with the status', async (t) => {
  const c = faulty(t, manifests, { kind: 'status', status: 503, body: JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'back soon' }] }) });
  const r = await c.resolve(multi(), { platforms: [], credentials: [] });
  t.equal(r.reason, 'RegistryError');
  t.equal(verdictOf(r.reason), 'unknown');
  t.equal(r.status, 503);
});

t.test('a 503 already on GET /v2/ is RegistryError', async (t) => {
  const c = faulty(t, any, { kind: 'status', status: 503 });
  const r = await c.resolve(multi(), { platforms: [], credentials: [] });
  t.equal(r.reason, 'RegistryError');
  t.equal(r.status, 503);
});

t.test('a 429 is RateLimited with Retry-After, and rate-limit headers reach the observer', async (t) => {
  const rec = recorder();
  const c = faulty(
    t,
    manifests,
    { kind: 'status', status: 429, headers: { 'retry-after': '17', 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '0;w=21600' }, body: JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit.' }] }) },
    { observer: rec.observer },
  );
  const r = await c.resolve(multi(), { platforms: [], credentials: [] });
  t.equal(r.reason, 'RateLimited');
  t.equal(verdictOf(r.reason), 'unknown');
  t.equal(r.status, 429);
  t.equal(r.retryAfterSeconds, 17);
  t.same(rec.rateLimits, [{ host: proxy.host, remaining: 0, limit: 100 }]);
});

t.test('rate-limit headers on successful answers are reported too', async (t) => {
  const rec = recorder();
  const c = faulty(t, (r) => r.path === '/v2/', { kind: 'status', status: 200, headers: { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '76;w=21600' }, body: '{}' }, { observer: rec.observer });
  const r = await c.resolve(multi(), { platforms: [], credentials: [] });
  t.equal(r.reason, 'Resolved');
  t.same(rec.rateLimits, [{ host: proxy.host, remaining: 76, limit: 100 }]);
});

t.test('a connection reset is RegistryUnreachable (reset)', async (t) => {
  const c = faulty(t, manifests, { kind: 'reset' });
  const r = await c.resolve(multi(), { platforms: [], credentials: [] });
  t.equal(r.reason, 'RegistryUnreachable');
  t.equal(r.cause, 'reset');
});

t.test('a stalled registry with a short deadline is RegistryTimeout', async (t) => {
  const c = faulty(t, manifests, { kind: 'stall' });
  const r = await c.resolve(multi(), { platforms: [], credentials: [], deadline: Date.now() + 300 });
  t.equal(r.reason, 'RegistryTimeout');
  t.equal(verdictOf(r.reason), 'unknown');
});

t.test('a stall also ends at the per-request timeout without a caller deadline', async (t) => {
  const c = faulty(t, manifests, { kind: 'stall' }, {}, { requestTimeoutMs: 300 });
  const r = await c.resolve(multi(), { platforms: [], credentials: [] });
  t.equal(r.reason, 'RegistryTimeout');
});

t.test('an aborted signal is RegistryTimeout', async (t) => {
  const c = faulty(t, manifests, { kind: 'stall' });
  const ac = new AbortController();
  const pending = c.resolve(multi(), { platforms: [], credentials: [], signal: ac.signal });
  setImmediate(() => ac.abort());
  t.equal((await pending).reason, 'RegistryTimeout');
});

t.test('a deadline already past answers RegistryTimeout without a request', async (t) => {
  const rec = recorder();
  const c = faulty(t, any, { kind: 'pass' }, { observer: rec.observer });
  const r = await c.resolve(multi(), { platforms: [], credentials: [], deadline: Date.now() - 1 });
  t.equal(r.reason, 'RegistryTimeout');
  t.equal(proxy.requests.length, 0);
});

t.test('a huge manifest (declared length) is RegistryError, not read', async (t) => {
  const c = faulty(t, manifestGets, { kind: 'huge', bytes: 64 * 1024 * 1024, headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' } });
  const r = await c.resolve(multi(), { platforms: amd64, credentials: [] });
  t.equal(r.reason, 'RegistryError');
  t.match(r.detail, /exceeds the 4194304-byte limit/);
});

t.test('a huge chunked manifest is cut off at the limit', async (t) => {
  const c = faulty(t, manifestGets, { kind: 'huge', bytes: 64 * 1024 * 1024, chunked: true, headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' } });
  const r = await c.resolve(multi(), { platforms: amd64, credentials: [] });
  t.equal(r.reason, 'RegistryError');
  t.match(r.detail, /exceeds the 4194304-byte limit/);
});

t.test('a huge config blob is cut off at 1 MiB', async (t) => {
  const c = faulty(t, (r) => r.path.includes('/blobs/'), { kind: 'huge', bytes: 8 * 1024 * 1024, chunked: true });
  const r = await c.resolve(ref(`${proxy.host}/apps/single:v1`), { platforms: amd64, credentials: [] });
  t.equal(r.reason, 'RegistryError');
});

t.test('garbage JSON for an index is RegistryError', async (t) => {
  const c = faulty(t, manifestGets, { kind: 'garbage', contentType: 'application/vnd.oci.image.index.v1+json', body: '{"manifests": [ {"digest": ' });
  const r = await c.resolve(multi(), { platforms: amd64, credentials: [] });
  t.equal(r.reason, 'RegistryError');
  t.equal(verdictOf(r.reason), 'unknown');
});

t.test('a manifest whose bytes do not match its digest is RegistryError', async (t) => {
  const wanted = `sha256:${'a'.repeat(64)}`;
  const index = 'application/vnd.oci.image.index.v1+json';
  const c = faulty(t, manifests, { kind: 'pass' });
  proxy.setFault((r) =>
    !manifests(r)
      ? { kind: 'pass' }
      : r.method === 'HEAD'
        ? { kind: 'status', status: 200, headers: { 'docker-content-digest': wanted, 'content-type': index } }
        : { kind: 'garbage', contentType: index, body: '{"schemaVersion":2,"manifests":[]}' },
  );
  const r = await c.resolve(ref(`${proxy.host}/apps/multi@${wanted}`), { platforms: amd64, credentials: [] });
  t.equal(r.reason, 'RegistryError');
  t.match(r.detail, /does not match its digest/);
});

t.test('an HTML answer where a manifest belongs is RegistryError', async (t) => {
  const c = faulty(t, manifests, { kind: 'garbage', contentType: 'text/html', body: '<html>captive portal</html>' });
  const r = await c.resolve(multi(), { platforms: [], credentials: [] });
  t.equal(r.reason, 'RegistryError');
});

t.test('garbage from tags/list still gives TagNotFound, without suggestions', async (t) => {
  const c = faulty(t, (r) => r.path.includes('/tags/list'), { kind: 'garbage', body: 'not json at all' });
  const r = await c.resolve(ref(`${proxy.host}/apps/multi:v2`), { platforms: [], credentials: [] });
  t.equal(r.reason, 'TagNotFound');
  t.equal(r.suggestions, undefined);
});

t.test('the observer sees every request with its operation, status and duration', async (t) => {
  const rec = recorder();
  const c = faulty(t, () => false, { kind: 'pass' }, { observer: rec.observer });
  const r = await c.resolve(ref(`${proxy.host}/apps/single:v1`), { platforms: amd64, credentials: [] });
  t.equal(r.reason, 'Resolved');
  t.same(
    rec.requests.map((e) => `${e.method} ${e.operation} ${e.status}`),
    ['GET ping 200', 'HEAD manifest 200', 'GET manifest 200', 'GET blob 200'],
  );
  t.ok(rec.requests.every((e) => e.host === proxy.host && e.durationMs >= 0));
  const failing = recorder();
  const c2 = faulty(t, manifests, { kind: 'reset' }, { observer: failing.observer });
  await c2.resolve(multi(), { platforms: [], credentials: [] });
  t.ok(failing.requests.some((e) => e.operation === 'manifest' && e.status === undefined && (e.error === 'UND_ERR_SOCKET' || e.error === 'ECONNRESET')), 'network errors are reported with their code');
});

t.test('an observer that throws does not change the answer', async (t) => {
  const c = faulty(t, () => false, { kind: 'pass' }, { observer: { request: () => { throw new Error('metrics down'); }, rateLimit: () => { throw new Error('x'); } } });
  t.equal((await c.resolve(multi(), { platforms: [], credentials: [] })).reason, 'Resolved');
});

t.test('a 403 DENIED is AccessDenied', async (t) => {
  const c = faulty(t, manifests, { kind: 'status', status: 403, body: JSON.stringify({ errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }] }) });
  const r = await c.resolve(multi(), { platforms: [], credentials: [] });
  t.equal(r.reason, 'AccessDenied');
  t.equal(r.status, 403);
  t.equal(verdictOf(r.reason), 'deny');
});

t.test('a registry that asks for auth only on the repository gets the credentials then', async (t) => {
  const c = faulty(t, manifests, { kind: 'status', status: 401, headers: { 'www-authenticate': 'Basic realm="repo"' } });
  const secret = { source: 'secret x/y', key: proxy.host, username: 'u', password: 'p' };
  const r = await c.resolve(multi(), { platforms: [], credentials: [secret] });
  t.equal(r.reason, 'CredentialsRejected');
  t.same(r.credentialsTried, ['secret x/y'], 'the credential alone: it answers the challenge the repository presents');
  const sent = proxy.requests.filter((x) => x.path.includes('/manifests/')).map((x) => x.authorization);
  t.same(sent, [undefined, `Basic ${Buffer.from('u:p').toString('base64')}`], 'one request without Authorization (nothing was asked yet), then the credential');
});
