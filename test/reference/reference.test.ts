// Reference parsing against the distribution/containerd grammar: a table of named cases, hostile inputs, and a
// differential check of generated inputs against a transcription of the upstream regexes and normalisation.
import t from 'tap';
import {
  DOCKER_HUB_CONFIG_KEY,
  isDockerHub,
  manifestReference,
  parseReference,
  registryEndpoint,
} from '../../src/reference/reference.ts';
import type { ParseResult, Reference, ReferenceErrorCode } from '../../src/reference/reference.ts';

const HEX64 = '0123456789abcdef'.repeat(4);
const HEX128 = '0123456789abcdef'.repeat(8);
const SHA256 = `sha256:${HEX64}`;
const SHA512 = `sha512:${HEX128}`;

type Valid = { why: string; input: string; want: Partial<Reference> };
type Invalid = { why: string; input: string; code: ReferenceErrorCode; mentions?: string };

const valid: Valid[] = [
  {
    why: 'a single name is an official image on Docker Hub with the latest tag',
    input: 'nginx',
    want: { registry: 'docker.io', repository: 'library/nginx', tag: 'latest', name: 'docker.io/library/nginx', canonical: 'docker.io/library/nginx:latest', tagDefaulted: true },
  },
  { why: 'a written tag is kept and is not a default', input: 'nginx:1.25', want: { repository: 'library/nginx', tag: '1.25', canonical: 'docker.io/library/nginx:1.25', tagDefaulted: false } },
  { why: 'library/ written out is the same official image', input: 'library/nginx', want: { registry: 'docker.io', repository: 'library/nginx' } },
  { why: 'docker.io with a single component gets library/', input: 'docker.io/nginx', want: { registry: 'docker.io', repository: 'library/nginx' } },
  { why: 'index.docker.io is normalised to docker.io', input: 'index.docker.io/library/nginx', want: { registry: 'docker.io', name: 'docker.io/library/nginx' } },
  { why: 'index.docker.io with a single component also gets library/', input: 'index.docker.io/nginx', want: { registry: 'docker.io', repository: 'library/nginx' } },
  { why: 'a fully written Docker Hub reference is unchanged', input: 'docker.io/library/nginx:latest', want: { canonical: 'docker.io/library/nginx:latest', tagDefaulted: false } },
  { why: 'a two-component name without a host is a Docker Hub user repository', input: 'team/app', want: { registry: 'docker.io', repository: 'team/app' } },
  { why: 'nested Docker Hub paths keep every component', input: 'library/foo/bar', want: { registry: 'docker.io', repository: 'library/foo/bar' } },
  { why: 'a first component with a dot is a registry host', input: 'quay.io/team/app:v1', want: { registry: 'quay.io', repository: 'team/app', tag: 'v1' } },
  { why: 'localhost is a registry host even without a port', input: 'localhost/foo', want: { registry: 'localhost', repository: 'foo', name: 'localhost/foo' } },
  { why: 'a host with a port and a tag splits at the last colon after the last slash', input: 'localhost:5000/foo:bar', want: { registry: 'localhost:5000', repository: 'foo', tag: 'bar' } },
  { why: 'a first component with a port is a host whatever its case', input: 'LocalHost:5000/x', want: { registry: 'LocalHost:5000', repository: 'x' } },
  { why: 'an uppercase first component is a host, since no repository may contain uppercase', input: 'LocalHost/x', want: { registry: 'LocalHost', repository: 'x' } },
  { why: 'uppercase in a registry host is allowed and kept as written', input: 'Example.com/foo', want: { registry: 'Example.com', repository: 'foo' } },
  { why: 'Foo/bar names the host Foo, as distribution/reference v0.6 and containerd split it', input: 'Foo/bar', want: { registry: 'Foo', repository: 'bar', name: 'Foo/bar' } },
  { why: 'a capitalised Docker Hub domain is a different host and gets no library/', input: 'Docker.io/foo', want: { registry: 'Docker.io', repository: 'foo' } },
  { why: 'an IPv4 host with a port is a registry', input: '127.0.0.1:5000/a', want: { registry: '127.0.0.1:5000', repository: 'a' } },
  { why: 'a bracketed IPv6 host with a port is a registry', input: '[::1]:5000/a/b:c', want: { registry: '[::1]:5000', repository: 'a/b', tag: 'c', canonical: '[::1]:5000/a/b:c' } },
  { why: 'a bracketed IPv6 host without a port is a registry', input: '[2001:db8::1]/foo', want: { registry: '[2001:db8::1]', repository: 'foo' } },
  { why: 'uppercase hex in an IPv6 host is allowed', input: '[FE80::1]:443/x', want: { registry: '[FE80::1]:443' } },
  { why: 'registry:5000 alone is the official image registry with tag 5000, not a host', input: 'registry:5000', want: { registry: 'docker.io', repository: 'library/registry', tag: '5000', tagDefaulted: false } },
  { why: 'localhost alone is an official image name, not a host', input: 'localhost', want: { registry: 'docker.io', repository: 'library/localhost' } },
  { why: 'a punycode host with a port is a registry', input: 'xn--n3h.com:18080/foo', want: { registry: 'xn--n3h.com:18080', repository: 'foo' } },
  { why: 'a host with dashed labels is a registry', input: 'my-registry.example.com/a/b', want: { registry: 'my-registry.example.com', repository: 'a/b' } },
  { why: 'a first component with an underscore and no dot is a Docker Hub namespace', input: 'test_com/foo', want: { registry: 'docker.io', repository: 'test_com/foo' } },
  {
    why: 'a dotted first component that is no valid host still matches as a path, and the runtime contacts it as the host',
    input: 'a_b.example/x',
    want: { registry: 'a_b.example', repository: 'x', name: 'a_b.example/x' },
  },
  {
    why: 'a digest alone pins the content and leaves the tag unset',
    input: `nginx@${SHA256}`,
    want: { repository: 'library/nginx', tag: undefined, digest: SHA256, canonical: `docker.io/library/nginx@${SHA256}`, tagDefaulted: false },
  },
  {
    why: 'a tag and a digest are both kept',
    input: `nginx:tag@${SHA256}`,
    want: { tag: 'tag', digest: SHA256, canonical: `docker.io/library/nginx:tag@${SHA256}`, tagDefaulted: false },
  },
  { why: 'sha512 digests are accepted', input: `x/y@${SHA512}`, want: { registry: 'docker.io', repository: 'x/y', digest: SHA512, canonical: `docker.io/x/y@${SHA512}` } },
  { why: 'a single dash separates path parts', input: 'a/b-c', want: { repository: 'a/b-c' } },
  { why: 'any number of dashes separate path parts', input: 'a/b---c', want: { repository: 'a/b---c' } },
  { why: 'a double underscore separates path parts', input: 'a/b__c', want: { repository: 'a/b__c' } },
  { why: 'a single underscore separates path parts', input: 'a/b_c', want: { repository: 'a/b_c' } },
  { why: 'mixed single separators are allowed in one component', input: 'a/b.c-d_e', want: { repository: 'a/b.c-d_e' } },
  { why: 'components may be all digits', input: '0/1', want: { repository: '0/1' } },
  { why: 'a single character is a valid official image name', input: 'a', want: { repository: 'library/a' } },
  { why: 'a tag may start with an underscore and contain uppercase, dots and dashes', input: 'a:_Latest-1.0', want: { tag: '_Latest-1.0' } },
  { why: 'a tag of 128 characters is the longest allowed', input: `a:${'t'.repeat(128)}`, want: { tag: 't'.repeat(128) } },
  { why: 'a 64-hex repository name is allowed when a host makes it unambiguous', input: `docker.io/${HEX64}`, want: { repository: `library/${HEX64}` } },
  { why: 'a 64-hex name with a tag is not a bare image ID', input: `${HEX64}:v1`, want: { repository: `library/${HEX64}`, tag: 'v1' } },
  { why: 'a repository path of exactly 255 characters is allowed; the registry does not count (distribution/reference v0.6)', input: `example.com/${'n'.repeat(255)}`, want: { registry: 'example.com', repository: 'n'.repeat(255) } },
  { why: 'the library/ that normalisation adds counts towards the path length, docker.io/ does not', input: 'n'.repeat(247), want: { registry: 'docker.io', repository: `library/${'n'.repeat(247)}` } },
  { why: 'a port is any run of digits, as in the grammar', input: 'example.com:0/x', want: { registry: 'example.com:0' } },
];

