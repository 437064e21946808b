// The kubelet's keyring semantics, largely from Kubernetes' own keyring_test.go (TestUrlsMatch,
// TestDockerKeyringForGlob, TestKeyringMiss, TestDockerKeyringLookup, TestIssue3797, TestIsDefaultRegistryMatch),
// plus ordering, the union of keyrings, Docker Hub's names, dedupe, credential-provider patterns and hostile keys.
import t from 'tap';
import type { CredentialEntry } from '../../src/credentials/dockerconfig.ts';
import {
  buildKeyring,
  globMatch,
  isDefaultRegistryMatch,
  lookup,
  matchesRegistryGlob,
  normalizeKey,
  urlsMatch,
} from '../../src/credentials/keyring.ts';
import type { PullCredential } from '../../src/registry/resolution.ts';
import { credentialIdentity } from '../../src/registry/auth.ts';

const entry = (key: string, username: string, source = 'secret ns/s', extra: Partial<CredentialEntry> = {}): CredentialEntry => ({
  key,
  source,
  username,
  password: `${username}-pw`,
  ...extra,
});

/** `host/rest` → the parsed-reference shape lookup takes. */
const image = (target: string): { registry: string; repository: string } => {
  const slash = target.indexOf('/');
  return slash < 0 ? { registry: target, repository: '' } : { registry: target.slice(0, slash), repository: target.slice(slash + 1) };
};

const users = (creds: PullCredential[]): string[] => creds.map((c) => c.username ?? '');

t.test('urlsMatch: the kubelet TestUrlsMatch table', async (t) => {
  const cases: [glob: string, target: string, match: boolean][] = [
    // match when there is no path component
    ['*.kubernetes.io', 'prefix.kubernetes.io', true],
    ['prefix.*.io', 'prefix.kubernetes.io', true],
    ['prefix.kubernetes.*', 'prefix.kubernetes.io', true],
    ['*-good.kubernetes.io', 'prefix-good.kubernetes.io', true],
    // match with path components
    ['*.kubernetes.io/blah', 'prefix.kubernetes.io/blah', true],
    ['prefix.*.io/foo', 'prefix.kubernetes.io/foo/bar', true],
    // match with path components and ports
    ['*.kubernetes.io:1111/blah', 'prefix.kubernetes.io:1111/blah', true],
    ['prefix.*.io:1111/foo', 'prefix.kubernetes.io:1111/foo/bar', true],
    // no match when number of parts mismatch
    ['*.kubernetes.io', 'kubernetes.io', false],
    ['*.*.kubernetes.io', 'prefix.kubernetes.io', false],
    ['*.*.kubernetes.io', 'kubernetes.io', false],
    // no match when some parts mismatch
    ['kubernetes.io', 'kubernetes.com', false],
    ['k*.io', 'quay.io', false],
    // no match when ports mismatch
    ['*.kubernetes.io:1234/blah', 'prefix.kubernetes.io:1111/blah', false],
    ['prefix.*.io/foo', 'prefix.kubernetes.io:1111/foo/bar', false],
    // ours: label-count, ports and path prefixes
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'a.b.example.com', false],
    ['*.example.com', 'example.com', false],
    ['registry.io', 'registry.io:5000/x', false],
    ['registry.io:5000', 'registry.io/x', false],
    ['registry.io:5000', 'registry.io:5001/x', false],
    ['registry.io:5000', 'registry.io:5000/x', true],
    ['registry.io/team', 'registry.io/team/app', true],
    ['registry.io/team', 'registry.io/teamx/app', true], // a plain string prefix, exactly as the kubelet
    ['registry.io/team/', 'registry.io/teamx/app', false],
    ['registry.io/team/', 'registry.io/team/app', true],
    ['registry.io/team/app', 'registry.io/team', false],
    ['REGISTRY.io', 'registry.io/x', false], // case-sensitive, as filepath.Match
    ['[::1]:5000', '[::1]:5000/x', true],
    ['[::1]:5000', '[::1]:5001/x', false],
    ['', 'registry.io/x', false],
  ];
  for (const [glob, target, want] of cases) t.equal(urlsMatch(glob, target), want, `${glob} vs ${target}`);
});

