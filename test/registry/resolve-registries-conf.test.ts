// A CRI-O registries.conf against real registries (issue #14): a mirror with a location rewrite and the upstream
// (htpasswd), each behind a logging front. Mirrors first, then the location; mirrors never get the pod's secret
// (and, since CRI-O would send it, a mirror's 401 that ends the search is unknown); blocked registries and
// ambiguous short names are refused without a request; a single search registry resolves a short name.
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, DEFAULT_USERS, type TestRegistry } from '../harness/registry.ts';
import { pushImage } from '../harness/push.ts';
import { startRelay, type Front, type FrontRequest } from '../harness/registry-fronts.ts';
import { createRegistryClient, type RegistryClient } from '../../src/registry/client.ts';
import { loadRegistriesConf } from '../../src/registry/registries-conf.ts';
import { parseReference } from '../../src/reference/reference.ts';
import { cred, ref } from './registry-fixture.ts';
import { verdictOf } from '../../src/verdict/reasons.ts';
import { makeTempDir } from '../harness/lifecycle.ts';

let upstream: TestRegistry;
let mirror: TestRegistry;
let lockedMirror: TestRegistry;
let up: Front;
let mir: Front;
let locked: Front;
/** A second front over the mirror registry: another search registry with the same content. */
let mir2: Front;
const secret = cred('secret demo/regcred', DEFAULT_USERS[0]!);
const amd64 = [{ os: 'linux', architecture: 'amd64' }];

t.before(async () => {
  [upstream, mirror, lockedMirror] = await Promise.all([startRegistry({ auth: 'basic' }), startRegistry({ auth: 'none' }), startRegistry({ auth: 'basic' })]);
  await pushImage(upstream, { repository: 'team/app', tag: 'v1', platforms: amd64 });
  await pushImage(upstream, { repository: 'team/app', tag: 'v2', platforms: amd64 });
  await pushImage(mirror, { repository: 'cache/team/app', tag: 'v1', platforms: amd64 });
  await pushImage(mirror, { repository: 'team/app', tag: 'short', platforms: amd64 });
  [up, mir, locked, mir2] = await Promise.all([startRelay(upstream), startRelay(mirror), startRelay(lockedMirror), startRelay(mirror)]);
});
t.teardown(async () => {
  await Promise.all([up, mir, locked, mir2].map((f) => f?.stop()));
  await Promise.all([upstream, mirror, lockedMirror].map((r) => r?.stop()));
});

/** A client over a registries.conf; the test CA is trusted through pullguard's own per-host config. */
function clientWith(text: string): RegistryClient {
  const dir = makeTempDir('containers');
  writeFileSync(join(dir, 'registries.conf'), text);
  const loaded = loadRegistriesConf(join(dir, 'registries.conf'));
  if (!loaded.ok) throw new Error(loaded.errors.join('; '));
  const ca = upstream.caFile;
  return createRegistryClient({ registries: { [up.host]: { ca }, [mir.host]: { ca }, [locked.host]: { ca }, [mir2.host]: { ca } }, defaults: { requestTimeoutMs: 5000 }, node: loaded.value.registries }, { env: {} });
}
const since = (f: Front) => {
  const n = f.requests.length;
  return () => f.requests.slice(n);
};
const manifestAsks = (rs: FrontRequest[]) => rs.filter((r) => r.path.includes('/manifests/'));