const invalid: Invalid[] = [
  { why: 'an empty string is refused as empty', input: '', code: 'Empty' },
  { why: 'input longer than 4096 characters is refused up front', input: 'a'.repeat(4097), code: 'TooLong', mentions: '4097' },
  { why: 'trailing spaces are refused', input: 'nginx ', code: 'Whitespace', mentions: 'trailing' },
  { why: 'leading spaces are refused', input: ' nginx', code: 'Whitespace', mentions: 'leading' },
  { why: 'a space inside is refused with its position', input: 'ngi nx', code: 'Whitespace', mentions: 'position 4' },
  { why: 'several trailing spaces are refused as trailing', input: 'nginx:1  ', code: 'Whitespace', mentions: 'trailing' },
  { why: 'a trailing newline, as from a heredoc, is refused', input: 'nginx\n', code: 'Whitespace', mentions: 'trailing' },
  { why: 'a newline alone is refused', input: '\n', code: 'Whitespace', mentions: 'newline' },
  { why: 'a tab between name and tag is refused', input: 'nginx\tlatest', code: 'Whitespace', mentions: 'tab' },
  { why: 'a NUL byte is refused', input: 'ng\u0000inx', code: 'Whitespace', mentions: 'U+0000 (an invisible control character)' },
  { why: 'a zero-width space is refused though invisible', input: 'nginx\u200b', code: 'Whitespace', mentions: 'U+200B' },
  { why: 'a non-breaking space is refused', input: '\u00a0nginx', code: 'Whitespace', mentions: 'U+00A0' },
  { why: 'non-ASCII letters are refused', input: 'ñginx', code: 'InvalidFormat', mentions: 'ñ' },
  { why: 'emoji are refused', input: 'app/🐳', code: 'InvalidFormat', mentions: 'U+1F433' },
  { why: 'an uppercase official image name is refused as uppercase', input: 'NGINX', code: 'UppercaseRepository', mentions: 'must be lowercase' },
  { why: 'an uppercase repository component is refused as uppercase', input: 'foo/Bar', code: 'UppercaseRepository', mentions: '"foo/Bar"' },
  { why: 'an uppercase repository under a host is refused as uppercase', input: 'Example.com/Foo', code: 'UppercaseRepository', mentions: '"Foo"' },
  { why: 'uppercase is refused on Docker Hub paths too', input: 'docker.io/library/Nginx', code: 'UppercaseRepository', mentions: 'did you mean "library/nginx"' },
  { why: 'an uppercase tag does not excuse an uppercase repository', input: 'localhost:5000/Foo:TAG', code: 'UppercaseRepository' },
  { why: 'an empty tag after ":" is refused', input: 'nginx:', code: 'InvalidTag', mentions: 'empty' },
  { why: 'a tag may not start with "-"', input: 'nginx:-x', code: 'InvalidTag', mentions: '"-"' },
  { why: 'a tag may not start with "."', input: 'nginx:.x', code: 'InvalidTag' },
  { why: 'a tag of 129 characters is too long', input: `a:${'t'.repeat(129)}`, code: 'InvalidTag', mentions: '129' },
  { why: 'a tag may not contain a second ":"', input: 'nginx:a:b', code: 'InvalidTag', mentions: '":"' },
  { why: 'a tag may not contain "+"', input: 'nginx:1.0+build', code: 'InvalidTag', mentions: '"+"' },
  { why: 'an empty digest after "@" is refused', input: 'nginx@', code: 'InvalidDigest', mentions: 'empty' },
  { why: 'a digest with non-hex text is malformed', input: 'nginx@sha256:short', code: 'InvalidDigest', mentions: '"sha256:short"' },
  { why: 'a sha256 digest one hex digit short is malformed', input: `nginx@sha256:${HEX64.slice(1)}`, code: 'InvalidDigest', mentions: '63' },
  { why: 'a sha256 digest with uppercase hex is malformed', input: `nginx@sha256:${HEX64.toUpperCase()}`, code: 'InvalidDigest', mentions: 'lowercase' },
  { why: 'a sha512 digest with 64 hex digits has the wrong length', input: `nginx@sha512:${HEX64}`, code: 'InvalidDigest', mentions: '128' },
  { why: 'a digest without an algorithm is malformed', input: `nginx@${HEX64}`, code: 'InvalidDigest', mentions: 'algorithm' },
  { why: 'a digest algorithm must start with a letter', input: `nginx@1sha:${HEX64}`, code: 'InvalidDigest', mentions: '"1sha"' },
  { why: 'an unknown algorithm with too little hex is malformed before it is unsupported', input: 'nginx@foo:abc', code: 'InvalidDigest', mentions: 'too short' },
  { why: 'sha384 is well formed but not supported', input: `nginx@sha384:${'ab'.repeat(48)}`, code: 'UnsupportedDigestAlgorithm', mentions: '"sha384"' },
  { why: 'md5 is well formed but not supported', input: `nginx@md5:${'ab'.repeat(16)}`, code: 'UnsupportedDigestAlgorithm' },
  { why: 'an uppercase algorithm is unsupported, with a hint', input: `nginx@SHA256:${HEX64}`, code: 'UnsupportedDigestAlgorithm', mentions: 'lowercase' },
  { why: 'a second "@" makes the digest malformed', input: `nginx@${SHA256}@x`, code: 'InvalidDigest', mentions: '"@"' },
  { why: 'an IPv6 zone identifier is refused', input: '[fe80::1%eth0]:5000/x', code: 'InvalidHost', mentions: '%eth0' },
  { why: 'an unclosed IPv6 bracket is refused', input: '[::1:5000/x', code: 'InvalidHost', mentions: '"]"' },
  { why: 'an IPv6 address without brackets is refused with a hint', input: '::1/foo', code: 'InvalidHost', mentions: '[::1]' },
  { why: 'non-hex text inside IPv6 brackets is refused', input: '[zz::1]/x', code: 'InvalidHost', mentions: '"z"' },
  { why: 'text after the IPv6 bracket other than a port is refused', input: '[::1]x/y', code: 'InvalidHost', mentions: '"x"' },
  { why: 'a host with an empty label is refused', input: 'a..b/c', code: 'InvalidHost', mentions: '"a..b"' },
  { why: 'a host label may not start with "-"', input: '-a.com/b', code: 'InvalidHost', mentions: '"-a"' },
  { why: 'a host ending in ":" has no port', input: 'host:/x', code: 'InvalidHost', mentions: 'no port' },
  { why: 'a non-numeric port is refused', input: 'host:http/x', code: 'InvalidHost', mentions: '"http"' },
  { why: 'an underscore in a host with a port cannot be read as a path either', input: 'a_b.com:5000/x', code: 'InvalidHost', mentions: '"_"' },
  { why: 'a URL scheme is refused with the fix', input: 'http://registry/x', code: 'InvalidFormat', mentions: 'remove "http://"' },
  { why: 'an https URL is refused too', input: 'https://quay.io/a/b:1', code: 'InvalidFormat', mentions: 'scheme' },
  { why: 'an empty path component is refused', input: 'a/b//c', code: 'InvalidFormat', mentions: '"//"' },
  { why: 'a component may not start with "-"', input: '-a/b', code: 'InvalidFormat', mentions: '"-a"' },
  { why: 'a component may not end with "-"', input: 'a/b-', code: 'InvalidFormat', mentions: '"b-"' },
  { why: 'three underscores are not a separator', input: 'a/b___c', code: 'InvalidFormat', mentions: '"___"' },
  { why: 'two dots are not a separator', input: 'a/b..c', code: 'InvalidFormat', mentions: '".."' },
  { why: 'a dot and an underscore together are not a separator', input: 'a/b._c', code: 'InvalidFormat', mentions: '"._"' },
  { why: 'characters outside the path alphabet are refused', input: 'a/b+c', code: 'InvalidFormat', mentions: '"+"' },
  { why: 'a trailing slash is refused', input: 'foo/', code: 'InvalidFormat', mentions: 'ends with "/"' },
  { why: 'a leading slash is refused', input: '/foo', code: 'InvalidFormat', mentions: 'starts with "/"' },
  { why: 'a registry with nothing after it is refused', input: 'localhost:5000/', code: 'InvalidFormat', mentions: '"localhost:5000"' },
  { why: 'a tag with no name before it is refused', input: ':latest', code: 'InvalidFormat', mentions: 'no image name' },
  { why: 'a digest with no name before it is refused', input: `@${SHA256}`, code: 'InvalidFormat', mentions: 'no image name' },
  { why: 'a bare 64-hex image ID is not a repository name', input: HEX64, code: 'InvalidFormat', mentions: 'image ID' },
  { why: 'a repository path of 256 characters is too long', input: `example.com/${'n'.repeat(256)}`, code: 'NameTooLong', mentions: '256' },
  { why: 'the library/ that normalisation adds counts towards the path length', input: 'n'.repeat(248), code: 'NameTooLong', mentions: '256' },
];

