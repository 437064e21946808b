// Docker config parsing as the kubelet reads it: auth vs username/password, tokens, base64 variants, the legacy
// .dockercfg layout, and every malformed shape, which must be reported without ever quoting a secret.
import t from 'tap';
import { decodeAuthField, parseDockerCfg, parseDockerConfigJson, type CredentialEntry, type DockerConfigParse } from '../../src/credentials/dockerconfig.ts';

const SRC = 'secret demo/regcred';
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const raw64 = (s: string): string => b64(s).replace(/=+$/, '');
const json = (v: unknown): string => JSON.stringify(v);

// Distinctive secret values: no problem string may ever contain one of them.
const SECRETS = ['Sup3rS3cret', 'pa:ss:word', 'hunter2-pw', 'idtok-ABC123', 'regtok-XYZ789', b64('alice:Sup3rS3cret'), 'c2VjcmV0LW5vY29sb24'];

type Case = {
  why: string;
  text: string | Buffer;
  entries: Omit<CredentialEntry, 'source'>[];
  rejects?: boolean;
  /** Each regexp must match some problem. */
  problems?: RegExp[];
  /** Exactly this many problems. */
  problemCount?: number;
};

const jsonCases: Case[] = [
  {
    why: 'auth decodes into username and password',
    text: json({ auths: { 'registry.example.com': { auth: b64('alice:Sup3rS3cret') } } }),
    entries: [{ key: 'registry.example.com', username: 'alice', password: 'Sup3rS3cret' }],
    problemCount: 0,
  },
  {
    why: 'explicit username and password are used when there is no auth',
    text: json({ auths: { 'https://index.docker.io/v1/': { username: 'bob', password: 'hunter2-pw', email: 'bob@example.com' } } }),
    entries: [{ key: 'https://index.docker.io/v1/', username: 'bob', password: 'hunter2-pw' }],
    problemCount: 0,
  },
  {
    why: 'a non-empty auth replaces explicit username and password, as in the kubelet, and the disagreement is reported',
    text: json({ auths: { 'r.io': { username: 'bob', password: 'hunter2-pw', auth: b64('alice:Sup3rS3cret') } } }),
    entries: [{ key: 'r.io', username: 'alice', password: 'Sup3rS3cret' }],
    problems: [/both "auth" and username\/password that disagree/],
  },
  {
    why: 'auth and explicit fields that agree are not a problem',
    text: json({ auths: { 'r.io': { username: 'alice', password: 'Sup3rS3cret', auth: b64('alice:Sup3rS3cret') } } }),
    entries: [{ key: 'r.io', username: 'alice', password: 'Sup3rS3cret' }],
    problemCount: 0,
  },
  {
    why: 'an empty auth falls back to username and password',
    text: json({ auths: { 'r.io': { username: 'bob', password: 'hunter2-pw', auth: '' } } }),
    entries: [{ key: 'r.io', username: 'bob', password: 'hunter2-pw' }],
    problemCount: 0,
  },
  {
    why: 'auth is split at the first colon, so the password may contain colons',
    text: json({ auths: { 'r.io': { auth: b64('carol:pa:ss:word') } } }),
    entries: [{ key: 'r.io', username: 'carol', password: 'pa:ss:word' }],
  },
  {
    why: 'an auth with an empty username keeps only the password',
    text: json({ auths: { 'r.io': { auth: b64(':hunter2-pw') } } }),
    entries: [{ key: 'r.io', password: 'hunter2-pw' }],
  },
  {
    why: 'unpadded base64 is accepted (the kubelet uses RawStdEncoding when there is no trailing =)',
    text: json({ auths: { 'r.io': { auth: raw64('al:Sup3rS3cret') } } }),
    entries: [{ key: 'r.io', username: 'al', password: 'Sup3rS3cret' }],
  },
  {
    why: 'line breaks inside base64 are ignored, as by Go',
    text: json({ auths: { 'r.io': { auth: `${b64('alice:Sup3rS3cret').slice(0, 8)}\r\n${b64('alice:Sup3rS3cret').slice(8)}\n` } } }),
    entries: [{ key: 'r.io', username: 'alice', password: 'Sup3rS3cret' }],
  },
  {
    why: 'Go matches field names case-insensitively: Auths, Auth, Username',
    text: json({ Auths: { 'r.io': { Auth: b64('alice:Sup3rS3cret') }, 'q.io': { USERNAME: 'bob', Password: 'hunter2-pw' } } }),
    entries: [
      { key: 'r.io', username: 'alice', password: 'Sup3rS3cret' },
      { key: 'q.io', username: 'bob', password: 'hunter2-pw' },
    ],
  },
  {
    why: 'identitytoken is kept, and it is reported that the kubelet ignores it',
    text: json({ auths: { 'myreg.azurecr.io': { identitytoken: 'idtok-ABC123' } } }),
    entries: [{ key: 'myreg.azurecr.io', identityToken: 'idtok-ABC123' }],
    problems: [/only a token .* the kubelet ignores/],
  },
  {
    why: 'registrytoken is kept next to basic credentials without complaint',
    text: json({ auths: { 'r.io': { auth: b64('alice:Sup3rS3cret'), registrytoken: 'regtok-XYZ789' } } }),
    entries: [{ key: 'r.io', username: 'alice', password: 'Sup3rS3cret', registryToken: 'regtok-XYZ789' }],
    problemCount: 0,
  },
  {
    why: 'a non-string token is ignored with a problem, but the kubelet does not reject the config for it',
    text: json({ auths: { 'r.io': { auth: b64('alice:Sup3rS3cret'), identitytoken: 42 } } }),
    entries: [{ key: 'r.io', username: 'alice', password: 'Sup3rS3cret' }],
    problems: [/"identitytoken" that is a number/],
  },
  {
    why: 'bad base64 drops that entry, keeps the others, and the kubelet would reject the whole config',
    text: json({ auths: { 'bad.io': { auth: 'not base64!!' }, 'good.io': { auth: b64('alice:Sup3rS3cret') } } }),
    entries: [{ key: 'good.io', username: 'alice', password: 'Sup3rS3cret' }],
    rejects: true,
    problems: [/the entry for "bad.io" has an "auth" field that is not valid base64/],
  },
  {
    why: 'URL-safe base64 is not standard base64',
    text: json({ auths: { 'r.io': { auth: '-_-_' } } }),
    entries: [],
    rejects: true,
    problems: [/not valid base64/],
  },
  {
    why: 'padded base64 of the wrong length is invalid',
    text: json({ auths: { 'r.io': { auth: 'YWJjZA=' } } }),
    entries: [],
    rejects: true,
    problems: [/not valid base64/],
  },
  {
    why: 'unpadded base64 with a dangling character is invalid',
    text: json({ auths: { 'r.io': { auth: 'YWJjZ' } } }),
    entries: [],
    rejects: true,
    problems: [/not valid base64/],
  },
  {
    why: 'auth that decodes without a colon is rejected',
    text: json({ auths: { 'r.io': { auth: 'c2VjcmV0LW5vY29sb24' } } }),
    entries: [],
    rejects: true,
    problems: [/does not decode to "username:password" \(no colon\)/],
  },
  {
    why: 'an empty entry is kept (the kubelet uses it: an anonymous pull) and reported',
    text: json({ auths: { 'r.io': {} } }),
    entries: [{ key: 'r.io' }],
    problems: [/has no credentials/],
  },
  {
    why: 'a null entry is an empty entry, as in Go',
    text: json({ auths: { 'r.io': null } }),
    entries: [{ key: 'r.io' }],
    problems: [/has no credentials/],
  },
  {
    why: 'an entry that is a string is rejected',
    text: json({ auths: { 'r.io': 'alice:Sup3rS3cret', 'ok.io': { username: 'u', password: 'p' } } }),
    entries: [{ key: 'ok.io', username: 'u', password: 'p' }],
    rejects: true,
    problems: [/the entry for "r.io" must be an object with auth or username\/password, not a string/],
  },
  {
    why: 'a username that is not a string is rejected',
    text: json({ auths: { 'r.io': { username: 7, password: 'hunter2-pw' } } }),
    entries: [],
    rejects: true,
    problems: [/"username" that is a number, not a string/],
  },
  {
    why: 'an empty registry key is reported because it never matches',
    text: json({ auths: { '': { username: 'u', password: 'p' } } }),
    entries: [{ key: '', username: 'u', password: 'p' }],
    problems: [/empty registry key/],
  },
  {
    why: 'a missing auths map is a problem but not a kubelet error',
    text: json({ credsStore: 'desktop' }),
    entries: [],
    problems: [/has no "auths" map, so it holds no credentials/, /credential helpers/],
  },
  {
    why: 'credential helpers are reported, because the kubelet never runs them',
    text: json({ auths: { 'r.io': { auth: b64('alice:Sup3rS3cret') } }, credHelpers: { 'gcr.io': 'gcloud' }, credsStore: 'desktop' }),
    entries: [{ key: 'r.io', username: 'alice', password: 'Sup3rS3cret' }],
    problems: [/credential helpers .* the kubelet never runs them/],
    problemCount: 1,
  },
  {
    why: 'legacy .dockercfg content in a config.json is recognised',
    text: json({ 'r.io': { auth: b64('alice:Sup3rS3cret') } }),
    entries: [],
    problems: [/looks like a legacy .dockercfg/],
  },
  {
    why: 'auths null is no credentials, without a kubelet error',
    text: json({ auths: null }),
    entries: [],
    problems: [/no "auths" map/],
  },
  {
    why: 'an empty auths map is reported',
    text: json({ auths: {} }),
    entries: [],
    problems: [/lists no registries/],
  },
  { why: 'auths as an array is rejected', text: json({ auths: [] }), entries: [], rejects: true, problems: [/"auths" must be a map .* not an array/] },
  { why: 'auths as a string is rejected', text: json({ auths: 'x' }), entries: [], rejects: true, problems: [/not a string/] },
  { why: 'a top-level array is rejected', text: '[]', entries: [], rejects: true, problems: [/must be a JSON object .* not an array/] },
  { why: 'a top-level number is rejected', text: '42', entries: [], rejects: true },
  { why: 'JSON null holds nothing but is not an error', text: 'null', entries: [], problems: [/JSON null/] },
  {
    why: 'HttpHeaders of the wrong type makes the kubelet reject the config, but the entries are still listed',
    text: json({ auths: { 'r.io': { username: 'u', password: 'p' } }, HttpHeaders: ['x'] }),
    entries: [{ key: 'r.io', username: 'u', password: 'p' }],
    rejects: true,
    problems: [/"HttpHeaders" must be a map of strings/],
  },
  {
    why: 'HttpHeaders as a string map is fine',
    text: json({ auths: { 'r.io': { username: 'u', password: 'p' } }, HttpHeaders: { 'User-Agent': 'x' } }),
    entries: [{ key: 'r.io', username: 'u', password: 'p' }],
    problemCount: 0,
  },
  {
    why: 'invalid JSON is rejected with its position and without quoting the text',
    text: `{"auths": {"r.io": {"auth": "${b64('alice:Sup3rS3cret')}"}`,
    entries: [],
    rejects: true,
    problems: [/is not valid JSON/],
  },
  {
    why: 'invalid JSON in the middle reports line and column',
    text: `{\n  "auths": {\n    "r.io": {"password": "Sup3rS3cret" "x": 1}\n  }\n}`,
    entries: [],
    rejects: true,
    problems: [/not valid JSON \(line 3, column \d+\)/],
  },
  { why: 'empty text is rejected', text: '', entries: [], rejects: true, problems: [/is empty/] },
  { why: 'whitespace-only text is rejected', text: ' \n\t', entries: [], rejects: true, problems: [/is empty/] },
  { why: 'a byte-order mark makes the JSON invalid, as for Go', text: `\ufeff${json({ auths: {} })}`, entries: [], rejects: true, problems: [/not valid JSON/] },
  {
    why: 'a Buffer is read as UTF-8',
    text: Buffer.from(json({ auths: { 'r.io': { username: 'ünï', password: 'Sup3rS3cret' } } })),
    entries: [{ key: 'r.io', username: 'ünï', password: 'Sup3rS3cret' }],
  },
  {
    why: 'several registries keep document order',
    text: json({ auths: { 'b.io': { username: 'b', password: 'x' }, 'a.io': { username: 'a', password: 'y' }, 'c.io': { username: 'c', password: 'z' } } }),
    entries: [
      { key: 'b.io', username: 'b', password: 'x' },
      { key: 'a.io', username: 'a', password: 'y' },
      { key: 'c.io', username: 'c', password: 'z' },
    ],
  },
];

