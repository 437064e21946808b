// Reaching registries: refused ports, unknown hosts, TLS trust (CA bundle, skip-verify, wrong CA), HTTPS_PROXY
// through a CONNECT proxy (still verifying the registry with our CA), mirrors with fallback, and redirects —
// with credentials only ever sent to the registry they belong to.
import { createServer } from 'node:net';
import t from 'tap';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { pushImage } from '../harness/push.ts';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { startConnectProxy } from '../harness/connect-proxy.ts';
import { startRedirectServer } from '../harness/redirect.ts';
import { makeFreshPki } from '../harness/pki.ts';
import { clientFor, cred, ref } from './registry-fixture.ts';
import { verdictOf } from '../../src/verdict/reasons.ts';

let reg: TestRegistry;
let secured: TestRegistry;
const amd64 = [{ os: 'linux', architecture: 'amd64' }];

t.before(async () => {
  reg = await startRegistry({ auth: 'none' });
  secured = await startRegistry({ auth: 'basic' });
  await pushImage(reg, { repository: 'apps/app', tag: 'v1', platforms: amd64 });
  await pushImage(secured, { repository: 'apps/app', tag: 'v1', platforms: amd64 });
});
t.teardown(async () => {
  await reg.stop();
  await secured.stop();
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

t.test('a closed port is RegistryUnreachable (refused)', async (t) => {
  const host = `127.0.0.1:${await closedPort()}`;
  const c = clientFor({});
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${host}/apps/app:v1`), { platforms: [], credentials: [], deadline: Date.now() + 5000 });
  t.equal(r.reason, 'RegistryUnreachable');
  t.equal(r.cause, 'refused');
  t.equal(verdictOf(r.reason), 'unknown');
});

t.test('an unknown host is RegistryUnreachable (dns), bounded by the deadline', async (t) => {
  const c = clientFor({});
  t.teardown(() => c.close());
  const r = await c.resolve(ref('nonexistent.invalid/apps/app:v1'), { platforms: [], credentials: [], deadline: Date.now() + 3000 });
  t.ok(r.reason === 'RegistryUnreachable' || r.reason === 'RegistryTimeout', r.reason);
  if (r.reason === 'RegistryUnreachable') t.equal(r.cause, 'dns');
});

t.test('TLS: an untrusted certificate is RegistryUnreachable (tls)', async (t) => {
  const c = clientFor({});
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${reg.host}/apps/app:v1`), { platforms: [], credentials: [] });
  t.equal(r.reason, 'RegistryUnreachable');
  t.equal(r.cause, 'tls');
});

t.test('TLS: another CA does not help; skip-verify does', async (t) => {
  const other = await makeFreshPki('other-ca');
  const wrongCa = clientFor({ [reg.host]: { caFile: other.caFile } });
  t.teardown(() => wrongCa.close());
  t.equal((await wrongCa.resolve(ref(`${reg.host}/apps/app:v1`), { platforms: [], credentials: [] })).cause, 'tls');
  const skip = clientFor({ [reg.host]: { insecureSkipVerify: true } });
  t.teardown(() => skip.close());
  t.equal((await skip.resolve(ref(`${reg.host}/apps/app:v1`), { platforms: [], credentials: [] })).reason, 'Resolved');
});

t.test('TLS: an unreadable CA file is RegistryError naming it, not a crash', async (t) => {
  const c = clientFor({ [reg.host]: { caFile: '/nonexistent/ca.pem' } });
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${reg.host}/apps/app:v1`), { platforms: [], credentials: [] });
  t.equal(r.reason, 'RegistryError');
  t.match(r.detail, /cannot read CA file \/nonexistent\/ca\.pem/);
});

t.test('plain HTTP against a TLS registry fails cleanly', async (t) => {
  const c = clientFor({ [reg.host]: { plainHTTP: true } });
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${reg.host}/apps/app:v1`), { platforms: [], credentials: [], deadline: Date.now() + 3000 });
  t.equal(verdictOf(r.reason), 'unknown', `${r.reason} ${r.detail}`);
});

