// Registries as they really answer (issue #10), over the real Distribution registry through fronts: a
// registry.k8s.io-shaped front (no challenge, 307 with a path rewrite for manifests, tags and blobs), presigned
// storage redirects, a hostile redirect target that wants its own token, and a relative redirect — with the
// credential going only to the registry host it belongs to.
import t from 'tap';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { pushImage, type PushedImage } from '../harness/push.ts';
import { startFaultProxy } from '../harness/fault-proxy.ts';
import { startHostileTarget, startK8sBackend, startRedirectingFront, startRelay, K8S_BACKEND_PREFIX } from '../harness/registry-fronts.ts';
import { clientFor, cred, ref } from './registry-fixture.ts';
import { verdictOf } from '../../src/verdict/reasons.ts';

let reg: TestRegistry;
let secured: TestRegistry;
let tokenReg: TestRegistry;
let pause: PushedImage;
const amd64 = [{ os: 'linux', architecture: 'amd64' }];
const s390x = [{ os: 'linux', architecture: 's390x' }];

t.before(async () => {
  [reg, secured, tokenReg] = await Promise.all([startRegistry({ auth: 'none' }), startRegistry({ auth: 'basic' }), startRegistry({ auth: 'token' })]);
  pause = await pushImage(reg, { repository: 'pause', tag: '3.10', platforms: [...amd64, { os: 'linux', architecture: 'arm64' }] });
  await pushImage(reg, { repository: 'pause', tag: '3.9', platforms: amd64 });
  await pushImage(reg, { repository: 'moved/app', tag: 'v1', platforms: amd64 });
  // The same content (same seed) in the anonymous registry and behind Basic auth: "storage" serves the former.
  await pushImage(reg, { repository: 'apps/app', tag: 'v1', platforms: amd64 });
  await pushImage(secured, { repository: 'apps/app', tag: 'v1', platforms: amd64 });
  await pushImage(tokenReg, { repository: 'team/app', tag: 'v1', platforms: amd64 });
});
t.teardown(async () => {
  await Promise.all([reg.stop(), secured.stop(), tokenReg.stop()]);
});

t.test('registry.k8s.io shape: no challenge, every /v2/ path a 307 to a backend under a rewritten path', async (t) => {
  const backend = await startK8sBackend(reg);
  t.teardown(() => backend.stop());
  const front = await startRedirectingFront(backend.url);
  t.teardown(() => front.stop());
  const c = clientFor({ [front.host]: { caFile: reg.caFile } });
  t.teardown(() => c.close());

  t.test('HEAD follows the redirect: the digest comes from the backend answer', async (t) => {
    const r = await c.resolve(ref(`${front.host}/pause:3.10`), { platforms: [], credentials: [] });
    t.equal(r.reason, 'Resolved', r.detail ?? '');
    t.equal(r.digest, pause.digest);
    t.ok(front.requests.some((x) => x.method === 'HEAD' && x.path === '/v2/pause/manifests/3.10' && x.status === 307), 'the front redirected the HEAD');
    t.ok(backend.requests.some((x) => x.method === 'HEAD' && x.path === `${K8S_BACKEND_PREFIX}pause/manifests/3.10`), 'the backend answered it under the rewritten path');
  });

  t.test('the platform check follows redirects for the index GET and the config blobs', async (t) => {
    const r = await c.resolve(ref(`${front.host}/pause:3.10`), { platforms: amd64, credentials: [] });
    t.equal(r.reason, 'Resolved', r.detail ?? '');
    t.same(r.matchedPlatform, amd64[0]);
    const wrong = await c.resolve(ref(`${front.host}/pause:3.10`), { platforms: s390x, credentials: [] });
    t.equal(wrong.reason, 'PlatformMismatch');
    t.equal(verdictOf(wrong.reason), 'deny');
  });

  t.test('a typo is a certain TagNotFound, with suggestions read through the redirected tags/list', async (t) => {
    const r = await c.resolve(ref(`${front.host}/pause:3.1O`), { platforms: [], credentials: [] });
    t.equal(r.reason, 'TagNotFound', r.detail ?? '');
    t.equal(verdictOf(r.reason), 'deny');
    t.ok(r.suggestions?.includes('3.10'), `suggestions ${JSON.stringify(r.suggestions)}`);
    t.ok(front.requests.some((x) => x.path.startsWith('/v2/pause/tags/list') && x.status === 307), 'tags/list was redirected');
  });

  t.test('a repository that does not exist is RepositoryNotFound behind the redirect too', async (t) => {
    const r = await c.resolve(ref(`${front.host}/no-such-image:1.0`), { platforms: [], credentials: [] });
    t.equal(r.reason, 'RepositoryNotFound', r.detail ?? '');
  });
});

