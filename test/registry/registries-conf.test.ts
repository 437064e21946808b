// CRI-O's registries.conf read as containers/image v5 reads it: the registries.conf(5) examples as a table
// (image → the pull sources, in order), longest-prefix and wildcard matching, mirror-by-digest-only and
// pull-from-mirror, blocked registries, drop-ins, and short names in short-name-mode "enforcing".
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findRegistry, isShortName, loadRegistriesConf, mergeRegistriesConf, parseRegistriesConf, readCertsDir, planFromConf, refMatchingPrefix, type RegistriesConf } from '../../src/registry/registries-conf.ts';
import { planEndpoints } from '../../src/registry/endpoints.ts';
import { withDefaults } from '../../src/registry/config.ts';
import { ref } from './registry-fixture.ts';
import { verdictOf } from '../../src/verdict/reasons.ts';
import { makeTempDir } from '../harness/lifecycle.ts';

function conf(text: string): RegistriesConf {
  const p = parseRegistriesConf(text, 'registries.conf');
  if (!p.ok) throw new Error(p.error);
  return p.conf;
}
const sources = (c: RegistriesConf, image: string, written?: string) => planFromConf(c, ref(image), written, 'registries.conf')?.hosts.map((h) => `${h.host}/${h.repository}${h.httpFallback ? ' (insecure)' : ''}`);

const manPage = `
[[registry]]
prefix = "example.com/foo"
insecure = false
blocked = false
location = "internal-registry-for-example.com/bar"

[[registry.mirror]]
location = "example-mirror-0.local/mirror-for-foo"

[[registry.mirror]]
location = "example-mirror-1.local/mirrors/foo"
insecure = true
`;

const table: Record<string, [string, string, string[] | undefined]> = {
  'registries.conf(5) example: both mirrors in order, then the rewritten location': [manPage, 'example.com/foo/image:latest', ['example-mirror-0.local/mirror-for-foo/image', 'example-mirror-1.local/mirrors/foo/image (insecure)', 'internal-registry-for-example.com/bar/image']],
  'a prefix matches only at a path boundary: example.com/foobar is not under example.com/foo': [manPage, 'example.com/foobar/image:latest', undefined],
  'the longest prefix wins': [`${manPage}\n[[registry]]\nprefix = "example.com/foo/special"\nlocation = "special.example.net/s"\n`, 'example.com/foo/special/app:v1', ['special.example.net/s/app']],
  'a wildcard prefix matches subdomains, not the domain itself': ['[[registry]]\nprefix = "*.example.org"\n[[registry.mirror]]\nlocation = "mirror.local/org"\n', 'a.b.example.org/team/app:v1', ['mirror.local/org/team/app', 'a.b.example.org/team/app']],
  'a wildcard prefix does not match the bare domain': ['[[registry]]\nprefix = "*.example.org"\n[[registry.mirror]]\nlocation = "mirror.local/org"\n', 'example.org/team/app:v1', undefined],
  'mirror-by-digest-only: a tag goes to the location only': ['[[registry]]\nlocation = "quay.io"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "mirror.local/quay"\n', 'quay.io/team/app:v1', ['quay.io/team/app']],
  'mirror-by-digest-only: a digest tries the mirror first': ['[[registry]]\nlocation = "quay.io"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "mirror.local/quay"\n', `quay.io/team/app@sha256:${'c'.repeat(64)}`, ['mirror.local/quay/team/app', 'quay.io/team/app']],
  'pull-from-mirror per mirror: tag-only and digest-only': ['[[registry]]\nlocation = "quay.io"\n[[registry.mirror]]\nlocation = "tags.local"\npull-from-mirror = "tag-only"\n[[registry.mirror]]\nlocation = "digests.local"\npull-from-mirror = "digest-only"\n', 'quay.io/team/app:v1', ['tags.local/team/app', 'quay.io/team/app']],
  'docker.io: the location is registry-1.docker.io with library/': ['[[registry]]\nlocation = "docker.io"\n[[registry.mirror]]\nlocation = "mirror.gcr.io"\n', 'nginx:1.27', ['mirror.gcr.io/library/nginx', 'registry-1.docker.io/library/nginx']],
};