t.test('urlsMatch remembers parsed globs and the last target: the same answers in any order, repeated, and past the bound', async (t) => {
  const cases: [glob: string, target: string, match: boolean][] = [
    ['*.kubernetes.io:1111/blah', 'prefix.kubernetes.io:1111/blah', true],
    ['*.kubernetes.io:1234/blah', 'prefix.kubernetes.io:1111/blah', false],
    ['k*.io', 'quay.io', false],
    ['a[.io', 'a.io', false], // Go cannot parse the label glob: matches nothing, also when remembered
    ['[a-', 'a', false], // nor this URL
    ['%zz.io', 'x.io', false], // nor the URL
    ['registry.io/team', 'registry.io/teamx/app', true],
  ];
  const answers = () => cases.map(([glob, target]) => urlsMatch(glob, target));
  const want = cases.map(([, , match]) => match);
  t.same(answers(), want, 'first time');
  t.same(answers(), want, 'again, from the remembered parses');
  // One target against every glob in turn (the last-target shortcut), then interleaved targets.
  t.same(cases.map(([glob]) => urlsMatch(glob, 'prefix.kubernetes.io:1111/blah')), [true, false, false, false, false, false, false]);
  t.same([...cases].reverse().map(([glob, target]) => urlsMatch(glob, target)), [...want].reverse(), 'reversed');
  // Past the bound of remembered globs (cleared when full), answers stay the same.
  let matched = 0;
  for (let i = 0; i < 2_500; i++) if (urlsMatch(`r${i}.example.com`, `r${i}.example.com/x`) && !urlsMatch(`r${i}.example.com`, `q${i}.example.com/x`)) matched++;
  t.equal(matched, 2_500, 'each of 2,500 new globs matches its own host only');
  t.same(answers(), want, 'after more globs than are remembered');
  // A glob longer than those remembered (a secret's key may be anything) is parsed each time, with the same answers.
  const long = `${'a'.repeat(600)}.example.com`;
  t.same([urlsMatch(long, `${'a'.repeat(600)}.example.com/x`), urlsMatch(long, 'b.example.com/x'), urlsMatch(long, `${'a'.repeat(600)}.example.com/y`)], [true, false, true]);
});

t.test('lookup finds credentials: the kubelet TestDockerKeyringForGlob table', async (t) => {
  const cases: [key: string, target: string][] = [
    ['https://hello.kubernetes.io', 'hello.kubernetes.io'],
    ['https://*.docker.io', 'prefix.docker.io'],
    ['https://prefix.*.io', 'prefix.docker.io'],
    ['https://prefix.docker.*', 'prefix.docker.io'],
    ['https://*.docker.io/path', 'prefix.docker.io/path'],
    ['https://prefix.*.io/path', 'prefix.docker.io/path/subpath'],
    ['https://prefix.docker.*/path', 'prefix.docker.io/path'],
    ['https://*.docker.io:8888', 'prefix.docker.io:8888'],
    ['https://prefix.*.io:8888', 'prefix.docker.io:8888'],
    ['https://prefix.docker.*:8888', 'prefix.docker.io:8888'],
    ['https://*.docker.io/path:1111', 'prefix.docker.io/path:1111'],
    ['https://*.docker.io/v1/', 'prefix.docker.io/path:1111'],
    ['https://*.docker.io/v2/', 'prefix.docker.io/path:1111'],
    ['https://prefix.docker.*/path:1111', 'prefix.docker.io/path:1111'],
    ['prefix.docker.io:1111', 'prefix.docker.io:1111/path'],
    ['*.docker.io:1111', 'prefix.docker.io:1111/path'],
  ];
  for (const [key, target] of cases) {
    const got = lookup(buildKeyring([entry(key, 'foo')]), image(`${target}/foo/bar`));
    t.same(users(got), ['foo'], `${key} matches ${target}/foo/bar`);
  }
});