t.test('a relative Location is resolved against the registry, which keeps its credential', async (t) => {
  const front = await startFaultProxy(secured);
  t.teardown(() => front.stop());
  await pushImage(secured, { repository: 'moved/app', tag: 'v1', platforms: amd64 });
  front.setFault((req) => (req.path === '/v2/apps/app/manifests/v1' ? { kind: 'status', status: 308, headers: { location: '/v2/moved/app/manifests/v1' } } : { kind: 'pass' }));
  const c = clientFor({ [front.host]: { caFile: secured.caFile } });
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${front.host}/apps/app:v1`), { platforms: [], credentials: [cred('secret apps/alice', secured.users[0]!)] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  const moved = front.requests.filter((x) => x.path === '/v2/moved/app/manifests/v1');
  t.ok(moved.length > 0 && moved.every((x) => x.authorization?.startsWith('Basic ')), 'the same host still gets its own credential');
});

t.test('a redirect from HTTPS to plain HTTP is refused (unknown), unless the registry is configured plain HTTP', async (t) => {
  const backend = await startK8sBackend(reg, { tls: false });
  t.teardown(() => backend.stop());
  const front = await startRedirectingFront(backend.url);
  t.teardown(() => front.stop());
  const c = clientFor({ [front.host]: { caFile: reg.caFile } });
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${front.host}/pause:3.10`), { platforms: [], credentials: [] });
  t.equal(verdictOf(r.reason), 'unknown');
  t.equal(r.reason, 'RegistryError');
  t.match(r.detail, /plain HTTP/);
  t.equal(backend.requests.length, 0, 'nothing was sent in clear text');

  const plainFront = await startRedirectingFront(backend.url, { tls: false });
  t.teardown(() => plainFront.stop());
  const p = clientFor({ [plainFront.host]: { plainHTTP: true } });
  t.teardown(() => p.close());
  const ok = await p.resolve(ref(`${plainFront.host}/pause:3.10`), { platforms: [], credentials: [] });
  t.equal(ok.reason, 'Resolved', ok.detail ?? '');
});

t.test('presigned storage: manifest and blob GETs redirected to storage carry no Authorization', async (t) => {
  const storage = await startRelay(reg);
  t.teardown(() => storage.stop());
  const front = await startFaultProxy(secured);
  t.teardown(() => front.stop());
  front.setFault((req) =>
    (req.method === 'GET' && req.path.includes('/manifests/')) || req.path.includes('/blobs/')
      ? { kind: 'status', status: 307, headers: { location: `${storage.url}${req.path.replace(/\?.*$/, '')}?X-Amz-Signature=abc&X-Amz-Credential=xyz` } }
      : { kind: 'pass' },
  );
  const c = clientFor({ [front.host]: { caFile: secured.caFile } });
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${front.host}/apps/app:v1`), { platforms: amd64, credentials: [cred('secret apps/alice', secured.users[0]!)] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.same(r.matchedPlatform, amd64[0]);
  t.ok(storage.requests.some((x) => x.path.includes('/manifests/')) && storage.requests.some((x) => x.path.includes('/blobs/')), 'storage served the manifest and the blob');
  t.same(storage.requests.filter((x) => x.authorization !== undefined), [], 'storage never saw an Authorization header');
});

t.test('a hostile redirect target that demands its own token gets no credential, and the answer is unknown', async (t) => {
  for (const what of ['manifest HEAD', 'config blob'] as const) {
    t.test(what, async (t) => {
      const hostile = await startHostileTarget();
      t.teardown(() => hostile.stop());
      const front = await startFaultProxy(tokenReg);
      t.teardown(() => front.stop());
      front.setFault((req) =>
        (what === 'manifest HEAD' ? req.method === 'HEAD' && req.path.includes('/manifests/') : req.path.includes('/blobs/'))
          ? { kind: 'status', status: 307, headers: { location: `${hostile.url}${req.path}` } }
          : { kind: 'pass' },
      );
      const c = clientFor({ [front.host]: { caFile: tokenReg.caFile } });
      t.teardown(() => c.close());
      const alice = cred('secret team/alice', tokenReg.users[0]!);
      const r = await c.resolve(ref(`${front.host}/team/app:v1`), { platforms: amd64, credentials: [alice] });
      t.not(verdictOf(r.reason), 'deny', `${r.reason}: ${r.detail ?? ''}`);
      t.equal(r.reason, 'RegistryError');
      t.ok(hostile.requests.length > 0, 'the target was reached');
      t.same(hostile.requests.filter((x) => x.authorization !== undefined), [], 'not one Authorization header reached it');
      t.notOk(hostile.requests.some((x) => x.path.startsWith('/token')), 'its token realm was never asked');
      t.notMatch(JSON.stringify(r), /secret-internal-text/, 'its text is not quoted');
      t.notMatch(JSON.stringify(r), /alice-secret/);
    });
  }
});
