// The registry client's small layers on their own: singleflight, the pull budget, which addresses a registry may
// send us to, TLS advice naming the setting, redirect policy, and the authorizing sender's one-host rule (with a
// scripted inner Sender standing in for the network below it).
import { getEventListeners } from 'node:events';
import t from 'tap';
import { AuthorizingSender } from '../../src/registry/authorizing-sender.ts';
import { TokenService } from '../../src/registry/auth.ts';
import { tlsAdvice, isNotTlsServer } from '../../src/registry/errors.ts';
import type { HttpRequest, HttpResponse, Result, Sender } from '../../src/registry/exchange.ts';
import { isInternalHost, isLoopbackHost, networks, refuseInternal } from '../../src/registry/network-policy.ts';
import { PullBudget } from '../../src/registry/pull-budget.ts';
import { withRedirects } from '../../src/registry/redirects.ts';
import { Singleflight } from '../../src/registry/singleflight.ts';
import { parseChallenges } from '../../src/registry/challenge.ts';

/** A Sender answering from a script, logging what it was sent. */
function scripted(answer: (req: HttpRequest) => Partial<HttpResponse> & { status: number }): Sender & { sent: HttpRequest[] } {
  const sent: HttpRequest[] = [];
  return {
    sent,
    async send(req): Promise<Result<HttpResponse>> {
      sent.push(req);
      const a = answer(req);
      return { ok: true, value: { headers: {}, body: Buffer.alloc(0), url: req.url, ...a } };
    },
  };
}

t.test('singleflight: concurrent callers share one run; a settled key runs again', async (t) => {
  const sf = new Singleflight<number>();
  let runs = 0;
  const work = async (): Promise<number> => {
    runs++;
    await new Promise((r) => setTimeout(r, 5));
    return runs;
  };
  const first = sf.run('k', work);
  const second = sf.run('k', work);
  t.equal(first.joined, false);
  t.equal(second.joined, true);
  t.ok(sf.has('k'));
  t.same(await Promise.all([first.promise, second.promise]), [1, 1]);
  t.notOk(sf.has('k'), 'forgotten once settled');
  t.equal(await sf.do('k', work), 2);
  await t.rejects(sf.do('bad', async () => Promise.reject(new Error('boom'))), /boom/);
  t.equal(sf.size, 0, 'a failure is forgotten too');
});

t.test('singleflight with signals: a caller that gives up gets its own answer; the work is aborted when the last one does', async (t) => {
  const sf = new Singleflight<string>();
  let workSignal: AbortSignal | undefined;
  let finish: ((v: string) => void) | undefined;
  const work = (signal: AbortSignal) => {
    workSignal = signal;
    return new Promise<string>((resolve) => (finish = resolve));
  };
  const [a, b] = [new AbortController(), new AbortController()];
  const first = sf.share('k', work, { signal: a.signal, gaveUp: () => 'gave up a' });
  const plain = sf.share('k', work);
  const second = sf.share('k', work, { signal: b.signal, gaveUp: () => 'gave up b' });
  t.same([first.joined, plain.joined, second.joined], [false, true, true]);
  a.abort();
  t.equal(await first.promise, 'gave up a');
  b.abort();
  t.equal(await second.promise, 'gave up b');
  t.equal(workSignal?.aborted, false, 'a caller without a signal keeps the work going');
  finish?.('done');
  t.equal(await plain.promise, 'done');

  const [c, d] = [new AbortController(), new AbortController()];
  const third = sf.share('j', work, { signal: c.signal, gaveUp: () => 'gave up c' });
  const fourth = sf.share('j', work, { signal: d.signal, gaveUp: () => 'gave up d' });
  c.abort();
  t.equal(workSignal?.aborted, false, 'one caller left waiting: not aborted');
  d.abort();
  t.equal(workSignal?.aborted, true, 'no caller left: aborted');
  t.same([await third.promise, await fourth.promise], ['gave up c', 'gave up d']);
  t.notOk(sf.has('j'), 'forgotten at once: the next caller starts afresh');
  finish?.('too late');
  const gone = new AbortController();
  gone.abort();
  let ran = false;
  t.equal(await sf.share('h', async () => ((ran = true), 'ran'), { signal: gone.signal, gaveUp: () => 'over' }).promise, 'over');
  t.notOk(ran, 'a caller already given up starts nothing');
  const failing = new AbortController();
  const rejected = sf.share('f', async () => Promise.reject(new Error('boom')), { signal: failing.signal, gaveUp: () => 'x' });
  await t.rejects(rejected.promise, /boom/, 'a failure reaches a caller still waiting');
});

