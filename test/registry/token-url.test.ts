// The token request's URL: the realm with service, scope and account set exactly as URLSearchParams.set writes
// them, whether the realm is appended to directly (no query, no fragment) or goes through URLSearchParams.
import t from 'tap';
import { tokenUrl } from '../../src/registry/auth.ts';

function bySearchParams(realm: string, params: [string, string][]): string {
  const url = new URL(realm);
  for (const [k, v] of params) url.searchParams.set(k, v);
  return url.href;
}

t.test('the token URL is byte for byte what URLSearchParams.set writes', async (t) => {
  const realms = [
    'https://auth.docker.io/token',
    'https://auth.example/',
    'https://127.0.0.1:5001/auth/token',
    'https://[::1]:5001/token',
    'https://auth.example/token?',
    'https://auth.example/token?service=old&x=a%20b&x=c',
    'https://auth.example/token#frag',
    'https://auth.example/token?y=1#frag',
    'https://auth.example/p%20ath/to ken',
    'http://AUTH.Example:80/token',
  ];
  const values = [
    'registry.docker.io',
    'repository:library/nginx:pull',
    'repository:team/app:pull,push',
    'a b+c&d=e?f#g/h%i',
    "it's (quoted) ~tilde! *star* -dash- .dot. _under_",
    'ünïcödé 日本 🐳',
    'lone \ud800 surrogate',
    '',
  ];
  for (const realm of realms) {
    for (const v of values) {
      const params: [string, string][] = [['service', v], ['scope', 'repository:x/y:pull'], ['account', v]];
      t.equal(tokenUrl(new URL(realm), params), bySearchParams(realm, params), `${realm} with ${JSON.stringify(v)}`);
    }
    t.equal(tokenUrl(new URL(realm), [['scope', 'repository:a:pull']]), bySearchParams(realm, [['scope', 'repository:a:pull']]), `${realm}, scope alone`);
  }
});

t.test('a realm without a query gets the parameters appended in order', async (t) => {
  t.equal(
    tokenUrl(new URL('https://auth.docker.io/token'), [['service', 'registry.docker.io'], ['scope', 'repository:library/nginx:pull'], ['account', 'a user']]),
    'https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Alibrary%2Fnginx%3Apull&account=a+user',
  );
});