const cfgCases: Case[] = [
  {
    why: 'the legacy layout has registries at the top level',
    text: json({ 'https://index.docker.io/v1/': { auth: b64('alice:Sup3rS3cret'), email: 'a@example.com' } }),
    entries: [{ key: 'https://index.docker.io/v1/', username: 'alice', password: 'Sup3rS3cret' }],
    problemCount: 0,
  },
  {
    why: 'legacy entries read auth and username/password the same way',
    text: json({ 'a.io': { username: 'bob', password: 'hunter2-pw' }, 'b.io': { auth: b64('carol:pa:ss:word') } }),
    entries: [
      { key: 'a.io', username: 'bob', password: 'hunter2-pw' },
      { key: 'b.io', username: 'carol', password: 'pa:ss:word' },
    ],
  },
  {
    why: 'a config.json put in a .dockercfg becomes a registry named "auths" with no credentials, and says so',
    text: json({ auths: { 'r.io': { auth: b64('alice:Sup3rS3cret') } } }),
    entries: [{ key: 'auths' }],
    problems: [/holds a config.json-style "auths" map/, /has no credentials/],
  },
  {
    why: 'bad base64 in a legacy entry drops it and is a kubelet error',
    text: json({ 'r.io': { auth: '%%%' }, 'q.io': { auth: b64('u:p') } }),
    entries: [{ key: 'q.io', username: 'u', password: 'p' }],
    rejects: true,
  },
  { why: 'a legacy config that is an array is rejected', text: '[1]', entries: [], rejects: true, problems: [/a .dockercfg must be a JSON object/] },
  { why: 'an empty legacy map is reported', text: '{}', entries: [], problems: [/lists no registries/] },
  { why: 'legacy JSON null holds nothing', text: 'null', entries: [], problems: [/JSON null/] },
  { why: 'invalid legacy JSON is rejected', text: '{"r.io": ', entries: [], rejects: true, problems: [/not valid JSON/] },
];