t.test('singleflight leaves no listener on a caller\'s signal, whether the caller got the answer or gave up', async (t) => {
  const sf = new Singleflight<string>();
  let finish: ((v: string) => void) | undefined;
  const work = () => new Promise<string>((resolve) => (finish = resolve));
  const [a, b] = [new AbortController(), new AbortController()];
  const answered = sf.share('k', work, { signal: a.signal, gaveUp: () => 'gave up a' });
  const leaving = sf.share('k', work, { signal: b.signal, gaveUp: () => 'gave up b' });
  t.equal(getEventListeners(a.signal, 'abort').length, 1, 'one listener while waiting');
  b.abort();
  t.equal(await leaving.promise, 'gave up b');
  t.equal(getEventListeners(b.signal, 'abort').length, 0, 'none once it gave up');
  finish?.('done');
  t.equal(await answered.promise, 'done');
  t.equal(getEventListeners(a.signal, 'abort').length, 0, 'none once answered');
  a.abort();
  t.equal(await answered.promise, 'done', 'an abort after the answer changes nothing');
  const failing = new AbortController();
  await t.rejects(sf.share('f', async () => Promise.reject(new Error('boom')), { signal: failing.signal, gaveUp: () => 'x' }).promise, /boom/);
  t.equal(getEventListeners(failing.signal, 'abort').length, 0, 'none once the work failed');
});

t.test('pull budget: takes until the reserve, merges fresh observations, refills after the window moves', async (t) => {
  let now = 0;
  const b = new PullBudget(() => now);
  t.same(b.take('hub', 10), { ok: true }, 'no observation: nothing to keep');
  b.observe('hub', 12);
  t.same(b.take('hub', 10), { ok: true });
  t.same(b.take('hub', 10), { ok: true });
  t.same(b.take('hub', 10), { ok: false, remaining: 10 }, 'at the reserve: no more');
  b.observe('hub', 12);
  t.same(b.take('hub', 10), { ok: false, remaining: 10 }, 'a stale-but-fresh answer does not refill what was taken');
  now += 61_000;
  b.observe('hub', 50);
  t.same(b.take('hub', 10), { ok: true }, 'a new window');
  t.same(b.take('other', 10), { ok: true }, 'per host');
});

t.test('internal addresses: loopback, link-local, metadata; not public ones', async (t) => {
  for (const h of ['127.0.0.1', '127.3.2.1', 'localhost', 'svc.localhost', '[::1]', '169.254.169.254', 'fe80::1', '[fe80::abcd]', 'metadata.google.internal', '::ffff:127.0.0.1', '0.0.0.0']) {
    t.ok(isInternalHost(h), `${h} is internal`);
  }
  for (const h of ['registry.k8s.io', '8.8.8.8', 'europe-west1-docker.pkg.dev', '10.0.0.1', '[2001:db8::1]']) t.notOk(isInternalHost(h), `${h} is not`);
  t.ok(isLoopbackHost('127.0.0.1:5000'));
  t.ok(isLoopbackHost('localhost:5000'));
  t.ok(isLoopbackHost('[::1]:5000'));
  t.notOk(isLoopbackHost('169.254.1.1:5000'), 'link-local is not loopback');
  t.notOk(isLoopbackHost('registry.local:5000'));
  t.match(refuseInternal(new URL('http://169.254.169.254/latest/meta-data'), { origin: 'registry.example.com' }), /metadata/);
  t.equal(refuseInternal(new URL('https://127.0.0.1:9000/x'), { origin: 'registry.example.com', allowedHosts: ['127.0.0.1:9000'] }), undefined, 'the config may allow a host');
  t.equal(refuseInternal(new URL('https://127.0.0.1:9000/x'), { origin: '127.0.0.1:5000' }), undefined, 'a loopback registry may send us to loopback');
  t.equal(refuseInternal(new URL('https://storage.example.com/x'), { origin: 'registry.example.com' }), undefined);
  const corp = networks(['10.0.0.0/8', 'fd00::/8', 'not-a-cidr']);
  t.ok(isInternalHost('10.1.2.3', corp) && isInternalHost('[fd00::5]', corp), 'configured internal networks count');
  t.notOk(isInternalHost('11.1.2.3', corp));
  t.match(refuseInternal(new URL('https://10.1.2.3/x'), { origin: 'registry.example.com', internalNetworks: corp! }), /configured internal/);
  t.equal(refuseInternal(new URL('https://10.1.2.3/x'), { origin: '10.9.9.9:5000', internalNetworks: corp! }), undefined, 'a registry inside the network may redirect within it');
});

