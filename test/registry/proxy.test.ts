// HTTPS_PROXY / HTTP_PROXY / NO_PROXY selection with Go httpproxy semantics, from an injected environment.
import t from 'tap';
import { proxyFor } from '../../src/registry/proxy.ts';

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