t.test('a mirror with a location rewrite answers first, without the secret and without ns=', async (t) => {
  const c = clientWith(`[[registry]]\nlocation = "${up.host}"\n[[registry.mirror]]\nlocation = "${mir.host}/cache"\n`);
  t.teardown(() => c.close());
  const [m, u] = [since(mir), since(up)];
  const r = await c.resolve(ref(`${up.host}/team/app:v1`), { platforms: [], credentials: [secret] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.ok(manifestAsks(m()).some((x) => x.path.startsWith('/v2/cache/team/app/manifests/v1') && x.status === 200), 'asked under the rewritten repository');
  t.ok(m().every((x) => x.authorization === undefined && !x.path.includes('ns=')), 'no secret, no ns=');
  t.same(u(), [], 'the location was not needed');
});

t.test('a tag the mirror lacks comes from the location, with the secret', async (t) => {
  const c = clientWith(`[[registry]]\nlocation = "${up.host}"\n[[registry.mirror]]\nlocation = "${mir.host}/cache"\n`);
  t.teardown(() => c.close());
  const u = since(up);
  const r = await c.resolve(ref(`${up.host}/team/app:v2`), { platforms: [], credentials: [secret] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.equal(r.credentialUsed, 'secret demo/regcred');
  t.ok(manifestAsks(u()).some((x) => x.authorization?.startsWith('Basic ')));
});

t.test('a location rewritten to a host that wants the secret CRI-O would send it: unknown, not AuthRequired', async (t) => {
  const c = clientWith(`[[registry]]\nprefix = "${up.host}/team"\nlocation = "${locked.host}/team"\n`);
  t.teardown(() => c.close());
  const l = since(locked);
  const r = await c.resolve(ref(`${up.host}/team/app:v1`), { platforms: [], credentials: [secret] });
  t.equal(verdictOf(r.reason), 'unknown', `${r.reason}: ${r.detail}`);
  t.equal(r.reason, 'NodeCredentialsAssumed');
  t.ok(l().length > 0 && l().every((x) => x.authorization === undefined), 'the rewritten host never saw the secret');
});

t.test('a blocked registry is RegistryBlocked and nothing is asked', async (t) => {
  const c = clientWith(`[[registry]]\nlocation = "${up.host}"\nblocked = true\n`);
  t.teardown(() => c.close());
  const u = since(up);
  const r = await c.resolve(ref(`${up.host}/team/app:v1`), { platforms: [], credentials: [secret] });
  t.equal(r.reason, 'RegistryBlocked');
  t.equal(verdictOf(r.reason), 'deny');
  t.same(u(), []);
});

t.test('short names: one search registry resolves them there; two make a found image AmbiguousShortName, a missing one a deny', async (t) => {
  const one = clientWith(`unqualified-search-registries = ["${mir.host}"]\n`);
  t.teardown(() => one.close());
  const written = 'team/app:short';
  const parsed = parseReference(written);
  if (!parsed.ok) return t.fail('parse');
  const r = await one.resolve(parsed.reference, { platforms: [], credentials: [], image: written });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  // registries.conf's own short-name-mode is overridden by CRI-O (crio.conf short_name_mode, "enforcing" by default).
  const two = clientWith(`short-name-mode = "disabled"\nunqualified-search-registries = ["${mir2.host}", "${mir.host}"]\n`);
  t.teardown(() => two.close());
  // Behaviour change: the candidates are asked (in "disabled" order) instead of refusing without a request.
  const [m, m2] = [since(mir), since(mir2)];
  const found = await two.resolve(parsed.reference, { platforms: [], credentials: [], image: written });
  t.equal(found.reason, 'AmbiguousShortName', found.detail ?? '');
  t.equal(verdictOf(found.reason), 'unknown', 'CRI-O 1.34+ refuses it, unless crio.conf says "disabled": not certain');
  t.match(found.detail, /CRI-O 1\.34\+ refuses it/);
  t.match(found.detail, /add an alias to \[aliases\] \("team\/app" = /);
  t.match(found.detail, new RegExp(`${mir2.host.replace(/\./g, '\\.')} answered Resolved`), 'the first candidate had it');
  t.ok(manifestAsks(m2()).length > 0, 'the first search registry was asked');
  t.same(manifestAsks(m()), [], 'and the second was not needed');
  const typo = parseReference('team/app:shrot');
  if (!typo.ok) return t.fail('parse');
  const missing = await two.resolve(typo.reference, { platforms: [], credentials: [], image: 'team/app:shrot' });
  t.equal(missing.reason, 'TagNotFound', `found nowhere: CRI-O fails in every mode (${missing.detail})`);
  t.equal(verdictOf(missing.reason), 'deny');
  const none = clientWith('[[registry]]\nlocation = "quay.io"\n');
  t.teardown(() => none.close());
  const before = [since(mir), since(mir2)];
  const refused = await none.resolve(parsed.reference, { platforms: [], credentials: [], image: written });
  t.equal(refused.reason, 'AmbiguousShortName', 'no search registries and no alias');
  t.match(refused.detail, /CRI-O refuses it in every short-name mode/);
  t.same([...before[0]!(), ...before[1]!()], [], 'nothing was asked');
});

t.test('a mirror that refuses pullguard without the secret CRI-O would send keeps a later "not found" unknown', async (t) => {
  const c = clientWith(`[[registry]]\nlocation = "${up.host}"\n[[registry.mirror]]\nlocation = "${locked.host}"\n`);
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${up.host}/team/app:v9`), { platforms: [], credentials: [secret] });
  t.equal(verdictOf(r.reason), 'unknown', `${r.reason}: ${r.detail}`);
  t.equal(r.reason, 'NodeCredentialsAssumed');
  t.match(r.detail, /answered TagNotFound, but the node may still pull the image from/);
  const anonymous = await c.resolve(ref(`${up.host}/team/app:v9`), { platforms: [], credentials: [] });
  // No pod secret: CRI-O's global_auth_file may hold credentials for the mirror, so the upstream's 401 cannot deny.
  t.equal(verdictOf(anonymous.reason), 'unknown', `${anonymous.reason}: ${anonymous.detail}`);
  t.equal(anonymous.reason, 'NodeCredentialsAssumed');
  t.match(anonymous.detail, /answered AuthRequired, but the node may still pull the image from/);
});

t.test('a location on another host that refuses pullguard\'s anonymous request is unknown, never a deny', async (t) => {
  // The rewritten location is the last (only) pull source: CRI-O sends its global_auth_file credentials there, and
  // containers/image drops the kubelet's for another domain (docker/docker_image_src.go newImageSourceAttempt,
  // go.podman.io/image v5 @523e87c): an anonymous 401 from us is not what the node gets.
  const c = clientWith(`[[registry]]\nprefix = "${up.host}/team"\nlocation = "${locked.host}/team"\n`);
  t.teardown(() => c.close());
  const [l, u] = [since(locked), since(up)];
  const r = await c.resolve(ref(`${up.host}/team/app:v1`), { platforms: [], credentials: [] });
  t.equal(r.reason, 'NodeCredentialsAssumed', r.detail ?? '');
  t.equal(verdictOf(r.reason), 'unknown');
  t.ok(l().length > 0 && l().every((x) => x.authorization === undefined), 'asked anonymously');
  t.same(u(), [], 'the image\'s own registry is not a pull source here');
});

t.test('CRI-O\'s certs.d (--certs-dir): <host:port>/*.crt makes a mirror pullguard could not verify checkable', async (t) => {
  const dir = makeTempDir('containers');
  const conf = join(dir, 'registries.conf');
  writeFileSync(conf, `[[registry]]\nlocation = "${mir2.host}"\n`);
  const certs = join(dir, 'certs.d');
  mkdirSync(join(certs, mir2.host), { recursive: true });
  writeFileSync(join(certs, mir2.host, 'ca.crt'), mir2.caPem);
  const client = (certsDir?: string) => {
    const loaded = loadRegistriesConf(conf, certsDir ? { certsDir } : {});
    if (!loaded.ok) throw new Error(loaded.errors.join('; '));
    return createRegistryClient({ registries: {}, defaults: { requestTimeoutMs: 5000 }, node: loaded.value.registries }, { env: {} });
  };
  const without = client();
  const withCerts = client(certs);
  t.teardown(() => Promise.all([without.close(), withCerts.close()]));
  const unverified = await without.resolve(ref(`${mir2.host}/team/app:short`), { platforms: [], credentials: [] });
  t.equal(verdictOf(unverified.reason), 'unknown', `without the CA: ${unverified.reason}`);
  const found = await withCerts.resolve(ref(`${mir2.host}/team/app:short`), { platforms: [], credentials: [] });
  t.equal(found.reason, 'Resolved', found.detail ?? '');
  const missing = await withCerts.resolve(ref(`${mir2.host}/team/app:nope`), { platforms: [], credentials: [] });
  t.equal(missing.reason, 'TagNotFound', 'and a missing tag is certain');
});
