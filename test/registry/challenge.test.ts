// WWW-Authenticate parsing: a corpus of real registries' challenges, RFC 7235 corner cases, and hostile headers.
import t from 'tap';
import { findChallenge, parseChallenges, type Challenge } from '../../src/registry/challenge.ts';

type Case = { why: string; header: string | string[]; want: { scheme: string; params?: Record<string, string>; token68?: string }[] };

const cases: Case[] = [
  {
    why: "Docker Hub's bearer challenge gives realm and service",
    header: 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"',
    want: [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io' } }],
  },
  {
    why: 'a challenge with scope and error (insufficient_scope) keeps the comma inside the quoted scope',
    header: 'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull,push",error="insufficient_scope"',
    want: [{ scheme: 'bearer', params: { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:a/b:pull,push', error: 'insufficient_scope' } }],
  },
  { why: 'a basic challenge gives its realm', header: 'Basic realm="Registry Realm"', want: [{ scheme: 'basic', params: { realm: 'Registry Realm' } }] },
  { why: 'scheme and parameter names are case-insensitive', header: 'BEARER Realm="x", SERVICE="y"', want: [{ scheme: 'bearer', params: { realm: 'x', service: 'y' } }] },
  { why: 'unquoted token values are accepted', header: 'Bearer realm=https://a.example/token,service=svc', want: [{ scheme: 'bearer', params: { realm: 'https://a.example/token', service: 'svc' } }] },
  {
    why: 'backslash escapes in quoted strings are unescaped',
    header: 'Basic realm="a \\"quoted\\" realm, with comma\\\\"',
    want: [{ scheme: 'basic', params: { realm: 'a "quoted" realm, with comma\\' } }],
  },
  {
    why: 'two challenges in one header are both found',
    header: 'Basic realm="r1", Bearer realm="https://t.example/token",service="s"',
    want: [
      { scheme: 'basic', params: { realm: 'r1' } },
      { scheme: 'bearer', params: { realm: 'https://t.example/token', service: 's' } },
    ],
  },
  {
    why: 'challenges in several headers are all found, in order',
    header: ['Bearer realm="https://t.example/token"', 'Basic realm="fallback"'],
    want: [
      { scheme: 'bearer', params: { realm: 'https://t.example/token' } },
      { scheme: 'basic', params: { realm: 'fallback' } },
    ],
  },
  { why: 'whitespace around = and commas is tolerated', header: 'Bearer   realm = "x" ,  service= "y"  ', want: [{ scheme: 'bearer', params: { realm: 'x', service: 'y' } }] },
  { why: 'a token68 challenge keeps its opaque value', header: 'Negotiate YIIB==, Basic realm="r"', want: [{ scheme: 'negotiate', token68: 'YIIB==' }, { scheme: 'basic', params: { realm: 'r' } }] },
  { why: 'a scheme without parameters is a challenge too', header: 'Basic', want: [{ scheme: 'basic', params: {} }] },
  { why: 'empty commas between challenges are skipped', header: ',, Basic realm="a",,, Bearer realm="b" ,', want: [{ scheme: 'basic', params: { realm: 'a' } }, { scheme: 'bearer', params: { realm: 'b' } }] },
  { why: 'the first occurrence of a repeated parameter wins', header: 'Bearer realm="first", realm="second"', want: [{ scheme: 'bearer', params: { realm: 'first' } }] },
  { why: 'an empty quoted value is an empty string', header: 'Bearer realm="",service="s"', want: [{ scheme: 'bearer', params: { realm: '', service: 's' } }] },
];

for (const c of cases) {
  t.test(c.why, async (t) => {
    const got = parseChallenges(c.header);
    t.equal(got.length, c.want.length, 'number of challenges');
    c.want.forEach((w, i) => {
      const g = got[i] as Challenge;
      t.equal(g.scheme, w.scheme);
      if (w.params) t.same({ ...g.params }, w.params);
      if (w.token68) t.equal(g.token68, w.token68);
    });
  });
}

t.test('hostile headers never throw and give bounded output', async (t) => {
  const hostile: (string | string[] | undefined | null)[] = [
    undefined,
    null,
    '',
    '   ',
    '=',
    '====',
    '"unterminated',
    'Bearer realm="unterminated',
    'Bearer realm="x\\',
    'Bearer realm',
    'Bearer realm=',
    '=x, Bearer realm="after garbage"',
    '\u0000\u0001Bearer\u0000realm="x"',
    '🙂 realm="emoji scheme"',
    'Bearer __proto__="polluted", constructor="x", realm="r"',
    'Bearer ' + 'a="b",'.repeat(50_000),
    'Basic realm="x", '.repeat(10_000),
    '"'.repeat(100_000),
    '\\'.repeat(100_000),
    [' ', 'Bearer realm="ok"', ''],
  ];
  for (const h of hostile) {
    const got = parseChallenges(h);
    t.ok(Array.isArray(got), `array for ${JSON.stringify(h)?.slice(0, 40)}`);
    t.ok(got.length <= 16, 'at most 16 challenges');
  }
  const polluted = parseChallenges('Bearer __proto__="polluted", realm="r"')[0];
  t.equal(polluted?.params.realm, 'r');
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched');
  t.equal(findChallenge(parseChallenges('=x, Bearer realm="after garbage"'), 'bearer')?.params.realm, 'after garbage', 'parsing recovers after garbage');
  t.equal(findChallenge(parseChallenges([' ', 'Bearer realm="ok"', '']), 'bearer')?.params.realm, 'ok');
  t.equal(parseChallenges('Bearer realm="unterminated')[0]?.params.realm, 'unterminated', 'an unterminated quote runs to the end');
});

t.test('findChallenge picks the scheme asked for', async (t) => {
  const cs = parseChallenges('Basic realm="b", Bearer realm="t"');
  t.equal(findChallenge(cs, 'bearer')?.params.realm, 't');
  t.equal(findChallenge(cs, 'basic')?.params.realm, 'b');
  t.equal(findChallenge(cs, 'digest'), undefined);
});