function check(result: ParseResult): Reference {
  if (!result.ok) throw new Error(`expected a reference, got ${result.error.code}: ${result.error.message}`);
  return result.reference;
}

for (const c of valid) {
  t.test(`${c.why}: ${JSON.stringify(c.input.length > 60 ? c.input.slice(0, 60) + '…' : c.input)}`, async (t) => {
    const result = parseReference(c.input);
    t.ok(result.ok, result.ok ? 'parses' : `${result.error.code}: ${result.error.message}`);
    if (!result.ok) return;
    const ref = result.reference;
    for (const [key, value] of Object.entries(c.want)) t.equal(ref[key as keyof Reference], value, key);
    t.equal(ref.name, `${ref.registry}/${ref.repository}`, 'name is registry/repository');
    t.same(check(parseReference(ref.canonical)), { ...ref, tagDefaulted: false }, 'the canonical form parses back to the same reference, now with the tag written');
  });
}

for (const c of invalid) {
  t.test(`${c.why}: ${JSON.stringify(c.input.length > 60 ? c.input.slice(0, 60) + '…' : c.input)}`, async (t) => {
    const result = parseReference(c.input);
    t.notOk(result.ok, 'is refused');
    if (result.ok) return;
    t.equal(result.error.code, c.code, result.error.message);
    t.equal(result.error.input, c.input, 'the error carries the input');
    if (c.mentions !== undefined) t.match(result.error.message, c.mentions, 'the message names the offending part');
    t.ok(result.error.message.length <= 320, 'the message stays short');
  });
}

