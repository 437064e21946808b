// HTTPS_PROXY / HTTP_PROXY / NO_PROXY selection with Go httpproxy semantics, from an injected environment.
import t from 'tap';
import { Dispatchers } from '../../src/registry/dispatcher.ts';
import { proxyFor, proxySelector } from '../../src/registry/proxy.ts';

const u = (s: string): URL => new URL(s);

t.test('HTTPS requests use HTTPS_PROXY, HTTP requests HTTP_PROXY', async (t) => {
  const env = { HTTPS_PROXY: 'http://secure-proxy:3128', HTTP_PROXY: 'http://plain-proxy:3128' };
  t.equal(proxyFor(u('https://r.example/v2/'), env)?.host, 'secure-proxy:3128');
  t.equal(proxyFor(u('http://r.example/v2/'), env)?.host, 'plain-proxy:3128');
  t.equal(proxyFor(u('https://r.example/v2/'), { HTTP_PROXY: 'http://p:1' }), undefined, 'HTTP_PROXY does not cover https');
  t.equal(proxyFor(u('https://r.example/v2/'), {}), undefined);
});

t.test('upper case wins; lower case works alone; a bare host:port means http', async (t) => {
  t.equal(proxyFor(u('https://r.example/'), { HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:1' })?.hostname, 'upper');
  t.equal(proxyFor(u('https://r.example/'), { https_proxy: 'http://lower:1' })?.hostname, 'lower');
  t.equal(proxyFor(u('https://r.example/'), { HTTPS_PROXY: 'proxy.corp:8080' })?.href, 'http://proxy.corp:8080/');
  t.equal(proxyFor(u('https://r.example/'), { HTTPS_PROXY: 'socks5://p:1' }), undefined, 'unsupported proxy schemes are ignored');
  t.equal(proxyFor(u('https://r.example/'), { HTTPS_PROXY: '   ' }), undefined);
});

t.test('NO_PROXY exempts hosts, domains, IPs, CIDRs and ports', async (t) => {
  const env = (no: string) => ({ HTTPS_PROXY: 'http://p:1', NO_PROXY: no });
  const table: [string, string, boolean][] = [
    ['r.example', 'https://r.example/', false],
    ['r.example', 'https://sub.r.example/', false],
    ['.r.example', 'https://sub.r.example/', false],
    ['.r.example', 'https://r.example/', false],
    ['*.r.example', 'https://a.r.example/', false],
    ['r.example', 'https://notr.example/', true],
    ['r.example:5000', 'https://r.example:5000/', false],
    ['r.example:5000', 'https://r.example/', true],
    ['10.0.0.0/8', 'https://10.1.2.3/', false],
    ['10.0.0.0/8', 'https://11.1.2.3/', true],
    ['127.0.0.1', 'https://127.0.0.1:5000/', false],
    ['::1', 'https://[::1]:5000/', false],
    ['fd00::/8', 'https://[fd00::1]/', false],
    ['*', 'https://anything.example/', false],
    ['a.example, b.example  c.example', 'https://c.example/', false],
    ['', 'https://r.example/', true],
    ['R.EXAMPLE', 'https://r.example/', false],
  ];
  for (const [no, url, proxied] of table) t.equal(proxyFor(u(url), env(no)) !== undefined, proxied, `NO_PROXY=${JSON.stringify(no)} ${url}`);
  t.equal(proxyFor(u('https://r.example/'), { HTTPS_PROXY: 'http://p:1', no_proxy: 'r.example' }), undefined, 'lower-case no_proxy works');
});

t.test('a selector reads the environment once, and still exempts each NO_PROXY host on every request', async (t) => {
  const env: Record<string, string | undefined> = { HTTPS_PROXY: 'http://p:1', NO_PROXY: 'exempt.example,r.example:5000' };
  const select = proxySelector(env);
  const table: [string, boolean][] = [
    ['https://exempt.example/v2/', false],
    ['https://other.example/v2/', true],
    ['https://exempt.example/v2/app/manifests/v1', false],
    ['https://sub.exempt.example/token', false],
    ['https://r.example:5000/v2/', false],
    ['https://r.example:5001/v2/', true],
    ['http://other.example/v2/', false],
    ['https://other.example/v2/', true],
  ];
  for (const [url, proxied] of table) t.equal(select(u(url)) !== undefined, proxied, `${url} ${proxied ? 'proxied' : 'direct'}`);
  env.NO_PROXY = '*';
  env.HTTPS_PROXY = 'http://elsewhere:2';
  t.equal(select(u('https://other.example/'))?.host, 'p:1', 'a later change of the environment is not read (as Go reads it once)');
  t.equal(proxySelector(env)(u('https://other.example/')), undefined, 'a new selector reads it');
});

t.test('an endpoint keeps one choice per origin: NO_PROXY hosts go direct, others through the proxy, every time', async (t) => {
  const settings = { host: 'r.example', plainHTTP: false, insecureSkipVerify: false, maxConcurrency: 2 };
  const d = new Dispatchers(settings, { env: { HTTPS_PROXY: 'http://proxy.corp:3128', NO_PROXY: 'r.example,storage.example:8443' }, requestTimeoutMs: 1000 });
  t.teardown(() => d.close());
  const pick = (url: string) => {
    const c = d.for(u(url));
    if (c instanceof Error) throw c;
    return c;
  };
  const registry = pick('https://r.example/v2/');
  t.equal(registry.proxy, undefined, 'the exempt registry is direct');
  const realm = pick('https://auth.example/token?scope=a');
  t.same(realm.proxy, { host: 'proxy.corp', port: 3128 }, 'its token realm goes through the proxy');
  t.not(realm.dispatcher, registry.dispatcher);
  t.equal(pick('https://storage.example:8443/blob').proxy, undefined, 'an exempt host:port is direct');
  t.same(pick('https://storage.example/blob').proxy, { host: 'proxy.corp', port: 3128 }, 'the same host on another port is not exempt');
  for (let i = 0; i < 3; i++) {
    t.equal(pick(`https://r.example/v2/app/manifests/v${i}`).proxy, undefined, `the registry again (${i}) is still direct`);
    t.same(pick(`https://auth.example/token?scope=${i}`).proxy, { host: 'proxy.corp', port: 3128 }, `the realm again (${i}) is still proxied`);
  }
  t.equal(pick('https://r.example/v2/').dispatcher, registry.dispatcher, 'one direct pool for the endpoint');
  t.equal(pick('https://auth.example/x').dispatcher, realm.dispatcher, 'one proxy pool per proxy');
  t.equal(pick('http://auth.example/token').proxy, undefined, 'plain HTTP uses HTTP_PROXY, which is not set');
});