/** The subtest type (the last overload of t.test takes only the callback). */
type Test = Parameters<Parameters<typeof t.test>[0]>[0];

function check(t: Test, got: DockerConfigParse, c: Case): void {
  t.same(got.entries, c.entries.map((e) => ({ ...e, source: SRC })), 'entries');
  t.equal(got.kubeletRejects, c.rejects === true, 'kubeletRejects');
  for (const re of c.problems ?? []) t.ok(got.problems.some((p) => re.test(p)), `a problem matches ${re}: ${JSON.stringify(got.problems)}`);
  if (c.problemCount !== undefined) t.equal(got.problems.length, c.problemCount, `problem count: ${JSON.stringify(got.problems)}`);
  for (const p of got.problems) {
    t.ok(p.startsWith(`${SRC}: `), 'every problem names its source');
    for (const s of SECRETS) t.notOk(p.includes(s), `no secret value in: ${p}`);
  }
  for (const e of got.entries) t.equal(Object.values(e).includes(undefined), false, 'no undefined fields');
}

t.test('config.json (.dockerconfigjson)', async (t) => {
  for (const c of jsonCases) t.test(c.why, async (t) => check(t, parseDockerConfigJson(c.text, SRC), c));
});

t.test('legacy .dockercfg', async (t) => {
  for (const c of cfgCases) t.test(c.why, async (t) => check(t, parseDockerCfg(c.text, SRC), c));
});