for (const [name, [text, image, want]] of Object.entries(table)) {
  t.test(name, async (t) => {
    t.same(sources(conf(text), image), want);
  });
}

t.test('prefix matching as refMatchingPrefix: boundaries, wildcards', async (t) => {
  t.equal(refMatchingPrefix('example.com/foo/bar:v1', 'example.com/foo'), 'example.com/foo'.length);
  t.equal(refMatchingPrefix('example.com/foobar', 'example.com/foo'), -1);
  t.equal(refMatchingPrefix('example.com', 'example.com'), 'example.com'.length);
  t.equal(refMatchingPrefix('x.example.com/a', '*.example.com'), 'x.example.com'.length);
  t.equal(refMatchingPrefix('x.example.com.evil.net/a', '*.example.com'), -1);
  t.equal(refMatchingPrefix('other.net/x.example.com/a', '*.example.com'), -1);
  t.equal(findRegistry(conf(manPage), 'example.com/foo/a:v1')?.registry.location, 'internal-registry-for-example.com/bar');
});

t.test('blocked: the node refuses the pull (RegistryBlocked, deny) without asking anyone', async (t) => {
  const c = conf('[[registry]]\nlocation = "evil.example.com"\nblocked = true\n');
  const plan = planFromConf(c, ref('evil.example.com/x/y:1'), 'evil.example.com/x/y:1', 'registries.conf');
  t.equal(plan?.refused?.reason, 'RegistryBlocked');
  t.match(plan?.refused?.detail, /block pulls from evil\.example\.com/);
  t.equal(planFromConf(c, ref('good.example.com/x/y:1'), undefined, 'registries.conf'), undefined, 'another registry is untouched');
});

t.test('short names: CRI-O\'s crio.conf decides enforcement, registries.conf\'s short-name-mode does not', async (t) => {
  const two = 'short-name-mode = "enforcing"\nunqualified-search-registries = ["registry.fedoraproject.org", "docker.io"]\n[aliases]\n"fedora" = "registry.fedoraproject.org/fedora"\n';
  const c = conf(two);
  const plan = planFromConf(c, ref('nginx:1.27'), 'nginx:1.27', 'registries.conf');
  // Behaviour change: the candidates are checked (in "disabled" order) and the plan carries the ambiguity, instead
  // of a refusal without requests: "found nowhere" fails in every CRI-O mode, so it may deny.
  t.equal(plan?.refused, undefined, 'two search registries, no alias: not refused outright');
  t.same(plan?.hosts.map((h) => `${h.host}/${h.repository}`), ['registry.fedoraproject.org/nginx', 'registry-1.docker.io/library/nginx'], 'every candidate, in order');
  t.match(plan?.ambiguous, /CRI-O 1\.34\+ refuses it \("short name mode is enforcing, but image name nginx:1\.27 returns ambiguous list"\) unless crio\.conf \[crio\.image\] short_name_mode = "disabled"/);
  t.match(plan?.ambiguous, /"nginx" = "docker\.io\/library\/nginx"/, 'the detail gives the alias to add: the name as containerd and Docker normalise it');
  const disabledInFile = planFromConf(conf('short-name-mode = "disabled"\nunqualified-search-registries = ["registry.local", "docker.io"]\n'), ref('nginx'), 'nginx', 'x');
  t.ok(disabledInFile?.ambiguous, 'short-name-mode "disabled" in registries.conf changes nothing: CRI-O overrides it');
  t.equal(verdictOf('AmbiguousShortName'), 'unknown', 'not a deny: crio.conf short_name_mode may be "disabled"');
  t.same(sources(c, 'fedora:40', 'fedora:40'), ['registry.fedoraproject.org/fedora'], 'an alias resolves it, tag kept');
  t.equal(planFromConf(c, ref('fedora:40'), 'fedora:40', 'registries.conf')?.ambiguous, undefined, 'an alias is never ambiguous');
  t.equal(planFromConf(c, ref('docker.io/library/nginx:1.27'), 'docker.io/library/nginx:1.27', 'registries.conf'), undefined, 'a fully-qualified name is never a short name');
  const one = planFromConf(conf('unqualified-search-registries = ["quay.io"]\n'), ref('team/app:v1'), 'team/app:v1', 'x');
  t.same(one?.hosts.map((h) => `${h.host}/${h.repository}`), ['quay.io/team/app'], 'one search registry is not ambiguous: it is used');
  t.equal(one?.ambiguous, undefined);
  const none = planFromConf(conf('short-name-mode = "permissive"\n'), ref('nginx'), 'nginx', 'x');
  t.equal(none?.refused?.reason, 'AmbiguousShortName', 'no search registries and no alias, whatever the file\'s mode');
  t.match(none?.refused?.detail, /CRI-O refuses it in every short-name mode/);
  t.ok(isShortName('team/app') && isShortName('nginx@sha256:' + 'a'.repeat(64)) && !isShortName('localhost/app') && !isShortName('host:5000/app'));
});

