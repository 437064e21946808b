// The transport and auth layers on their own: per-registry concurrency, Link pagination parsing, token
// lifetimes and cache, credential identities, and a client that never throws.
import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { TokenCache, credentialIdentity, tokenLifetimeMs } from '../../src/registry/auth.ts';
import { nextLink } from '../../src/registry/repository.ts';
import { createRegistryClient } from '../../src/registry/client.ts';
import { Transport } from '../../src/registry/transport.ts';
import type { Reference } from '../../src/reference/reference.ts';
import { clientFor, ref } from './registry-fixture.ts';

t.test('at most maxConcurrency requests are in flight to one registry', async (t) => {
  let inflight = 0;
  let max = 0;
  let heads = 0;
  const digest = `sha256:${'c'.repeat(64)}`;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/v2/') return void res.writeHead(200, { 'content-length': '0' }).end();
    inflight++;
    heads++;
    max = Math.max(max, inflight);
    // Hold each answer briefly so that requests would overlap if nothing limited them.
    setTimeout(() => {
      inflight--;
      res.writeHead(200, { 'docker-content-digest': digest, 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': '0' }).end();
    }, 5);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const c = clientFor({ [host]: { plainHTTP: true, maxConcurrency: 2 } });
  t.teardown(() => c.close());
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => c.resolve(ref(`${host}/apps/app:t${i}`), { platforms: [], credentials: [] })));
  t.ok(results.every((r) => r.reason === 'Resolved' && r.digest === digest));
  t.equal(heads, 12);
  t.ok(max <= 2, `max in flight ${max}`);
});