t.test('decodeAuthField splits base64 user:pass like the kubelet', async (t) => {
  const cases: [string, ReturnType<typeof decodeAuthField>][] = [
    [b64('u:p'), { ok: true, username: 'u', password: 'p' }],
    [b64('u:'), { ok: true, username: 'u', password: '' }],
    [b64(':'), { ok: true, username: '', password: '' }],
    [b64('u:p:q'), { ok: true, username: 'u', password: 'p:q' }],
    [raw64('user:pw'), { ok: true, username: 'user', password: 'pw' }],
    [`${b64('u:p')}\n`, { ok: true, username: 'u', password: 'p' }],
    [b64('nocolon'), { ok: false, why: 'does not decode to "username:password" (no colon)' }],
    ['====', { ok: false, why: 'is not valid base64' }],
    [`${b64('u:p')} `, { ok: false, why: 'is not valid base64' }],
    ['a b=', { ok: false, why: 'is not valid base64' }],
  ];
  for (const [field, want] of cases) t.same(decodeAuthField(field), want, JSON.stringify(field));
});

t.test('hostile input never throws', async (t) => {
  const inputs: unknown[] = [undefined, null, 42, {}, [], Buffer.alloc(0), Buffer.from([0xff, 0xfe, 0x00]), '{"auths":{"r":{"auth":null,"username":null}}}', '{"__proto__":{"auth":"x"}}', 'x'.repeat(10000)];
  for (const input of inputs) {
    for (const parse of [parseDockerConfigJson, parseDockerCfg]) {
      const got = parse(input as string, SRC);
      t.ok(Array.isArray(got.entries) && Array.isArray(got.problems), `${parse.name}(${String(input).slice(0, 30)}) returns a result`);
    }
  }
  const nulls = parseDockerConfigJson('{"auths":{"r":{"auth":null,"username":null}}}', SRC);
  t.same(nulls.entries, [{ key: 'r', source: SRC }], 'null fields are absent fields, as in Go');
  t.equal(nulls.kubeletRejects, false);
});