t.test('lookup misses: the kubelet TestKeyringMiss table', async (t) => {
  const cases: [key: string, target: string][] = [
    ['https://hello.kubernetes.io', 'world.mesos.org/foo/bar'],
    ['https://*.docker.com', 'prefix.docker.io'],
    ['https://suffix.*.io', 'prefix.docker.io'],
    ['https://prefix.docker.c*', 'prefix.docker.io'],
    ['https://prefix.*.io/path:1111', 'prefix.docker.io/path/subpath:1111'],
    ['suffix.*.io', 'prefix.docker.io'],
  ];
  for (const [key, target] of cases) t.same(lookup(buildKeyring([entry(key, 'foo')]), image(`${target}/foo/bar`)), [], `${key} misses ${target}`);
});

t.test('Docker Hub credentials', async (t) => {
  const hub = [entry('https://index.docker.io/v1/', 'hubuser')];
  t.same(lookup(buildKeyring(hub), image('world.mesos.org/foo/bar')), [], 'Hub credentials are not used for other registries');
  t.same(users(lookup(buildKeyring(hub), image('docker.io/google/docker-registry'))), ['hubuser'], 'a user repository on Hub');
  t.same(users(lookup(buildKeyring(hub), image('docker.io/library/jenkins'))), ['hubuser'], 'an official image on Hub');
  t.same(lookup(buildKeyring(hub), image('docker.io/library/jenkins'))[0]?.key, 'index.docker.io', 'the credential carries the normalised key');

  const cases: [key: string, target: string, match: boolean, why: string][] = [
    ['index.docker.io', 'docker.io/library/nginx', true, 'index.docker.io without scheme is the Hub key'],
    ['https://index.docker.io/v2/', 'docker.io/library/nginx', true, '/v2/ is dropped like /v1/'],
    ['http://index.docker.io/v1/', 'docker.io/library/nginx', true, 'an http scheme is dropped too'],
    ['docker.io', 'docker.io/library/nginx', true, 'docker.io matches Hub images directly'],
    ['https://docker.io', 'docker.io/team/app', true, 'docker.io with a scheme'],
    ['docker.io/team', 'docker.io/team/app', true, 'a Hub namespace key'],
    ['docker.io/team', 'docker.io/other/app', false, 'a Hub namespace key does not cover other namespaces'],
    ['registry-1.docker.io', 'docker.io/library/nginx', false, 'registry-1.docker.io is not a Hub key for the kubelet'],
    ['index.docker.io/team', 'docker.io/team/app', false, 'index.docker.io with a path never matches a docker.io image'],
    ['https://index.docker.io/v1/', 'quay.io/library/nginx', false, 'Hub credentials do not follow images elsewhere'],
    ['https://index.docker.io/v1/', 'localhost/app', true, 'kubelet quirk: a first component without . or : counts as Hub'],
    ['https://index.docker.io/v1/', 'localhost:5000/app', false, 'a port makes it a registry'],
  ];
  for (const [key, target, match, why] of cases) t.equal(lookup(buildKeyring([entry(key, 'u')]), image(target)).length, match ? 1 : 0, why);
});

t.test('Hub fallback applies per keyring, only when nothing else in it matched', async (t) => {
  const secrets = [entry('docker.io/team', 'team'), entry('https://index.docker.io/v1/', 'hub'), entry('quay.io', 'quay')];
  t.same(users(lookup(buildKeyring(secrets), image('docker.io/team/app'))), ['team'], 'a direct match suppresses the Hub fallback');
  t.same(users(lookup(buildKeyring(secrets), image('docker.io/other/app'))), ['hub'], 'no direct match: Hub credentials');
  const union = buildKeyring([entry('docker.io/team', 'team')], [entry('https://index.docker.io/v1/', 'node-hub')]);
  t.same(users(lookup(union, image('docker.io/team/app'))), ['team', 'node-hub'], 'the fallback is decided in each keyring of the union');
});