t.test('aliases as containers/image validates them: normalised, "" resets an earlier one', async (t) => {
  t.same(conf('[aliases]\n"alpine" = "docker.io/alpine"\n').aliases, { alpine: 'docker.io/library/alpine' });
  const bad: Record<string, RegExp> = {
    '"alpine" = "alpine"': /must contain registry and repository/,
    '"alpine" = "docker.io/library/alpine:3"': /must not contain tag/,
    [`"alpine" = "docker.io/library/alpine@sha256:${'a'.repeat(64)}"`]: /must not contain digest/,
    '"quay.io/x" = "quay.io/x"': /invalid short name/,
    '"x:1" = "quay.io/x"': /invalid short name/,
  };
  for (const [line, why] of Object.entries(bad)) {
    const p = parseRegistriesConf(`[aliases]\n${line}\n`, 'f');
    t.equal(p.ok, false, line);
    if (!p.ok) t.match(p.error, why, line);
  }
  const merged = mergeRegistriesConf(conf('unqualified-search-registries = ["quay.io"]\n[aliases]\n"app" = "ghcr.io/team/app"\n'), conf('[aliases]\n"app" = ""\n'));
  t.same(planFromConf(merged, ref('app:v1'), 'app:v1', 'x')?.hosts.map((h) => h.host), ['quay.io'], 'the reset alias falls back to the search registries');
});

t.test('registry tables as postProcessRegistries leaves them', async (t) => {
  const dup = conf('[[registry]]\nlocation = "quay.io"\n[[registry.mirror]]\nlocation = "first.local"\n[[registry]]\nlocation = "quay.io"\n[[registry.mirror]]\nlocation = "second.local"\n');
  t.same(dup.registries.map((r) => r.mirrors.map((m) => m.location)), [['first.local']], 'the first of two tables with one prefix counts');
  // findRegistryWithParsedConfig compares len(Prefix): the exact host (15) beats *.example.com (13) for it.
  const wild = conf('[[registry]]\nprefix = "*.example.com"\nlocation = ""\n[[registry.mirror]]\nlocation = "wild.local"\n[[registry]]\nlocation = "foo.example.com"\n[[registry.mirror]]\nlocation = "exact.local"\n');
  t.same(sources(wild, 'foo.example.com/a:1'), ['exact.local/a', 'foo.example.com/a']);
  t.same(sources(wild, 'bar.example.com/a:1'), ['wild.local/a', 'bar.example.com/a']);
  const v1 = conf('[registries.search]\nregistries = ["quay.io", "docker.io"]\n[registries.insecure]\nregistries = ["old.local:5000"]\n[registries.block]\nregistries = ["evil.example.com"]\n');
  t.same(v1.searchRegistries, ['quay.io', 'docker.io'], 'the v1 format is converted (ConvertToV2)');
  t.same(v1.registries.map((r) => [r.prefix, r.insecure, r.blocked]), [['evil.example.com', false, true], ['old.local:5000', true, false]]);
  t.same(sources(conf('[[registry]]\nprefix = "foo.*.com"\nlocation = "x.com"\n'), 'foo.*.com/a:1'.replace('*', 'x')), undefined, 'a "*" inside a prefix is literal: it matches nothing real');
});