t.test('identical concurrent resolutions share one registry round trip', async (t) => {
  let heads = 0;
  const server = createServer((req, res) => {
    if (req.method === 'HEAD') heads++;
    res.writeHead(200, { 'docker-content-digest': `sha256:${'d'.repeat(64)}`, 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': '0' }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const c = clientFor({ [host]: { plainHTTP: true } });
  t.teardown(() => c.close());
  const all = await Promise.all(Array.from({ length: 20 }, () => c.resolve(ref(`${host}/apps/app:v1`), { platforms: [], credentials: [] })));
  t.ok(all.every((r) => r.reason === 'Resolved'));
  t.equal(heads, 1);
});

t.test('nextLink follows rel="next" on the same origin only', async (t) => {
  const here = 'https://r.example/v2/a/tags/list?n=2';
  t.equal(nextLink('</v2/a/tags/list?n=2&last=b>; rel="next"', here), 'https://r.example/v2/a/tags/list?n=2&last=b');
  t.equal(nextLink('<https://r.example/v2/a/tags/list?last=b>; rel=next', here), 'https://r.example/v2/a/tags/list?last=b');
  t.equal(nextLink('</x>; rel="prev", </v2/a/tags/list?last=c>; rel="next"', here), 'https://r.example/v2/a/tags/list?last=c');
  t.equal(nextLink('<https://evil.example/v2/a/tags/list?last=b>; rel="next"', here), undefined, 'never to another host');
  t.equal(nextLink('<http://r.example/v2/a/tags/list?last=b>; rel="next"', here), undefined, 'nor down to http');
  t.equal(nextLink('</v2/a/tags/list?last=b>; rel="last"', here), undefined);
  t.equal(nextLink(undefined, here), undefined);
  t.equal(nextLink('garbage', here), undefined);
});

t.test('tokens live expires_in minus a margin, 60 s when unstated', async (t) => {
  t.equal(tokenLifetimeMs(300), 290_000);
  t.equal(tokenLifetimeMs(undefined), 50_000, 'the spec default of 60 s');
  t.equal(tokenLifetimeMs('300'), 50_000, 'a non-number is ignored');
  t.equal(tokenLifetimeMs(-5), 50_000);
  t.equal(tokenLifetimeMs(10), 5_000, 'short tokens keep half their life');
});

t.test('the token cache expires entries and stays bounded', async (t) => {
  const cache = new TokenCache(3);
  cache.set('a', 'Bearer a', 100);
  t.equal(cache.get('a', 99), 'Bearer a');
  t.equal(cache.get('a', 100), undefined, 'expired at its expiry time');
  for (const k of ['b', 'c', 'd', 'e']) cache.set(k, `Bearer ${k}`, 1000);
  t.equal(cache.size, 3);
  t.equal(cache.get('b', 0), undefined, 'the oldest went first');
  t.equal(cache.get('e', 0), 'Bearer e');
});

t.test('credential identities depend on the secret only, and reveal nothing', async (t) => {
  const a = credentialIdentity({ source: 's1', key: 'k', username: 'u', password: 'p' });
  t.equal(a, credentialIdentity({ source: 's2', key: 'k2', username: 'u', password: 'p' }));
  t.not(a, credentialIdentity({ source: 's1', key: 'k', username: 'u', password: 'q' }));
  t.not(credentialIdentity({ source: 's', key: 'k', username: 'ab', password: 'c' }), credentialIdentity({ source: 's', key: 'k', username: 'a', password: 'bc' }), 'no concatenation ambiguity');
  t.notMatch(a, /u|p/);
  t.equal(credentialIdentity(undefined), 'anonymous');
});

t.test('resolve never throws, even for nonsense input', async (t) => {
  const c = createRegistryClient({}, { env: {} });
  t.teardown(() => c.close());
  const broken = {
    repository: 'x',
    name: 'r.invalid/x',
    canonical: 'r.invalid/x:1',
    tagDefaulted: false,
    get registry(): string {
      throw new Error('boom');
    },
  } as unknown as Reference;
  const r = await c.resolve(broken, { platforms: [], credentials: [] });
  t.equal(r.reason, 'RegistryError');
  t.match(r.detail, /internal error while resolving: boom/);
  t.equal(r.reference, 'r.invalid/x:1');
  const closed = createRegistryClient({}, { env: {} });
  await closed.close();
  t.equal((await closed.resolve(ref('r.invalid/x:1'), { platforms: [], credentials: [] })).reason, 'RegistryError', 'a closed client answers, too');
});

t.test('hosts.toml [header] values go only to their own host: not to a token realm or a redirect elsewhere', async (t) => {
  const seen: Array<{ server: string; path: string; custom: string | undefined }> = [];
  const listen = async (name: string, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> => {
    const server = createServer((req, res) => {
      seen.push({ server: name, path: req.url ?? '', custom: req.headers['x-custom'] as string | undefined });
      handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const other = await listen('other', (_req, res) => void res.writeHead(200, { 'content-length': '0' }).end());
  const registry = await listen('registry', (req, res) => {
    if (req.url === '/away') return void res.writeHead(307, { location: `http://${other}/landed`, 'content-length': '0' }).end();
    res.writeHead(200, { 'content-length': '0' }).end();
  });
  const transport = new Transport(
    { host: registry, plainHTTP: true, headers: { 'X-Custom': ['a', 'b'] }, insecureSkipVerify: false, maxConcurrency: 4 },
    { clock: Date.now, env: {}, requestTimeoutMs: 5000 },
  );
  t.teardown(() => transport.close());
  const get = (url: string) => transport.send({ method: 'GET', url, operation: 'manifest', maxBytes: 1024, followRedirects: true });
  t.ok((await get(`http://${registry}/v2/`)).ok);
  t.ok((await get(`http://${other}/token?scope=x`)).ok, 'a token fetch through this transport to another host');
  t.ok((await get(`http://${registry}/away`)).ok, 'a redirect to another host');
  t.same(seen, [
    { server: 'registry', path: '/v2/', custom: 'a, b' },
    { server: 'other', path: '/token?scope=x', custom: undefined },
    { server: 'registry', path: '/away', custom: 'a, b' },
    { server: 'other', path: '/landed', custom: undefined },
  ]);
});

t.test('registry requests are logged at debug with a redacted URL, and not built at all when debug is off', async (t) => {
  const server = createServer((_req, res) => void res.writeHead(200, { 'content-length': '2' }).end('{}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const url = `http://${host}/token?scope=repository:a:pull&account=alice&service=r`;
  const run = async (levelEnabled: ((level: string) => boolean) | undefined) => {
    const records: { o: Record<string, unknown>; msg: string }[] = [];
    const asked: string[] = [];
    const logger = {
      debug: (o: object, msg: string) => void records.push({ o: o as Record<string, unknown>, msg }),
      warn: (o: object, msg: string) => void records.push({ o: o as Record<string, unknown>, msg }),
      ...(levelEnabled ? { isLevelEnabled: (level: string) => (asked.push(level), levelEnabled(level)) } : {}),
    };
    const transport = new Transport({ host, plainHTTP: true, insecureSkipVerify: false, maxConcurrency: 2 }, { clock: Date.now, env: {}, requestTimeoutMs: 5000, logger });
    t.teardown(() => transport.close());
    const res = await transport.send({ method: 'GET', url, operation: 'token', maxBytes: 1024 });
    t.ok(res.ok && res.value.status === 200, 'the request was answered');
    return { records, asked };
  };
  const on = await run((level) => level === 'debug');
  t.same(on.asked, ['debug'], 'the logger was asked about debug');
  t.match(on.records, [{ msg: 'registry request', o: { host, method: 'GET', operation: 'token', status: 200, url: /account=REDACTED/ } }]);
  t.notMatch(JSON.stringify(on.records), /alice/, 'the account is not in the record');
  const off = await run(() => false);
  t.same(off.records, [], 'no debug record when the logger says debug is off');
  const unsaid = await run(undefined);
  t.match(unsaid.records, [{ msg: 'registry request', o: { url: /account=REDACTED/ } }], 'a logger that cannot say gets every record, redacted');
});

t.test('a request leaves no listener on the caller\'s signal, answered or aborted', async (t) => {
  let hold: (() => void) | undefined;
  const server = createServer((req, res) => {
    if (req.url === '/slow') return void (hold = () => void res.writeHead(200, { 'content-length': '0' }).end());
    res.writeHead(200, { 'content-length': '2' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { hold?.(); server.closeAllConnections(); server.close(() => resolve()); }));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const transport = new Transport({ host, plainHTTP: true, insecureSkipVerify: false, maxConcurrency: 2 }, { clock: Date.now, env: {}, requestTimeoutMs: 5000 });
  t.teardown(() => transport.close());
  const review = new AbortController();
  const answered = await transport.send({ method: 'GET', url: `http://${host}/v2/`, operation: 'ping', maxBytes: 1024, signal: review.signal });
  t.ok(answered.ok && answered.value.status === 200);
  t.equal(getEventListeners(review.signal, 'abort').length, 0, 'none after an answer');
  const slow = transport.send({ method: 'GET', url: `http://${host}/slow`, operation: 'manifest', maxBytes: 1024, signal: review.signal });
  await new Promise((r) => setTimeout(r, 50));
  t.equal(getEventListeners(review.signal, 'abort').length, 1, 'one while the request is out');
  review.abort(new Error('the review deadline'));
  const aborted = await slow;
  t.notOk(aborted.ok, 'the caller\'s abort ends the request');
  t.equal(getEventListeners(review.signal, 'abort').length, 0, 'none after the abort');
});