t.test('ordering: the kubelet TestDockerKeyringLookup and TestIssue3797', async (t) => {
  const dk = buildKeyring([entry('bar.example.com/pong', 'grace'), entry('bar.example.com', 'ada')]);
  const cases: [target: string, want: string[]][] = [
    ['bar.example.com', ['ada']],
    ['bar.example.com/pong', ['grace', 'ada']],
    ['bar.example.com/ping', ['ada']],
    ['bar.example.com/pongz', ['grace', 'ada']],
    ['bar.example.com/pong/pang', ['grace', 'ada']],
    ['example.com', []],
    ['foo.example.com', []],
  ];
  for (const [target, want] of cases) t.same(users(lookup(dk, image(target))), want, target);

  const rex = buildKeyring([entry('https://quay.io/v1/', 'rex')]);
  for (const target of ['quay.io', 'quay.io/foo', 'quay.io/foo/bar']) t.same(users(lookup(rex, image(target))), ['rex'], `quay.io/v1/ matches ${target}`);
});

t.test('keys are ordered in reverse byte order, regardless of entry or secret order', async (t) => {
  const kr = buildKeyring([
    entry('r.io', 'host', 'secret ns/first'),
    entry('r.io/a', 'a'),
    entry('*.io/a/b', 'glob'),
    entry('r.io/a/b', 'ab', 'secret ns/second'),
  ]);
  t.same(kr.groups[0]?.index, ['r.io/a/b', 'r.io/a', 'r.io', '*.io/a/b']);
  t.same(users(lookup(kr, image('r.io/a/b/c'))), ['ab', 'a', 'host', 'glob'], 'more specific first; a glob key sorts after letters');
  const bytes = buildKeyring([entry('r.io/\uFB01', 'x'), entry('r.io/\u{1F600}', 'y'), entry('r.io/z', 'z')]);
  t.same(bytes.groups[0]?.index, ['r.io/\u{1F600}', 'r.io/\uFB01', 'r.io/z'], 'UTF-8 byte order, as Go sorts, not UTF-16 order');
  const same = buildKeyring([entry('r.io', 'one', 'secret ns/a'), entry('https://r.io/v2/', 'two', 'secret ns/b'), entry('r.io/', 'three', 'secret ns/c')]);
  t.same(users(lookup(same, image('r.io/x'))), ['one', 'two', 'three'], 'entries under one normalised key keep their order');
  t.same(same.groups[0]?.index, ['r.io'], 'one index entry per normalised key');
});

t.test('union: all matches of the first keyring, then of the next', async (t) => {
  const kr = buildKeyring(
    [entry('r.io', 'pod-host', 'secret ns/a'), entry('r.io/team', 'pod-team', 'secret ns/b')],
    [entry('r.io/team/app', 'node-app', 'docker-config /etc/c.json'), entry('*.io', 'node-glob', 'docker-config /etc/c.json')],
  );
  const got = lookup(kr, image('r.io/team/app'));
  t.same(users(got), ['pod-team', 'pod-host', 'node-app', 'node-glob']);
  t.same(got.map((c) => c.source), ['secret ns/b', 'secret ns/a', 'docker-config /etc/c.json', 'docker-config /etc/c.json']);
  t.same(got.map((c) => c.key), ['r.io/team', 'r.io', 'r.io/team/app', '*.io']);
  t.equal(kr.entries.length, 4, 'entries lists everything given');
  t.same(lookup(buildKeyring(), image('r.io/x')), [], 'no groups: anonymous');
  t.same(lookup(buildKeyring([], []), image('r.io/x')), [], 'empty groups: anonymous');
});

