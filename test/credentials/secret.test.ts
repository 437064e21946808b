// Image pull secrets as the kubelet takes them: which types and keys count, what it ignores, what makes every pull
// fail, and messages that name the secret and what was expected without showing its content.
import t from 'tap';
import type { DockerSecret } from '../../src/cluster/types.ts';
import { credentialsFromSecret, credentialsFromSecrets, secretSource } from '../../src/credentials/secret.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const configJson = (auths: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify({ auths }));
const PASSWORD = 'Tr0ub4dor-3';
const GOOD = configJson({ 'registry.example.com': { auth: b64(`alice:${PASSWORD}`) } });

const secret = (type: string, data: Record<string, Buffer>, name = 'regcred'): DockerSecret => ({ namespace: 'demo', name, type, data });

type Case = {
  why: string;
  secret: DockerSecret;
  ok: boolean;
  problem?: 'WrongType' | 'MissingKey' | 'Malformed';
  kubelet?: 'ignores' | 'failsPulls';
  message?: RegExp[];
  users?: string[];
};

const cases: Case[] = [
  {
    why: 'a kubernetes.io/dockerconfigjson secret yields its entries',
    secret: secret('kubernetes.io/dockerconfigjson', { '.dockerconfigjson': GOOD }),
    ok: true,
    users: ['alice'],
  },
  {
    why: 'a kubernetes.io/dockercfg secret yields its legacy entries',
    secret: secret('kubernetes.io/dockercfg', { '.dockercfg': Buffer.from(JSON.stringify({ 'https://index.docker.io/v1/': { username: 'bob', password: PASSWORD } })) }),
    ok: true,
    users: ['bob'],
  },
  {
    why: 'an Opaque secret is ignored by the kubelet, with a hint when it holds a .dockerconfigjson',
    secret: secret('Opaque', { '.dockerconfigjson': GOOD }),
    ok: false,
    problem: 'WrongType',
    kubelet: 'ignores',
    message: [/^secret demo\/regcred has type Opaque/, /kubernetes.io\/dockerconfigjson secret with key .dockerconfigjson/, /kubernetes.io\/dockercfg secret with key .dockercfg/, /recreate it with type kubernetes.io\/dockerconfigjson/],
  },
  {
    why: 'an Opaque secret holding a .dockercfg gets the dockercfg hint',
    secret: secret('Opaque', { '.dockercfg': GOOD }),
    ok: false,
    problem: 'WrongType',
    message: [/recreate it with type kubernetes.io\/dockercfg\./],
  },
  {
    why: 'a TLS secret is the wrong type',
    secret: secret('kubernetes.io/tls', { 'tls.crt': Buffer.from('x'), 'tls.key': Buffer.from('y') }),
    ok: false,
    problem: 'WrongType',
    message: [/has type kubernetes.io\/tls, but the kubelet only uses/],
  },
  {
    why: 'a secret without a type says so',
    secret: secret('', { '.dockerconfigjson': GOOD }),
    ok: false,
    problem: 'WrongType',
    message: [/has no type/],
  },
  {
    why: 'a dockerconfigjson secret holding only .dockercfg is missing its key, and lists what it has',
    secret: secret('kubernetes.io/dockerconfigjson', { '.dockercfg': GOOD }),
    ok: false,
    problem: 'MissingKey',
    kubelet: 'ignores',
    message: [/secret demo\/regcred \(type kubernetes.io\/dockerconfigjson\) has no .dockerconfigjson key \(its keys: ".dockercfg"\)/],
  },
  {
    why: 'a dockercfg secret without .dockercfg is missing its key',
    secret: secret('kubernetes.io/dockercfg', {}),
    ok: false,
    problem: 'MissingKey',
    message: [/has no .dockercfg key; the kubelet expects/],
  },
  {
    why: 'an empty key counts as missing, as in the kubelet',
    secret: secret('kubernetes.io/dockerconfigjson', { '.dockerconfigjson': Buffer.alloc(0) }),
    ok: false,
    problem: 'MissingKey',
    kubelet: 'ignores',
    message: [/has an empty .dockerconfigjson key/],
  },
  {
    why: 'invalid JSON is malformed and fails every pull of the pod',
    secret: secret('kubernetes.io/dockerconfigjson', { '.dockerconfigjson': Buffer.from(`{"auths": {"r.io": {"password": "${PASSWORD}"`) }),
    ok: false,
    problem: 'Malformed',
    kubelet: 'failsPulls',
    message: [/^secret demo\/regcred \(type kubernetes.io\/dockerconfigjson\) is malformed: the docker config is not valid JSON/, /fails every image pull of a pod that lists it/],
  },
  {
    why: 'bad base64 in one entry makes the whole secret malformed for the kubelet',
    secret: secret('kubernetes.io/dockerconfigjson', { '.dockerconfigjson': configJson({ 'a.io': { auth: 'bad!' }, 'b.io': { auth: b64(`u:${PASSWORD}`) } }) }),
    ok: false,
    problem: 'Malformed',
    kubelet: 'failsPulls',
    message: [/is malformed: the entry for "a.io" has an "auth" field that is not valid base64\./],
  },
  {
    why: 'an auth without a colon is malformed',
    secret: secret('kubernetes.io/dockercfg', { '.dockercfg': Buffer.from(JSON.stringify({ 'a.io': { auth: b64(PASSWORD) } })) }),
    ok: false,
    problem: 'Malformed',
    message: [/no colon/],
  },
  {
    why: 'a config without auths is usable but empty, with the problem noted',
    secret: secret('kubernetes.io/dockerconfigjson', { '.dockerconfigjson': Buffer.from('{"credsStore":"osxkeychain"}') }),
    ok: true,
    users: [],
  },
  {
    why: 'data given as a string (not a Buffer) is read too',
    secret: { namespace: 'demo', name: 'regcred', type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': GOOD.toString() as unknown as Buffer } },
    ok: true,
    users: ['alice'],
  },
];

t.test('credentialsFromSecret', async (t) => {
  for (const c of cases) {
    t.test(c.why, async (t) => {
      const got = credentialsFromSecret(c.secret);
      t.equal(got.ok, c.ok, 'ok');
      t.equal(got.source, 'secret demo/regcred', 'source');
      if (got.ok) {
        if (c.users) t.same(got.entries.map((e) => e.username), c.users, 'entries');
        for (const e of got.entries) t.equal(e.source, 'secret demo/regcred');
      } else {
        t.equal(got.problem, c.problem, 'problem');
        if (c.kubelet) t.equal(got.kubelet, c.kubelet, 'what the kubelet does');
        for (const re of c.message ?? []) t.match(got.message, re);
        t.ok(got.problems.length > 0, 'problems are listed');
      }
      const text = JSON.stringify(got.ok ? got.problems : [got.message, ...got.problems]);
      t.notOk(text.includes(PASSWORD), 'no secret value in any message');
      t.notOk(text.includes(b64(`alice:${PASSWORD}`)), 'no encoded secret in any message');
    });
  }
});

t.test('credentialsFromSecrets combines a pod\'s secrets in order', async (t) => {
  const got = credentialsFromSecrets([
    secret('kubernetes.io/dockerconfigjson', { '.dockerconfigjson': configJson({ 'a.io': { username: 'first', password: 'x' } }) }, 'one'),
    secret('Opaque', {}, 'two'),
    secret('kubernetes.io/dockercfg', { '.dockercfg': Buffer.from(JSON.stringify({ 'b.io': { username: 'second', password: 'y' } })) }, 'three'),
  ]);
  t.same(got.entries.map((e) => [e.username, e.source]), [['first', 'secret demo/one'], ['second', 'secret demo/three']]);
  t.same(got.results.map((r) => r.ok), [true, false, true]);
  t.equal(got.kubeletFailsPulls, false, 'a wrong-type secret is only ignored');
  const bad = credentialsFromSecrets([secret('kubernetes.io/dockerconfigjson', { '.dockerconfigjson': Buffer.from('{') })]);
  t.equal(bad.kubeletFailsPulls, true, 'a malformed secret fails the pull');
  t.same(credentialsFromSecrets([]).entries, []);
});

t.test('secretSource', async (t) => {
  t.equal(secretSource('ns', 'name'), 'secret ns/name');
});

t.test('hostile secrets never throw', async (t) => {
  const hostile: unknown[] = [
    null,
    undefined,
    {},
    { namespace: 1, name: null, type: 'kubernetes.io/dockerconfigjson', data: null },
    { namespace: 'a', name: 'b', type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': 42 } },
    { namespace: 'a', name: 'b', type: 'kubernetes.io/dockercfg', data: 'nope' },
  ];
  for (const s of hostile) {
    const got = credentialsFromSecret(s as DockerSecret);
    t.equal(got.ok, false, JSON.stringify(s) ?? 'undefined');
  }
  t.same(credentialsFromSecrets('x' as unknown as DockerSecret[]).entries, []);
});