t.test('HTTPS_PROXY: requests tunnel through the proxy and still verify the registry with our CA', async (t) => {
  const proxy = await startConnectProxy();
  t.teardown(() => proxy.stop());
  const env = { HTTPS_PROXY: proxy.url };
  const c = clientFor({ [reg.host]: { caFile: reg.caFile } }, { env });
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${reg.host}/apps/app:v1`), { platforms: amd64, credentials: [] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.ok(proxy.tunnels.length >= 1);
  t.ok(proxy.tunnels.every((x) => x.target === reg.host && x.status === 200), 'every tunnel went to the registry');
  const untrusted = clientFor({}, { env });
  t.teardown(() => untrusted.close());
  const bad = await untrusted.resolve(ref(`${reg.host}/apps/app:v1`), { platforms: [], credentials: [] });
  t.equal(bad.cause, 'tls', 'the tunnelled TLS session is verified');
});

t.test('NO_PROXY exempts the registry', async (t) => {
  const proxy = await startConnectProxy();
  t.teardown(() => proxy.stop());
  const c = clientFor({ [reg.host]: { caFile: reg.caFile } }, { env: { HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' } });
  t.teardown(() => c.close());
  t.equal((await c.resolve(ref(`${reg.host}/apps/app:v1`), { platforms: [], credentials: [] })).reason, 'Resolved');
  t.equal(proxy.tunnels.length, 0);
});

t.test('proxy failures are RegistryUnreachable (proxy): down, or demanding auth', async (t) => {
  const down = clientFor({ [reg.host]: { caFile: reg.caFile } }, { env: { HTTPS_PROXY: `http://127.0.0.1:${await closedPort()}` } });
  t.teardown(() => down.close());
  const r = await down.resolve(ref(`${reg.host}/apps/app:v1`), { platforms: [], credentials: [] });
  t.equal(r.reason, 'RegistryUnreachable');
  t.equal(r.cause, 'proxy');

  const guarded = await startConnectProxy({ auth: { username: 'proxyuser', password: 'proxypass' } });
  t.teardown(() => guarded.stop());
  const noAuth = clientFor({ [reg.host]: { caFile: reg.caFile } }, { env: { HTTPS_PROXY: guarded.url } });
  t.teardown(() => noAuth.close());
  const r407 = await noAuth.resolve(ref(`${reg.host}/apps/app:v1`), { platforms: [], credentials: [] });
  t.equal(r407.cause, 'proxy');
  const withAuth = clientFor({ [reg.host]: { caFile: reg.caFile } }, { env: { HTTPS_PROXY: guarded.url.replace('http://', 'http://proxyuser:proxypass@') } });
  t.teardown(() => withAuth.close());
  t.equal((await withAuth.resolve(ref(`${reg.host}/apps/app:v1`), { platforms: [], credentials: [] })).reason, 'Resolved', 'proxy credentials from the URL work');
});

t.test('mirrors', async (t) => {
  let upstream: FaultProxy;
  let mirror: FaultProxy;
  t.before(async () => {
    upstream = await startFaultProxy(secured);
    mirror = await startFaultProxy(reg);
  });
  t.teardown(async () => {
    await upstream.stop();
    await mirror.stop();
  });
  const alice = () => cred('secret apps/alice', secured.users[0]!);
  const client = (mirrors: string[]) => clientFor({ [upstream.host]: { caFile: reg.caFile, mirrors: mirrors.map((host) => ({ host, ca: reg.caFile })) } });
  const reset = () => {
    upstream.reset();
    mirror.reset();
  };

  t.test('a mirror that has the image answers; the upstream is not asked; no credentials reach it', async (t) => {
    reset();
    const c = client([mirror.host]);
    t.teardown(() => c.close());
    const r = await c.resolve(ref(`${upstream.host}/apps/app:v1`), { platforms: amd64, credentials: [alice()] });
    t.equal(r.reason, 'Resolved', r.detail ?? '');
    t.match(r.detail, new RegExp(`answered by mirror ${mirror.host}`));
    t.equal(upstream.requests.length, 0, 'no request to the upstream');
    t.ok(mirror.requests.length > 0);
    t.ok(mirror.requests.every((x) => x.authorization === undefined), 'the upstream credentials never went to the mirror');
    t.ok(mirror.requests.filter((x) => x.path.includes('/manifests/')).every((x) => x.path.includes(`ns=${encodeURIComponent(upstream.host)}`)), 'mirror requests carry ns= like containerd');
    t.same(r.credentialsTried, ['anonymous']);
  });

  for (const [what, fault] of [
    ['404s', { kind: 'status', status: 404, body: JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }) }],
    ['answers 503', { kind: 'status', status: 503 }],
    ['resets the connection', { kind: 'reset' }],
  ] as const) {
    t.test(`a mirror that ${what} falls back to the upstream, with credentials`, async (t) => {
      reset();
      mirror.setFault((req) => (req.path.includes('/manifests/') ? fault : { kind: 'pass' }));
      const c = client([mirror.host]);
      t.teardown(() => c.close());
      const r = await c.resolve(ref(`${upstream.host}/apps/app:v1`), { platforms: [], credentials: [alice()] });
      t.equal(r.reason, 'Resolved', r.detail ?? '');
      t.equal(r.credentialUsed, 'secret apps/alice');
      t.match(r.detail, new RegExp(`mirror ${mirror.host}: `));
      t.match(r.detail, new RegExp(`answered by ${upstream.host}`));
      t.ok(mirror.requests.every((x) => x.authorization === undefined), 'still no credentials to the mirror');
      t.ok(upstream.requests.some((x) => x.authorization?.startsWith('Basic ')), 'the upstream got them');
    });
  }

  t.test('a mirror that is down falls back; mirrors are tried in order', async (t) => {
    reset();
    const dead = `127.0.0.1:${await closedPort()}`;
    const c = client([dead, mirror.host]);
    t.teardown(() => c.close());
    const r = await c.resolve(ref(`${upstream.host}/apps/app:v1`), { platforms: [], credentials: [] });
    t.equal(r.reason, 'Resolved');
    t.match(r.detail, new RegExp(`mirror ${dead}: RegistryUnreachable.*answered by mirror ${mirror.host}`));
  });

  t.test('when the mirror and the upstream both lack the tag, the upstream answer stands', async (t) => {
    reset();
    const c = client([mirror.host]);
    t.teardown(() => c.close());
    const r = await c.resolve(ref(`${upstream.host}/apps/app:v9`), { platforms: [], credentials: [alice()] });
    t.equal(r.reason, 'TagNotFound');
    t.same(r.suggestions, ['v1']);
  });
});

