// CRI-O's registries.conf read as containers/image v5 reads it: the registries.conf(5) examples as a table
// (image → the pull sources, in order), longest-prefix and wildcard matching, mirror-by-digest-only and
// pull-from-mirror, blocked registries, drop-ins, and short names in short-name-mode "enforcing".
import t from 'tap';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRegistry, isShortName, loadRegistriesConf, parseRegistriesConf, planFromConf, refMatchingPrefix, type RegistriesConf } from '../../src/registry/registries-conf.ts';
import { planEndpoints } from '../../src/registry/endpoints.ts';
import { withDefaults } from '../../src/registry/config.ts';
import { ref } from './registry-fixture.ts';
import { verdictOf } from '../../src/verdict/reasons.ts';

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

t.test('short names in short-name-mode "enforcing"', async (t) => {
  const enforcing = 'short-name-mode = "enforcing"\nunqualified-search-registries = ["registry.fedoraproject.org", "docker.io"]\n[aliases]\n"fedora" = "registry.fedoraproject.org/fedora"\n';
  const c = conf(enforcing);
  const plan = planFromConf(c, ref('nginx:1.27'), 'nginx:1.27', 'registries.conf');
  t.equal(plan?.refused?.reason, 'AmbiguousShortName', 'two search registries, no alias: flagged');
  t.equal(verdictOf('AmbiguousShortName'), 'unknown', 'not a deny: CRI-O may not enforce short names (crio.conf short_name_mode)');
  t.match(plan?.refused?.detail, /the nodes may refuse this short name if CRI-O enforces short names \(crio\.conf short_name_mode\)/);
  t.match(plan?.refused?.detail, /"nginx" = "docker\.io\/library\/nginx"/, 'the detail gives the alias to add: the name as containerd and Docker normalise it');
  t.same(sources(c, 'fedora:40', 'fedora:40'), ['registry.fedoraproject.org/fedora'], 'an alias resolves it, tag kept');
  t.equal(planFromConf(c, ref('docker.io/library/nginx:1.27'), 'docker.io/library/nginx:1.27', 'registries.conf'), undefined, 'a fully-qualified name is never a short name');
  t.same(sources(conf('short-name-mode = "enforcing"\nunqualified-search-registries = ["quay.io"]\n'), 'team/app:v1', 'team/app:v1'), ['quay.io/team/app'], 'one search registry is not ambiguous: it is used');
  t.equal(planFromConf(conf('short-name-mode = "enforcing"\n'), ref('nginx'), 'nginx', 'x')?.refused?.reason, 'AmbiguousShortName', 'no search registries and no alias');
  t.same(sources(conf('short-name-mode = "permissive"\nunqualified-search-registries = ["registry.local", "docker.io"]\n'), 'nginx', 'nginx'), ['registry.local/nginx', 'registry-1.docker.io/library/nginx'], 'permissive tries each candidate in order');
  t.ok(isShortName('team/app') && isShortName('nginx@sha256:' + 'a'.repeat(64)) && !isShortName('localhost/app') && !isShortName('host:5000/app'));
});

const invalid: Record<string, [string, RegExp]> = {
  'a location with a scheme': ['[[registry]]\nlocation = "https://quay.io"\n', /URI schemes are not supported/],
  'neither location nor prefix': ['[[registry]]\ninsecure = true\n', /both location and prefix are unset/],
  'a wildcard in the middle': ['[[registry]]\nprefix = "foo.*.com"\nlocation = "x.com"\n', /wildcard may only begin/],
  'pull-from-mirror with mirror-by-digest-only': ['[[registry]]\nlocation = "q.io"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "m"\npull-from-mirror = "tag-only"\n', /at the same time/],
  'an unknown short-name-mode': ['short-name-mode = "strict"\n', /invalid short-name-mode/],
  'the v1 format': ['[registries.search]\nregistries = ["docker.io"]\n', /v1 format/],
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
  const dir = mkdtempSync(join(tmpdir(), 'pullguard-containers-'));
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
  t.equal(loaded.value.registries.plan(ref('nginx'), 'nginx')?.refused?.reason, 'AmbiguousShortName');
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