t.test('hostile inputs are refused with the right code and a short message', async (t) => {
  const hostile: [string, string, ReferenceErrorCode][] = [
    ['a repeated 100k times', 'a'.repeat(100_000), 'TooLong'],
    ['dashes repeated 10k times', '-'.repeat(10_000), 'TooLong'],
    ['colons repeated 5k times', ':'.repeat(5_000), 'TooLong'],
    ['a 4096-character name', 'a'.repeat(4096), 'NameTooLong'],
    ['4096 dashes', '-'.repeat(4096), 'InvalidFormat'],
    ['4096 colons', ':'.repeat(4096), 'InvalidFormat'],
    ['4096 at-signs', '@'.repeat(4096), 'InvalidFormat'],
    ['4096 opening brackets', '['.repeat(4096), 'InvalidFormat'],
    ['alternating a- ending in a dash', 'a-'.repeat(2048), 'InvalidFormat'],
    ['alternating a. of 4095 characters', 'a.'.repeat(2047) + 'a', 'NameTooLong'],
    ['4096 slashes', '/'.repeat(4096), 'InvalidFormat'],
    ['a/ repeated to 4096', 'a/'.repeat(2048), 'InvalidFormat'],
    ['dashes between many alphanumerics then a bang', 'a' + '-a'.repeat(1500) + '!', 'InvalidFormat'],
    ['uppercase repeated', 'A'.repeat(4096), 'UppercaseRepository'],
    ['NUL bytes', '\u0000'.repeat(4096), 'Whitespace'],
    ['a huge tag', 'a:' + 'b'.repeat(4000), 'InvalidTag'],
    ['a huge digest', 'a@sha256:' + 'f'.repeat(4000), 'InvalidDigest'],
    ['a huge unknown algorithm', 'a@' + 'x'.repeat(4000) + ':' + 'f'.repeat(64), 'UnsupportedDigestAlgorithm'],
    ['a huge IPv6 host', '[' + ':'.repeat(4000) + ']/a', 'NameTooLong'],
    ['a huge host label', 'h'.repeat(4000) + '.com/a', 'NameTooLong'],
    ['a huge port', 'h:' + '9'.repeat(4000) + '/a', 'NameTooLong'],
  ];
  for (const [what, input, code] of hostile) {
    const result = parseReference(input);
    t.equal(result.ok ? 'ok' : result.error.code, code, what);
    if (!result.ok) t.ok(result.error.message.length <= 320, `${what}: the message quotes a shortened part`);
  }
});

