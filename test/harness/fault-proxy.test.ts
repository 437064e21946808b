import t from 'tap';
import { Agent, request, type Dispatcher } from 'undici';
import { faultSequence, startFaultProxy, type FaultProxy, type FaultRequest } from './fault-proxy.ts';
import { startLoopbackServer } from './loopback-server.ts';
import { MEDIA_TYPES, pushImage, pushTags } from './push.ts';
import { startRegistry } from './registry.ts';

const MANIFEST = '/v2/team/app/manifests/latest';

t.test('fault proxy', async (t) => {
  const reg = await startRegistry({ auth: 'token' });
  const pushed = await pushImage(reg, { repository: 'team/app', platforms: [{ os: 'linux', architecture: 'amd64' }] });
  const proxy = await startFaultProxy(reg);
  const agent = new Agent({ connect: { ca: reg.caPem } });
  t.teardown(async () => {
    await agent.close();
    await proxy.stop();
    await reg.stop();
  });
  t.beforeEach(() => proxy.reset());
  const get = (path: string, headers: Record<string, string> = {}, signal?: AbortSignal) =>
    request(`${proxy.url}${path}`, { dispatcher: agent, headers: { accept: MEDIA_TYPES.ociManifest, ...headers }, ...(signal ? { signal } : {}) });

  t.test('passes through: the challenge is relayed unchanged and token auth works via the proxy', async (t) => {
    t.match(proxy.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const direct = await request(`${reg.url}${MANIFEST}`, { dispatcher: agent });
    await direct.body.dump();
    const first = await get(MANIFEST);
    await first.body.dump();
    t.equal(first.statusCode, 401);
    t.equal(first.headers['www-authenticate'], direct.headers['www-authenticate']);

    const token = reg.tokenServer!.mint('alice', [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
    const second = await get(MANIFEST, { authorization: `Bearer ${token}` });
    t.equal(second.statusCode, 200);
    t.equal(second.headers['docker-content-digest'], pushed.digest);
    t.equal(await second.body.text(), pushed.body);
    t.same(proxy.requests, [
      { method: 'GET', path: MANIFEST, status: 401, fault: 'pass' },
      { method: 'GET', path: MANIFEST, status: 200, fault: 'pass', authorization: `Bearer ${token}` },
    ]);
  });

  t.test('HEAD passes through with the headers a GET would have', async (t) => {
    const token = reg.tokenServer!.mint('alice', [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
    const res = await request(`${proxy.url}${MANIFEST}`, { method: 'HEAD', dispatcher: agent, headers: { accept: MEDIA_TYPES.ociManifest, authorization: `Bearer ${token}` } });
    await res.body.dump();
    t.equal(res.statusCode, 200);
    t.equal(res.headers['content-length'], String(Buffer.byteLength(pushed.body)));
    t.equal(res.headers['docker-content-digest'], pushed.digest);
  });

  t.test('a status fault answers for the registry, e.g. 429 with Retry-After', async (t) => {
    proxy.setFault({ kind: 'status', status: 429, headers: { 'retry-after': '7', 'ratelimit-remaining': '0;w=21600' }, body: '{"errors":[{"code":"TOOMANYREQUESTS"}]}' });
    const res = await get(MANIFEST);
    t.equal(res.statusCode, 429);
    t.equal(res.headers['retry-after'], '7');
    t.equal(res.headers['ratelimit-remaining'], '0;w=21600');
    t.equal(res.headers['content-type'], 'application/json');
    t.same(await res.body.json(), { errors: [{ code: 'TOOMANYREQUESTS' }] });
    t.same(proxy.requests, [{ method: 'GET', path: MANIFEST, status: 429, fault: 'status' }]);
  });

  t.test('a reset fault drops the connection with a TCP reset', async (t) => {
    proxy.setFault({ kind: 'reset' });
    await t.rejects(get(MANIFEST), { code: 'ECONNRESET' });
    t.equal(proxy.requests[0]!.status, undefined);
  });

  t.test('a stall fault never answers, until the client gives up', async (t) => {
    proxy.setFault({ kind: 'stall' });
    const controller = new AbortController();
    const pending = get(MANIFEST, {}, controller.signal);
    while (proxy.requests.length === 0) await new Promise((r) => setImmediate(r));
    t.equal(proxy.endOf(proxy.requests[0]!), undefined, 'open while the client waits');
    controller.abort();
    await t.rejects(pending, { name: 'AbortError' });
    while (proxy.endOf(proxy.requests[0]!) === undefined) await new Promise((r) => setTimeout(r, 5));
    t.equal(proxy.endOf(proxy.requests[0]!)?.closedByClient, true, 'the client\'s abort closes it');
  });

  t.test('a delay fault passes through afterwards', async (t) => {
    proxy.setFault({ kind: 'delay', ms: 20 });
    const res = await get('/v2/');
    await res.body.dump();
    t.equal(res.statusCode, 401);
    t.same(proxy.requests, [{ method: 'GET', path: '/v2/', status: 401, fault: 'delay' }]);
  });

  t.test('a huge fault streams the given number of bytes with Content-Length', async (t) => {
    const bytes = 8 * 1024 * 1024 + 3;
    proxy.setFault({ kind: 'huge', bytes, headers: { 'content-type': MEDIA_TYPES.ociManifest } });
    const res = await get(MANIFEST);
    t.equal(res.statusCode, 200);
    t.equal(res.headers['content-length'], String(bytes));
    t.equal(res.headers['content-type'], MEDIA_TYPES.ociManifest);
    let received = 0;
    for await (const chunk of res.body) received += (chunk as Buffer).length;
    t.equal(received, bytes);
  });

  t.test('a huge body can be abandoned part way, chunked too', async (t) => {
    proxy.setFault({ kind: 'huge', bytes: 50 * 1024 * 1024, chunked: true });
    const res = await get(MANIFEST);
    t.equal(res.headers['content-length'], undefined);
    let received = 0;
    for await (const chunk of res.body) {
      received += (chunk as Buffer).length;
      if (received > 1024 * 1024) break;
    }
    t.ok(received > 1024 * 1024);
    const after = await get('/v2/');
    await after.body.dump();
    t.equal(after.statusCode, 200, 'the proxy still serves (the huge fault is still set)');
  });

  t.test('a garbage fault answers with the given body, status and content type', async (t) => {
    proxy.setFault({ kind: 'garbage', body: '{"schemaVersion": 2, "manif' });
    const res = await get(MANIFEST);
    t.equal(res.statusCode, 200);
    t.equal(res.headers['content-type'], 'application/json');
    t.equal(await res.body.text(), '{"schemaVersion": 2, "manif');
    proxy.setFault({ kind: 'garbage', status: 502, contentType: 'text/html', body: '<html>bad gateway</html>' });
    const html = await get(MANIFEST);
    t.equal(html.statusCode, 502);
    t.equal(html.headers['content-type'], 'text/html');
    await html.body.dump();
  });

  t.test('the chooser sees each request and faultSequence runs out into pass-through', async (t) => {
    const seen: FaultRequest[] = [];
    const next = faultSequence({ kind: 'status', status: 503 }, { kind: 'status', status: 500 });
    proxy.setFault((req) => {
      seen.push(req);
      return next(req);
    });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await get('/v2/?x=1', { 'x-test': String(i) });
      await res.body.dump();
      statuses.push(res.statusCode);
    }
    t.same(statuses, [503, 500, 401]);
    t.same(seen.map((r) => [r.method, r.path, r.headers['x-test']]), [
      ['GET', '/v2/?x=1', '0'],
      ['GET', '/v2/?x=1', '1'],
      ['GET', '/v2/?x=1', '2'],
    ]);
  });

  t.test('reset() clears the log and restores pass-through', async (t) => {
    proxy.setFault({ kind: 'status', status: 500 });
    await (await get('/v2/')).body.dump();
    proxy.reset();
    t.same(proxy.requests, []);
    const res = await get('/v2/');
    await res.body.dump();
    t.equal(res.statusCode, 401);
  });
});

t.test('pass-through rewrites Host and nothing else, both ways', async (t) => {
  const echo = await startLoopbackServer((req, res) => {
    const body = JSON.stringify({ headers: req.headers, url: req.url, method: req.method });
    res.writeHead(207, 'Custom Reason', [['link', '<a>; rel="next"'], ['Link', '<b>; rel="last"'], ['www-authenticate', 'Bearer realm="https://x/token",service="s",scope="repository:a:pull"'], ['content-length', String(Buffer.byteLength(body))]].flat());
    res.end(body);
  });
  const proxy = await startFaultProxy(echo, { tls: false });
  const agent = new Agent({ connect: { ca: echo.caPem } });
  t.teardown(async () => {
    await agent.close();
    await proxy.stop();
    await echo.stop();
  });
  t.match(proxy.url, /^http:\/\//);
  const res = await request(`${proxy.url}/v2/x/blobs/uploads/?a=b`, { method: 'POST', dispatcher: agent, headers: { authorization: 'Basic eDp5', 'x-custom': 'kept', accept: 'a, b' }, body: 'payload' });
  t.equal(res.statusCode, 207);
  t.equal(res.statusText, 'Custom Reason');
  t.same(res.headers.link, ['<a>; rel="next"', '<b>; rel="last"']);
  t.equal(res.headers['www-authenticate'], 'Bearer realm="https://x/token",service="s",scope="repository:a:pull"');
  const seen = (await res.body.json()) as { headers: Record<string, string>; url: string; method: string };
  t.equal(seen.headers.host, echo.host);
  t.match(seen, { url: '/v2/x/blobs/uploads/?a=b', method: 'POST', headers: { authorization: 'Basic eDp5', 'x-custom': 'kept', accept: 'a, b', 'content-length': '7' } });
});

t.test('with tagPageSize the proxy paginates tags/list the way newer registries do', async (t) => {
  const reg = await startRegistry();
  const proxy: FaultProxy = await startFaultProxy(reg, { tagPageSize: 10 });
  const agent = new Agent({ connect: { ca: reg.caPem } });
  t.teardown(async () => {
    await agent.close();
    await proxy.stop();
    await reg.stop();
  });
  const tags = Array.from({ length: 23 }, (_, i) => `t${String(i).padStart(2, '0')}`);
  await pushTags(reg, 'team/tags', [...tags].reverse());
  const pages: string[][] = [];
  let next: string | undefined = '/v2/team/tags/tags/list';
  while (next !== undefined) {
    const res: Dispatcher.ResponseData = await request(`${proxy.url}${next}`, { dispatcher: agent });
    pages.push(((await res.body.json()) as { tags: string[] }).tags);
    next = /^<([^>]+)>; rel="next"$/.exec(String(res.headers.link ?? ''))?.[1];
  }
  t.same(pages, [tags.slice(0, 10), tags.slice(10, 20), tags.slice(20)]);
  const small = await request(`${proxy.url}/v2/team/tags/tags/list?n=5&last=t03`, { dispatcher: agent });
  t.same(await small.body.json(), { name: 'team/tags', tags: ['t04', 't05', 't06', 't07', 't08'] });
  t.equal(small.headers.link, '</v2/team/tags/tags/list?last=t08&n=5>; rel="next"');
  const missing = await request(`${proxy.url}/v2/nope/tags/list`, { dispatcher: agent });
  t.equal(missing.statusCode, 404);
  t.match(await missing.body.text(), /NAME_UNKNOWN/);
});

t.test('stop() ends stalled requests instead of waiting for them', async (t) => {
  const echo = await startLoopbackServer((_req, res) => res.end('ok'));
  const proxy = await startFaultProxy(echo);
  proxy.setFault({ kind: 'stall' });
  const agent = new Agent({ connect: { ca: echo.caPem } });
  t.teardown(async () => {
    await agent.close();
    await echo.stop();
  });
  const pending = request(`${proxy.url}/`, { dispatcher: agent });
  while (proxy.requests.length === 0) await new Promise((r) => setImmediate(r));
  await proxy.stop();
  await t.rejects(pending);
});