const invalid: Record<string, [string, RegExp]> = {
  'a location with a scheme': ['[[registry]]\nlocation = "https://quay.io"\n', /URI schemes are not supported/],
  'neither location nor prefix': ['[[registry]]\ninsecure = true\n', /both location and prefix are unset/],
  'a wildcard prefix with a namespace': ['[[registry]]\nprefix = "*.example.com/team"\nlocation = "x.com"\n', /must be in the format \*\.example\.com/],
  'a location-less prefix that is no wildcard': ['[[registry]]\nprefix = "example.com"\n', /location is unset and prefix is not in the format/],
  'pull-from-mirror on the registry itself': ['[[registry]]\nlocation = "q.io"\npull-from-mirror = "digest-only"\n', /must not be set for a non-mirror registry/],
  'a mirror without a location': ['[[registry]]\nlocation = "q.io"\n[[registry.mirror]]\nlocation = ""\n', /mirror location is unset/],
  'one registry, two prefixes, conflicting insecure': ['[[registry]]\nprefix = "q.io/a"\nlocation = "q.io"\n[[registry]]\nprefix = "q.io/b"\nlocation = "q.io"\ninsecure = true\n', /defined multiple times with conflicting 'insecure'/],
  'v1 and v2 mixed': ['unqualified-search-registries = ["docker.io"]\n[registries.search]\nregistries = ["docker.io"]\n', /mixing sysregistry v1\/v2/],
  'pull-from-mirror with mirror-by-digest-only': ['[[registry]]\nlocation = "q.io"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "m"\npull-from-mirror = "tag-only"\n', /at the same time/],
  'an unknown short-name-mode': ['short-name-mode = "strict"\n', /invalid short-name-mode/],
  'not TOML': ['[[registry]\n', /invalid TOML/],
};
t.test('files containers/image refuses are refused with the reason', async (t) => {
  for (const [name, [text, why]] of Object.entries(invalid)) {
    const p = parseRegistriesConf(text, 'f');
    t.equal(p.ok, false, name);
    if (!p.ok) t.match(p.error, why, name);
  }
});

t.test('registries.conf.d drop-ins: read in name order, same prefix replaced, search list and mode replaced, aliases merged', async (t) => {
  const dir = makeTempDir('containers');
  const file = join(dir, 'registries.conf');
  writeFileSync(file, 'unqualified-search-registries = ["docker.io"]\n[[registry]]\nlocation = "quay.io"\n[[registry.mirror]]\nlocation = "old-mirror.local"\n[aliases]\n"a" = "quay.io/a"\n');
  mkdirSync(join(dir, 'registries.conf.d'));
  writeFileSync(join(dir, 'registries.conf.d', '20-mode.conf'), 'short-name-mode = "enforcing"\nunqualified-search-registries = ["docker.io", "quay.io"]\n');
  writeFileSync(join(dir, 'registries.conf.d', '10-quay.conf'), '[[registry]]\nlocation = "quay.io"\n[[registry.mirror]]\nlocation = "new-mirror.local"\n[aliases]\n"b" = "quay.io/b"\n');
  writeFileSync(join(dir, 'registries.conf.d', 'ignored.txt'), 'not = toml = at all');
  const loaded = loadRegistriesConf(file);
  if (!loaded.ok) return t.fail(loaded.errors.join('; '));
  const { conf: merged, files } = loaded.value;
  t.same(files.map((f) => f.slice(dir.length + 1)), ['registries.conf', 'registries.conf.d/10-quay.conf', 'registries.conf.d/20-mode.conf']);
  t.same(merged.registries.map((r) => r.mirrors.map((m) => m.location)), [['new-mirror.local']], 'the drop-in replaced quay.io');
  t.same(merged.searchRegistries, ['docker.io', 'quay.io']);
  t.equal(merged.shortNameMode, 'enforcing');
  t.same(merged.aliases, { a: 'quay.io/a', b: 'quay.io/b' });
  t.ok(loaded.value.registries.plan(ref('nginx'), 'nginx')?.ambiguous, 'two search registries after the drop-in: ambiguous');
  writeFileSync(join(dir, 'registries.conf.d', '30-v1.conf'), '[registries.search]\nregistries = ["docker.io"]\n');
  const v1 = loadRegistriesConf(file);
  t.equal(v1.ok, false, 'a drop-in in the v1 format is refused');
  if (!v1.ok) t.match(v1.errors[0], /must be in v2 format/);
  const bad = join(dir, 'missing.conf');
  const r = loadRegistriesConf(bad);
  t.equal(r.ok, false);
  if (!r.ok) t.match(r.errors[0], /cannot read it \(ENOENT\)/);
});