t.test('input that is not a string at run time is refused, not thrown', async (t) => {
  for (const value of [undefined, null, 42, {}]) {
    const result = parseReference(value as unknown as string);
    t.equal(result.ok ? 'ok' : result.error.code, 'InvalidFormat', String(value));
  }
});

t.test('isDockerHub knows the names of Docker Hub and nothing else', async (t) => {
  for (const name of ['docker.io', 'index.docker.io', 'registry-1.docker.io']) t.ok(isDockerHub(name), name);
  for (const name of ['quay.io', 'docker.io:443', 'Docker.io', 'mirror.docker.io.example.com', 'localhost:5000', '']) t.notOk(isDockerHub(name), name);
  t.ok(isDockerHub(check(parseReference('nginx')).registry), 'a parsed official image is on Docker Hub');
});

t.test('registryEndpoint sends docker.io to registry-1.docker.io and leaves other hosts alone', async (t) => {
  t.equal(registryEndpoint('docker.io'), 'registry-1.docker.io');
  t.equal(registryEndpoint('quay.io'), 'quay.io');
  t.equal(registryEndpoint('localhost:5000'), 'localhost:5000');
  t.equal(registryEndpoint('[::1]:5000'), '[::1]:5000');
  t.equal(registryEndpoint('registry-1.docker.io'), 'registry-1.docker.io');
  t.equal(DOCKER_HUB_CONFIG_KEY, 'https://index.docker.io/v1/');
});