t.test('redirects are followed without the Authorization header', async (t) => {
  // The registry (Basic auth) sends the config blob request off to "storage" on another host: a redirect
  // server that logs what it got, which forwards to an anonymous registry holding the same blob.
  const storage = await startFaultProxy(reg);
  t.teardown(() => storage.stop());
  const hop = await startRedirectServer(storage.url, { appendPath: true, status: 302 });
  t.teardown(() => hop.stop());
  const front = await startFaultProxy(secured);
  t.teardown(() => front.stop());
  front.setFault((req) => (req.path.includes('/blobs/') ? { kind: 'status', status: 307, headers: { location: `${hop.url}${req.path.replace(/\?.*$/, '')}?X-Amz-Signature=abc` } } : { kind: 'pass' }));
  const logs: string[] = [];
  const logger = { debug: (o: object, m: string) => logs.push(`${m} ${JSON.stringify(o)}`), warn: (o: object, m: string) => logs.push(`${m} ${JSON.stringify(o)}`) };
  const c = clientFor({ [front.host]: { caFile: reg.caFile } }, { logger });
  t.teardown(() => c.close());
  const alice = cred('secret apps/alice', secured.users[0]!);
  const r = await c.resolve(ref(`${front.host}/apps/app:v1`), { platforms: amd64, credentials: [alice] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.ok(front.requests.some((x) => x.path.includes('/blobs/') && x.authorization?.startsWith('Basic ')), 'the registry itself got the credentials');
  t.equal(hop.requests.length, 1);
  t.equal(hop.requests[0]?.authorization, undefined, 'the redirect target got no Authorization');
  t.ok(storage.requests.length === 1 && storage.requests[0]?.authorization === undefined, 'nor did the second hop');
  const text = logs.join('\n');
  t.notMatch(text, /alice-secret|YWxpY2U6YWxpY2Utc2VjcmV0|Basic /, 'no credentials in the logs');
  t.notMatch(text, /X-Amz-Signature=abc/, 'presigned query values are redacted in the logs');
  t.match(text, /following registry redirect/);
});

t.test('redirect loops are bounded', async (t) => {
  const front = await startFaultProxy(reg);
  t.teardown(() => front.stop());
  front.setFault((req) => (req.path.includes('/blobs/') ? { kind: 'status', status: 307, headers: { location: req.path } } : { kind: 'pass' }));
  const c = clientFor({ [front.host]: { caFile: reg.caFile } });
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${front.host}/apps/app:v1`), { platforms: amd64, credentials: [] });
  t.equal(r.reason, 'RegistryError');
  t.match(r.detail, /too many redirects/);
});