t.test('endpoints: mirrors never get the credentials; an auth failure there is not certain (CRI-O would send them)', async (t) => {
  const c = conf('[[registry]]\nlocation = "quay.io"\n[[registry.mirror]]\nlocation = "mirror.local/quay"\n');
  const config = withDefaults({ node: { plan: (r, w) => planFromConf(c, r, w, 'registries.conf') } });
  const plan = planEndpoints(ref('quay.io/team/app:v1'), config);
  t.same(plan.endpoints.map((e) => [e.host, e.repository, e.credentials, Boolean(e.withheldCredentials), e.query]), [
    ['mirror.local', 'quay/team/app', false, true, undefined],
    ['quay.io', undefined, true, false, undefined],
  ]);
});

t.test('certs.d as containers/image reads it: *.crt CAs, *.cert with its *.key, a lone half reported', async (t) => {
  const dir = makeTempDir('certs');
  mkdirSync(join(dir, 'registry.example.com:5000'));
  mkdirSync(join(dir, 'docker.io'));
  mkdirSync(join(dir, 'half.example.com'));
  for (const f of ['ca.crt', 'extra.crt', 'client.cert', 'client.key']) writeFileSync(join(dir, 'registry.example.com:5000', f), '');
  writeFileSync(join(dir, 'docker.io', 'hub.crt'), '');
  writeFileSync(join(dir, 'half.example.com', 'lonely.cert'), '');
  writeFileSync(join(dir, 'half.example.com', 'other.key'), '');
  const read = readCertsDir(dir);
  if ('error' in read) return t.fail(read.error);
  const host = read.certs.get('registry.example.com:5000');
  t.same(host?.caFiles.map((f) => f.slice(dir.length + 1)), ['registry.example.com:5000/ca.crt', 'registry.example.com:5000/extra.crt']);
  t.same(host?.clientPairs.map(([c, k]) => [c.slice(dir.length + 1), k.slice(dir.length + 1)]), [['registry.example.com:5000/client.cert', 'registry.example.com:5000/client.key']]);
  t.equal(read.certs.has('half.example.com'), false, 'half a pair is no pair');
  t.match(read.warnings.join('\n'), /lonely\.cert: missing key lonely\.key/);
  t.match(read.warnings.join('\n'), /other\.key: missing client certificate other\.cert/);
  // Docker Hub's directory is docker.io, as containers/image names it (newDockerClient's hostName).
  const conf = parseRegistriesConf('[[registry]]\nlocation = "docker.io"\n[[registry.mirror]]\nlocation = "registry.example.com:5000/hub"\n', 'x');
  if (!conf.ok) return t.fail(conf.error);
  const plan = planFromConf(conf.conf, ref('docker.io/library/nginx:1'), 'docker.io/library/nginx:1', 'x', read.certs);
  t.same(plan?.hosts.map((h) => [h.host, (h.caFiles ?? []).length, (h.clientPairs ?? []).length]), [['registry.example.com:5000', 2, 1], ['registry-1.docker.io', 1, 0]]);
  t.match(readCertsDir(join(dir, 'absent')), { error: /ENOENT/ });
});