t.test('identical credentials are tried once, the first kept', async (t) => {
  const kr = buildKeyring(
    [entry('r.io/team', 'u', 'secret ns/a'), entry('r.io', 'u', 'secret ns/b'), entry('r.io', 'v', 'secret ns/c')],
    [entry('r.io', 'u', 'docker-config /n')],
  );
  const got = lookup(kr, image('r.io/team/app'));
  t.same(got, [
    { source: 'secret ns/a', key: 'r.io/team', username: 'u', password: 'u-pw' },
    { source: 'secret ns/c', key: 'r.io', username: 'v', password: 'v-pw' },
  ]);
  const tokens = buildKeyring([entry('r.io', 'u', 's1', { identityToken: 'one' }), entry('r.io', 'u', 's2', { identityToken: 'two' })]);
  t.equal(lookup(tokens, image('r.io/x'), { keepTokens: true }).length, 2, 'different tokens are different credentials');
  t.equal(lookup(tokens, image('r.io/x')).length, 1, 'without tokens they are the same credential');
});

t.test('tokens are dropped unless asked for, because the kubelet never sends them', async (t) => {
  const kr = buildKeyring([{ key: 'r.io', source: 's', identityToken: 'idt', registryToken: 'rt' }, { key: 'r.io', source: 's2', username: 'u', password: 'p', registryToken: 'rt2' }]);
  t.same(lookup(kr, image('r.io/x')), [{ source: 's', key: 'r.io' }, { source: 's2', key: 'r.io', username: 'u', password: 'p' }]);
  t.same(lookup(kr, image('r.io/x'), { keepTokens: true }), [
    { source: 's', key: 'r.io', identityToken: 'idt', registryToken: 'rt' },
    { source: 's2', key: 'r.io', username: 'u', password: 'p', registryToken: 'rt2' },
  ]);
  const empty = lookup(buildKeyring([{ key: 'r.io', source: 'secret ns/empty' }]), image('r.io/x'));
  t.same(empty, [{ source: 'secret ns/empty', key: 'r.io' }], 'an entry without credentials is still tried (as an anonymous pull)');
});

t.test('normalizeKey follows BasicDockerKeyring.Add', async (t) => {
  const cases: [string, string | undefined][] = [
    ['registry.io', 'registry.io'],
    ['https://registry.io', 'registry.io'],
    ['http://registry.io/', 'registry.io'],
    ['https://index.docker.io/v1/', 'index.docker.io'],
    ['https://index.docker.io/v2/', 'index.docker.io'],
    ['index.docker.io/v1', 'index.docker.io/v1'],
    ['https://quay.io/v1/team', 'quay.io/team'],
    ['registry.io/team/', 'registry.io/team/'],
    ['registry.io:5000', 'registry.io:5000'],
    ['registry.io:5000/x', 'registry.io:5000/x'],
    ['registry.io:', 'registry.io:'],
    ['user@registry.io/x', 'registry.io/x'],
    ['registry.io/team?x=1', 'registry.io/team'],
    ['registry.io/team#frag', 'registry.io/team'],
    ['registry.io/a%20b', 'registry.io/a b'],
    ['*.example.com', '*.example.com'],
    ['[::1]:5000', '[::1]:5000'],
    ['HTTPS://registry.io', 'HTTPS://registry.io'],
    ['', ''],
    ['registry.io:abc', undefined],
    ['registry.io:50:00', 'registry.io:50:00'], // Go only checks the text after the last colon
    ['bad host.io', undefined],
    ['caret^.io', undefined],
    ['pipe|.io', undefined],
    ['registry.io/%zz', undefined],
    ['registry%2e.io', undefined],
    ['[::1', undefined],
    ['[::1]x', undefined],
    ['ctl\u0001.io', undefined],
    ['registry.io/#%zz', undefined],
  ];
  for (const [key, want] of cases) t.equal(normalizeKey(key), want, JSON.stringify(key));
});

