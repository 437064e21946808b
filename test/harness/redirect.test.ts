import t from 'tap';
import { Agent, request } from 'undici';
import { startRedirectServer } from './redirect.ts';

t.test('every request gets a 307 to the given URL, and its Authorization is logged', async (t) => {
  const server = await startRedirectServer('https://127.0.0.1:1/elsewhere');
  const agent = new Agent({ connect: { ca: server.caPem } });
  t.teardown(async () => {
    await agent.close();
    await server.stop();
  });
  t.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const res = await request(`${server.url}/v2/team/app/blobs/sha256:abc`, { dispatcher: agent, headers: { authorization: 'Bearer secret' } });
  await res.body.dump();
  t.equal(res.statusCode, 307);
  t.equal(res.headers.location, 'https://127.0.0.1:1/elsewhere');
  const anonymous = await request(`${server.url}/x`, { method: 'HEAD', dispatcher: agent });
  await anonymous.body.dump();
  t.same(server.requests, [
    { method: 'GET', path: '/v2/team/app/blobs/sha256:abc', location: 'https://127.0.0.1:1/elsewhere', authorization: 'Bearer secret' },
    { method: 'HEAD', path: '/x', location: 'https://127.0.0.1:1/elsewhere' },
  ]);
});

t.test('appendPath keeps the path, a function decides freely, and the status is configurable', async (t) => {
  const appending = await startRedirectServer('https://127.0.0.1:2/base/', { appendPath: true, status: 302, tls: false });
  const deciding = await startRedirectServer((req) => `https://127.0.0.1:3${req.path.toUpperCase()}`);
  const agent = new Agent({ connect: { ca: deciding.caPem } });
  t.teardown(async () => {
    await agent.close();
    await appending.stop();
    await deciding.stop();
  });
  const a = await request(`${appending.url}/v2/x?y=1`, { dispatcher: agent });
  await a.body.dump();
  t.equal(a.statusCode, 302);
  t.equal(a.headers.location, 'https://127.0.0.1:2/base/v2/x?y=1');
  const b = await request(`${deciding.url}/abc`, { dispatcher: agent });
  await b.body.dump();
  t.equal(b.headers.location, 'https://127.0.0.1:3/ABC');
});