t.test('TLS advice names the setting that fixes each configuration failure', async (t) => {
  const cases: [string, RegExp][] = [
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', /unknown authority.*`ca:`/],
    ['SELF_SIGNED_CERT_IN_CHAIN', /`ca:`/],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', /`ca:`/],
    ['ERR_TLS_CERT_ALTNAME_INVALID', /not valid for that name.*`insecureSkipVerify: true`/],
    ['ERR_SSL_WRONG_VERSION_NUMBER', /does not speak TLS.*`plainHTTP: true`/],
  ];
  for (const [code, want] of cases) t.match(tlsAdvice(code, 'r.example:5000'), want, code);
  t.equal(tlsAdvice('CERT_HAS_EXPIRED', 'r.example'), undefined, 'an expired certificate is the registry\'s to fix');
  t.ok(isNotTlsServer('ERR_SSL_WRONG_VERSION_NUMBER'));
  t.notOk(isNotTlsServer('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'a certificate problem is no reason to fall back to HTTP');
});

t.test('redirects: relative Location, bounded, never https → http, never to metadata, Authorization only within the host', async (t) => {
  const inner = scripted((req) => {
    const u = new URL(req.url);
    if (u.pathname === '/v2/a') return { status: 307, headers: { location: '/v2/b' } };
    if (u.pathname === '/v2/b') return { status: 302, headers: { location: 'https://storage.example.com/blob?sig=1' } };
    if (u.pathname === '/v2/plain') return { status: 301, headers: { location: 'http://storage.example.com/blob' } };
    if (u.pathname === '/v2/meta') return { status: 307, headers: { location: 'http://169.254.169.254/latest' } };
    if (u.pathname === '/v2/loop') return { status: 307, headers: { location: '/v2/loop' } };
    return { status: 200 };
  });
  const s = withRedirects(inner, { origin: 'registry.example.com', allowPlainHTTP: false });
  const base = { method: 'GET' as const, operation: 'manifest' as const, maxBytes: 1024, followRedirects: true, headers: { authorization: 'Bearer registry-token' } };
  const ok = await s.send({ ...base, url: 'https://registry.example.com/v2/a' });
  t.ok(ok.ok && ok.value.status === 200 && ok.value.url === 'https://storage.example.com/blob?sig=1');
  t.same(inner.sent.map((r) => [new URL(r.url).host + new URL(r.url).pathname, r.headers?.authorization]), [
    ['registry.example.com/v2/a', 'Bearer registry-token'],
    ['registry.example.com/v2/b', 'Bearer registry-token'],
    ['storage.example.com/blob', undefined],
  ]);
  const plain = await s.send({ ...base, url: 'https://registry.example.com/v2/plain' });
  t.ok(!plain.ok && /plain HTTP/.test(plain.error.message) && plain.error.reason === 'RegistryError');
  const meta = await s.send({ ...base, url: 'https://registry.example.com/v2/meta' });
  t.ok(!meta.ok, 'refused');
  const metaPlain = withRedirects(inner, { origin: 'registry.example.com', allowPlainHTTP: true });
  const m2 = await metaPlain.send({ ...base, url: 'https://registry.example.com/v2/meta' });
  t.ok(!m2.ok && /metadata/.test(m2.error.message), 'even with plain HTTP allowed, never to the metadata address');
  const loop = await s.send({ ...base, url: 'https://registry.example.com/v2/loop' });
  t.ok(!loop.ok && /too many redirects/.test(loop.error.message));
});

t.test('the authorizing sender answers challenges of its own host only', async (t) => {
  const credential = { source: 'secret demo/regcred', key: 'registry.example.com', username: 'alice', password: 'alice-secret' };
  const inner = scripted((req) => {
    const u = new URL(req.url);
    if (u.host === 'evil.example.com') return { status: 401, headers: { 'www-authenticate': 'Bearer realm="https://evil.example.com/token",service="evil"' } };
    if (u.pathname === '/token') return { status: 200, body: Buffer.from(JSON.stringify({ token: 'registry-token' })) };
    if (!req.headers?.authorization) return { status: 401, headers: { 'www-authenticate': 'Bearer realm="https://auth.example.com/token",service="registry"' } };
    return { status: 200 };
  });
  const make = (): AuthorizingSender =>
    new AuthorizingSender(inner, { host: 'registry.example.com', repository: 'app', credential, challenges: [], tokens: new TokenService(Date.now), plainHTTP: false });
  const base = { method: 'GET' as const, operation: 'manifest' as const, maxBytes: 1024 };

  const s = make();
  const ok = await s.send({ ...base, url: 'https://registry.example.com/v2/app/manifests/v1' });
  t.ok(ok.ok && ok.value.status === 200, 'the registry host\'s own challenge is answered');
  t.ok(s.authenticated);
  const token = inner.sent.find((r) => r.url.startsWith('https://auth.example.com/token'));
  t.match(token?.headers?.authorization, /^Basic /, 'the realm the registry named got the credential (HTTPS)');

  inner.sent.length = 0;
  const foreign = await make().send({ ...base, url: 'https://evil.example.com/v2/app/manifests/v1' });
  t.ok(!foreign.ok && foreign.error.reason === 'RegistryError' && foreign.error.status === 401, 'another host\'s 401 is unknown, not a denial');
  t.same(inner.sent.map((r) => r.headers?.authorization), [undefined], 'and it got no Authorization, nor was its realm asked');

  const challenges = parseChallenges('Bearer realm="http://auth.example.com/token",service="registry"');
  const plainRealm = new AuthorizingSender(inner, { host: 'registry.example.com', repository: 'app', credential, challenges, tokens: new TokenService(Date.now), plainHTTP: false });
  const refused = await plainRealm.send({ ...base, url: 'https://registry.example.com/v2/app/manifests/v1' });
  t.ok(!refused.ok && /plain-HTTP token realm/.test(refused.error.message), 'no credential to a plain-HTTP realm on another host');
  const metaRealm = new AuthorizingSender(inner, {
    host: 'registry.example.com',
    repository: 'app',
    credential: undefined,
    challenges: parseChallenges('Bearer realm="https://169.254.169.254/token"'),
    tokens: new TokenService(Date.now),
    plainHTTP: false,
  });
  const m = await metaRealm.send({ ...base, url: 'https://registry.example.com/v2/app/manifests/v1' });
  t.ok(!m.ok && /metadata/.test(m.error.message), 'a realm on an internal address is refused (unknown)');
});

t.test('the authorizing sender judges every request and answer by its own URL, however they alternate', async (t) => {
  const credential = { source: 'secret demo/regcred', key: 'registry.example.com', username: 'alice', password: 'alice-secret' };
  const inner = scripted((req) => (req.url.endsWith('/away') ? { status: 401, url: 'https://storage.example.com/blob' } : { status: 200 }));
  const s = new AuthorizingSender(inner, { host: 'registry.example.com', repository: 'app', credential, challenges: parseChallenges('Basic realm="r"'), tokens: new TokenService(Date.now), plainHTTP: false });
  const base = { method: 'GET' as const, operation: 'manifest' as const, maxBytes: 1024 };
  const urls = [
    'https://registry.example.com/v2/app/manifests/v1',
    'https://storage.example.com/v2/app/manifests/v1',
    'https://storage.example.com/v2/app/manifests/v1',
    'https://registry.example.com/v2/app/manifests/v1',
    'https://registry.example.com:443/v2/app/manifests/v2',
    'https://registry.example.com.evil.example/v2/app/manifests/v1',
    'https://registry.example.com/v2/app/manifests/v1',
    'not a url',
    'https://registry.example.com/v2/app/manifests/v1',
  ];
  for (const url of urls) await s.send({ ...base, url });
  t.same(
    inner.sent.map((r) => [r.url, r.headers?.authorization !== undefined]),
    urls.map((url) => [url, url.startsWith('https://registry.example.com/') || url.startsWith('https://registry.example.com:443/')]),
    'Authorization on the registry host\'s requests only',
  );
  const away = await s.send({ ...base, url: 'https://registry.example.com/away' });
  t.ok(!away.ok && away.error.errorCode === 'FOREIGN_AUTH', 'an answer from another host (its URL, not the request\'s) is judged as foreign');
});