t.test('keys the kubelet cannot parse are skipped and reported, without secret values', async (t) => {
  const kr = buildKeyring([entry('registry.io:abc', 'bad'), entry('registry.io', 'good')]);
  t.same(users(lookup(kr, image('registry.io/x'))), ['good']);
  t.equal(kr.problems.length, 1);
  t.match(kr.problems[0], /secret ns\/s: the registry key "registry.io:abc" is not a valid URL; the kubelet ignores this entry/);
  t.notMatch(kr.problems[0], /bad-pw/);
});

t.test('isDefaultRegistryMatch: the kubelet TestIsDefaultRegistryMatch table', async (t) => {
  const cases: [string, boolean][] = [
    ['foo/bar', true],
    ['docker.io/foo/bar', true],
    ['index.docker.io/foo/bar', true],
    ['foo', true],
    ['', false],
    ['registry.tld/foo/bar', false],
    ['registry:5000/foo/bar', false],
    ['myhostdocker.io/foo/bar', false],
    ['/foo', false],
  ];
  for (const [img, want] of cases) t.equal(isDefaultRegistryMatch(img), want, JSON.stringify(img));
});

t.test('globMatch has Go filepath.Match syntax for one label', async (t) => {
  const cases: [pattern: string, name: string, match: boolean][] = [
    ['abc', 'abc', true],
    ['abc', 'abd', false],
    ['*', '', true],
    ['*', 'anything', true],
    ['a*', 'a', true],
    ['a*c', 'abbbc', true],
    ['a*c', 'abbbd', false],
    ['*-docker', 'europe-docker', true],
    ['*-docker', 'docker', false],
    ['a*b*c', 'aXbYbZc', true],
    ['a*b*c', 'aXbYbZ', false],
    ['**', 'x', true],
    ['?', 'x', true],
    ['?', '', false],
    ['?', 'xy', false],
    ['a?c', 'abc', true],
    ['[abc]', 'b', true],
    ['[abc]', 'd', false],
    ['[a-c]x', 'bx', true],
    ['[^a-c]x', 'dx', true],
    ['[^a-c]x', 'bx', false],
    ['[a-cx-z]', 'y', true],
    ['[\\]]', ']', true],
    ['[\\-]', '-', true],
    ['\\*', '*', true],
    ['\\*', 'a', false],
    ['ü*', 'über', true],
    ['?ber', 'über', true],
    ['[z-a]', 'm', false],
    // malformed patterns never match (Go: ErrBadPattern)
    ['[', '[', false],
    ['[]', ']', false],
    ['[]a]', 'a', false],
    ['[^]', 'a', false],
    ['[a-]', 'a', false],
    ['[-a]', 'a', false],
    ['[a', 'a', false],
    ['a\\', 'a\\', false],
    ['x*[', 'xyz', false],
  ];
  for (const [pattern, name, want] of cases) t.equal(globMatch(pattern, name), want, `${pattern} vs ${name}`);
});

t.test('matchesRegistryGlob: kubelet credential provider matchImages patterns', async (t) => {
  const cases: [pattern: string, registry: string, repository: string | undefined, match: boolean][] = [
    ['*.dkr.ecr.*.amazonaws.com', '123456789012.dkr.ecr.us-east-1.amazonaws.com', undefined, true],
    ['*.dkr.ecr.*.amazonaws.com', '123456789012.dkr.ecr.us-east-1.amazonaws.com.cn', undefined, false],
    ['*.dkr.ecr.*.amazonaws.com.cn', '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn', undefined, true],
    ['*.dkr.ecr-fips.*.amazonaws.com', '123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com', undefined, true],
    ['*.azurecr.io', 'myreg.azurecr.io', undefined, true],
    ['*.azurecr.io', 'azurecr.io', undefined, false],
    ['*.azurecr.io', 'a.b.azurecr.io', undefined, false],
    ['*-docker.pkg.dev', 'europe-west1-docker.pkg.dev', undefined, true],
    ['*-docker.pkg.dev', 'docker.pkg.dev', undefined, false],
    ['*.gcr.io', 'eu.gcr.io', undefined, true],
    ['gcr.io', 'gcr.io', undefined, true],
    ['*.gcr.io', 'gcr.io', undefined, false],
    ['registry.io:5000', 'registry.io:5000', undefined, true],
    ['registry.io:5000', 'registry.io', undefined, false],
    ['registry.io/team', 'registry.io', 'team/app', true],
    ['registry.io/team', 'registry.io', 'other/app', false],
    ['registry.io/team', 'registry.io', undefined, false],
    ['registry.io', 'registry.io', 'any/thing', true],
    ['*.azurecr.io', '', undefined, false],
    ['[', 'x', undefined, false],
  ];
  for (const [pattern, registry, repository, want] of cases) t.equal(matchesRegistryGlob(pattern, registry, repository), want, `${pattern} vs ${registry}${repository ? `/${repository}` : ''}`);
});

