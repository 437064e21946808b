import t from 'tap';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { Agent, ProxyAgent, request } from 'undici';
import { startConnectProxy } from './connect-proxy.ts';
import { startRegistry } from './registry.ts';

/** Sends raw bytes to the proxy and returns the first response line. */
async function rawStatusLine(host: string, text: string): Promise<string> {
  const [hostname, port] = host.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname!, () => socket.write(text));
    let data = '';
    socket.on('data', (c: Buffer) => {
      data += c.toString('latin1');
      if (data.includes('\r\n')) {
        socket.destroy();
        resolve(data.split('\r\n')[0]!);
      }
    });
    socket.on('error', reject);
  });
}

t.test('HTTPS through a CONNECT tunnel reaches the registry and the tunnel is logged', async (t) => {
  const reg = await startRegistry();
  const proxy = await startConnectProxy();
  const dispatcher = new ProxyAgent({ uri: proxy.url, requestTls: { ca: reg.caPem } });
  t.teardown(async () => {
    await dispatcher.close();
    await proxy.stop();
    await reg.stop();
  });
  t.match(proxy.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const res = await request(`${reg.url}/v2/`, { dispatcher });
  await res.body.dump();
  t.equal(res.statusCode, 200);
  t.same(proxy.tunnels, [{ method: 'CONNECT', target: reg.host, status: 200 }]);
});

t.test('with proxy auth, a tunnel without the right Proxy-Authorization gets 407', async (t) => {
  const reg = await startRegistry();
  const proxy = await startConnectProxy({ auth: { username: 'p', password: 'q' } });
  const without = new ProxyAgent({ uri: proxy.url, requestTls: { ca: reg.caPem } });
  const wrong = new ProxyAgent({ uri: proxy.url, token: `Basic ${Buffer.from('p:x').toString('base64')}`, requestTls: { ca: reg.caPem } });
  const right = new ProxyAgent({ uri: proxy.url, token: `Basic ${Buffer.from('p:q').toString('base64')}`, requestTls: { ca: reg.caPem } });
  t.teardown(async () => {
    await Promise.all([without.close(), wrong.close(), right.close()]);
    await proxy.stop();
    await reg.stop();
  });
  await t.rejects(request(`${reg.url}/v2/`, { dispatcher: without }), /407/);
  await t.rejects(request(`${reg.url}/v2/`, { dispatcher: wrong }), /407/);
  const res = await request(`${reg.url}/v2/`, { dispatcher: right });
  await res.body.dump();
  t.equal(res.statusCode, 200);
  t.same(proxy.tunnels.map((x) => x.status), [407, 407, 200]);
  t.equal(proxy.tunnels[2]!.proxyAuthorization, `Basic ${Buffer.from('p:q').toString('base64')}`);
});

t.test('targets off the loopback are refused before any connection is made', async (t) => {
  const proxy = await startConnectProxy();
  t.teardown(() => proxy.stop());
  t.equal(await rawStatusLine(proxy.host, 'CONNECT registry.example.invalid:443 HTTP/1.1\r\nHost: registry.example.invalid:443\r\n\r\n'), 'HTTP/1.1 403 Forbidden');
  t.equal(await rawStatusLine(proxy.host, 'CONNECT nonsense HTTP/1.1\r\nHost: x\r\n\r\n'), 'HTTP/1.1 400 Bad Request');
  t.same(proxy.tunnels.map((x) => [x.target, x.status]), [
    ['registry.example.invalid:443', 403],
    ['nonsense', 400],
  ]);
});

t.test('a closed port behind the proxy is a 502 on CONNECT', async (t) => {
  const reg = await startRegistry();
  const host = reg.host;
  await reg.stop();
  const proxy = await startConnectProxy();
  t.teardown(() => proxy.stop());
  t.equal(await rawStatusLine(proxy.host, `CONNECT ${host} HTTP/1.1\r\nHost: ${host}\r\n\r\n`), 'HTTP/1.1 502 Bad Gateway');
});

t.test('plain HTTP requests in absolute form are forwarded and logged', async (t) => {
  const reg = await startRegistry({ tls: false });
  const proxy = await startConnectProxy();
  t.teardown(async () => {
    await proxy.stop();
    await reg.stop();
  });
  const [hostname, port] = proxy.host.split(':');
  const status = await new Promise<number | undefined>((resolve, reject) => {
    const req = httpRequest({ host: hostname, port: Number(port), path: `${reg.url}/v2/` }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
  t.equal(status, 200);
  t.same(proxy.requests, [{ method: 'GET', target: `${reg.url}/v2/`, status: 200 }]);
  // An ordinary agent never touches the proxy: nothing logged.
  const agent = new Agent();
  t.teardown(() => agent.close());
  await (await request(`${reg.url}/v2/`, { dispatcher: agent })).body.dump();
  t.equal(proxy.requests.length, 1);
});