t.test('manifestReference asks for the digest when there is one, else the tag', async (t) => {
  t.equal(manifestReference(check(parseReference('nginx'))), 'latest', 'defaulted tag');
  t.equal(manifestReference(check(parseReference('nginx:1.25'))), '1.25', 'written tag');
  t.equal(manifestReference(check(parseReference(`nginx@${SHA256}`))), SHA256, 'digest only');
  t.equal(manifestReference(check(parseReference(`nginx:1.25@${SHA256}`))), SHA256, 'the digest wins over the tag');
});

// A transcription of distribution/reference (regexp.go, normalize.go ParseNormalizedNamed, reference.go Parse)
// with go-digest validation, run on short inputs only, where backtracking does not matter. Deliberate choices
// shared with the parser: the name length limit covers registry/repository (containerd), and only sha256 and
// sha512 digests are accepted.
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainAndPort = `(?:${domainNameComponent}(?:\\.${domainNameComponent})*|\\[(?:[a-fA-F0-9:]+)\\])(?::[0-9]+)?`;
const pathComponent = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}';
const referenceRe = new RegExp(`^(${namePat})(?::([\\w][\\w.-]{0,127}))?(?:@(${digestPat}))?$`);
const anchoredNameRe = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);

function upstream(s: string): { registry: string; repository: string; tag?: string; digest?: string } | null {
  if (/^[a-f0-9]{64}$/.test(s)) return null;
  let domain = 'docker.io';
  let remainder = s;
  const slash = s.indexOf('/');
  if (slash < 0) {
    remainder = 'library/' + s;
  } else {
    const first = s.slice(0, slash);
    if (first === 'localhost' || first === 'index.docker.io' || /[.:]/.test(first) || first.toLowerCase() !== first) {
      domain = first === 'index.docker.io' ? 'docker.io' : first;
      remainder = s.slice(slash + 1);
    }
    if (domain === 'docker.io' && !remainder.includes('/')) remainder = 'library/' + remainder;
  }
  const colon = remainder.indexOf(':');
  const remote = colon < 0 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() !== remote) return null;
  const m = referenceRe.exec(`${domain}/${remainder}`);
  if (m === null) return null;
  const [, name = '', tag, digest] = m;
  if (digest !== undefined) {
    const [algorithm = '', hex = ''] = digest.split(':');
    const length = algorithm === 'sha256' ? 64 : algorithm === 'sha512' ? 128 : -1;
    if (hex.length !== length || !/^[a-f0-9]+$/.test(hex)) return null;
  }
  const n = anchoredNameRe.exec(name);
  let [, registry = '', repository = ''] = n ?? [];
  // distribution/reference v0.6 Parse: the limit is on the path (the whole name when no domain splits off).
  if ((registry === '' ? name : repository).length > 255) return null;
  if (registry === '') {
    // No domain matched: the runtime resolves the first component as the host.
    registry = repository.slice(0, repository.indexOf('/'));
    repository = repository.slice(repository.indexOf('/') + 1);
  }
  return { registry, repository, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

t.test('generated inputs parse exactly as the upstream grammar does', async (t) => {
  const next = random(20240601);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const tokens = [
    'a', 'b', 'z', '0', '9', 'A', 'Q', '.', '..', '_', '__', '___', '-', '--', '/', '//', ':', '@', '[', ']', '%', '+',
    'localhost', 'docker.io', 'index.docker.io', 'library', 'example.com', 'ex_ample.com', '::1', '5000',
    SHA256, SHA512, `sha384:${'ab'.repeat(48)}`, `sha256:${HEX64.toUpperCase()}`, `sha256:${HEX64.slice(2)}`, HEX64,
  ];
  const hosts = ['', 'localhost/', 'localhost:5000/', 'docker.io/', 'index.docker.io/', 'Example.com/', 'Foo/', '[::1]:5000/', '[fe80::1%eth0]/', '127.0.0.1/', 'a_b.com/', 'a-.com/', 'host:/'];
  const paths = ['nginx', 'library/nginx', 'team/app', 'a/b/c', 'a.b', 'a__b', 'a___b', 'a--b', '-a', 'a-', 'Nginx', 'a//b', 'x_y/z'];
  const tags = ['', ':latest', ':1.0', ':_x', ':-x', ':', ':a:b', `:${'t'.repeat(128)}`, `:${'t'.repeat(129)}`];
  const digests = ['', `@${SHA256}`, `@${SHA512}`, '@', `@sha384:${'ab'.repeat(48)}`, '@sha256:abc', `@SHA256:${HEX64}`];

  let agreed = 0;
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    let input: string;
    if (i % 2 === 0) {
      input = '';
      const count = 1 + Math.floor(next() * 8);
      for (let j = 0; j < count; j++) input += pick(tokens);
    } else {
      input = pick(hosts) + pick(paths) + pick(tags) + pick(digests);
    }
    const want = upstream(input);
    const got = parseReference(input);
    const gotShape = got.ok
      ? { registry: got.reference.registry, repository: got.reference.repository, ...(got.reference.tagDefaulted || got.reference.tag === undefined ? {} : { tag: got.reference.tag }), ...(got.reference.digest === undefined ? {} : { digest: got.reference.digest }) }
      : null;
    if (JSON.stringify(gotShape) !== JSON.stringify(want)) {
      t.fail(`disagrees with upstream on ${JSON.stringify(input)}`, { got: got.ok ? gotShape : got.error, want });
      continue;
    }
    agreed++;
    if (want !== null) accepted++;
  }
  t.equal(agreed, 20_000, 'every generated input agrees');
  t.ok(accepted > 1000, `a good share of generated inputs are valid (${accepted})`);
});