t.test('hostile input never throws', async (t) => {
  const kr = buildKeyring(
    [entry('r.io', 'u'), null as unknown as CredentialEntry, { key: 7, source: 's' } as unknown as CredentialEntry],
    'not an array' as unknown as CredentialEntry[],
  );
  t.equal(kr.entries.length, 1, 'non-entries are skipped');
  const images: unknown[] = [undefined, null, {}, { registry: '', repository: 'x' }, { registry: 7, repository: 'x' }, { registry: 'r.io' }, { registry: 'r.io', repository: '' }];
  for (const img of images) t.doesNotThrow(() => lookup(kr, img as { registry: string; repository: string }), JSON.stringify(img));
  t.same(users(lookup(kr, { registry: 'r.io', repository: '' })), ['u'], 'a bare registry still matches its host key');
  t.equal(urlsMatch(undefined as unknown as string, 'x'), false);
  t.equal(matchesRegistryGlob('x', undefined as unknown as string), false);
  t.equal(isDefaultRegistryMatch(null as unknown as string), false);
  t.equal(normalizeKey({} as unknown as string), undefined);
  t.equal(globMatch('*'.repeat(1000) + 'b', 'a'.repeat(5000)), false, 'many stars stay fast');
});

t.test('a keyring over the same node credentials is built once: reviews share its index and credential objects', async (t) => {
  const node = [entry('registry.example.com', 'node'), entry('https://index.docker.io/v1/', 'hub', 'node docker config')];
  const first = buildKeyring([entry('registry.example.com', 'pod')], node);
  const second = buildKeyring([entry('registry.example.com', 'pod')], node);
  t.equal(second.groups[1], first.groups[1], 'the node group is the one built for the first review');
  t.not(second.groups[0], first.groups[0], 'each review\'s pod secrets are their own group');
  const a = lookup(first, image('registry.example.com/app'));
  const b = lookup(second, image('registry.example.com/app'));
  t.same(a.map((c) => c.username), ['pod', 'node']);
  t.equal(b[1], a[1], 'the node credential is the same object for both reviews');
  t.ok(Object.isFrozen(a[1]), 'and frozen, so no review can change what another sends');
  t.same(lookup(buildKeyring([], node), image('docker.io/library/nginx')).map((c) => c.username), ['hub'], 'results are unchanged');
});

t.test('a shared credential\'s identity is hashed once and equals that of an equal fresh copy; a mutable one is rehashed', async (t) => {
  const [shared] = lookup(buildKeyring([], [entry('registry.example.com', 'node')]), image('registry.example.com/app'));
  t.equal(credentialIdentity(shared), credentialIdentity({ ...shared! }));
  t.equal(credentialIdentity(shared), credentialIdentity(shared));
  const mutable: PullCredential = { source: 's', key: 'k', username: 'u', password: 'p' };
  const before = credentialIdentity(mutable);
  mutable.password = 'q';
  t.not(credentialIdentity(mutable), before, 'an identity never outlives a change of the secret');
});
