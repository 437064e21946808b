// A containerd hosts.toml tree against real registries (issue #14): a mirror and the upstream (htpasswd), each
// behind a logging front. Hosts are tried in file order, a 404 or 401 moves on to the next, tags only go to hosts
// with "resolve", mirrors get ns=<registry> and never the pod's credentials (the CRI's ParseAuth rule), and the
// upstream gets them.
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, DEFAULT_USERS, type TestRegistry } from '../harness/registry.ts';
import { pushImage } from '../harness/push.ts';
import { startRelay, type Front, type FrontRequest } from '../harness/registry-fronts.ts';
import { createRegistryClient, type RegistryClient } from '../../src/registry/client.ts';
import { hostDirectory, loadHostsDir } from '../../src/registry/hosts-toml.ts';
import { cred, ref } from './registry-fixture.ts';
import { closedPort } from '../cli/env.ts';
import { verdictOf } from '../../src/verdict/reasons.ts';
import { makeTempDir } from '../harness/lifecycle.ts';

let upstream: TestRegistry;
let mirror: TestRegistry;
let lockedMirror: TestRegistry;
let up: Front;
let mir: Front;
let locked: Front;
let rooted: Front;
let v1Digest = '';
let onlyMirrorDigest = '';
const alice = DEFAULT_USERS[0]!;
const secret = cred('secret demo/regcred', alice);

t.before(async () => {
  [upstream, mirror, lockedMirror] = await Promise.all([startRegistry({ auth: 'basic' }), startRegistry({ auth: 'none' }), startRegistry({ auth: 'basic' })]);
  const v1 = await pushImage(upstream, { repository: 'team/app', tag: 'v1', platforms: [{ os: 'linux', architecture: 'amd64' }] });
  v1Digest = v1.digest;
  await pushImage(upstream, { repository: 'team/app', tag: 'v2', platforms: [{ os: 'linux', architecture: 'amd64' }] });
  await pushImage(mirror, { repository: 'team/app', tag: 'v1', platforms: [{ os: 'linux', architecture: 'amd64' }] });
  onlyMirrorDigest = (await pushImage(mirror, { repository: 'team/app', tag: 'cached', platforms: [{ os: 'linux', architecture: 'amd64' }] })).digest;
  [up, mir, locked, rooted] = await Promise.all([
    startRelay(upstream),
    startRelay(mirror),
    startRelay(lockedMirror),
    // A non-compliant mirror whose API root is /api (override_path).
    startRelay(mirror, { rewrite: (p) => (p.startsWith('/api/') ? `/v2/${p.slice('/api/'.length)}` : undefined) }),
  ]);
});
t.teardown(async () => {
  await Promise.all([up, mir, locked, rooted].map((f) => f?.stop()));
  await Promise.all([upstream, mirror, lockedMirror].map((r) => r?.stop()));
});

/** A client over a config_path tree with one hosts.toml for `registry`. */
function clientWith(registry: string, hostsToml: string): RegistryClient {
  const dir = makeTempDir('certs.d');
  const sub = join(dir, hostDirectory(registry));
  mkdirSync(sub);
  writeFileSync(join(sub, 'ca.pem'), up.caPem);
  writeFileSync(join(sub, 'hosts.toml'), hostsToml);
  const loaded = loadHostsDir(dir);
  if (!loaded.ok) throw new Error(loaded.errors.join('; '));
  return createRegistryClient({ registries: {}, defaults: { requestTimeoutMs: 5000 }, node: loaded.value.registries }, { env: {} });
}

const since = (f: Front) => {
  const n = f.requests.length;
  return () => f.requests.slice(n);
};
const manifestAsks = (rs: FrontRequest[]) => rs.filter((r) => r.path.includes('/manifests/'));
const ns = (path: string) => new URL(path, 'https://x').searchParams.get('ns');

const mirrorFirst = () => `ca = "ca.pem"\n[host."https://${mir.host}"]\n  capabilities = ["pull", "resolve"]\n  ca = "ca.pem"\n`;

t.test('a tag the mirror has is answered by the mirror, asked with ns=<registry> and without the pod\'s secret', async (t) => {
  const c = clientWith(up.host, mirrorFirst());
  t.teardown(() => c.close());
  const [m, u] = [since(mir), since(up)];
  const r = await c.resolve(ref(`${up.host}/team/app:v1`), { platforms: [], credentials: [secret] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.match(r.detail, new RegExp(`answered by mirror ${mir.host.replace(/\./g, '\\.')}`));
  const asked = manifestAsks(m());
  t.ok(asked.length > 0, 'the mirror was asked for the manifest');
  t.ok(asked.every((x) => ns(x.path) === up.host), 'every manifest request names the registry in ns=');
  t.ok(m().every((x) => x.authorization === undefined), 'the mirror never saw the credentials');
  t.same(u(), [], 'the upstream was not asked');
});

t.test('a tag the mirror lacks (404) falls through to the upstream, which gets the secret', async (t) => {
  const c = clientWith(up.host, mirrorFirst());
  t.teardown(() => c.close());
  const [m, u] = [since(mir), since(up)];
  const r = await c.resolve(ref(`${up.host}/team/app:v2`), { platforms: [], credentials: [secret] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.equal(r.credentialUsed, 'secret demo/regcred');
  t.match(r.detail, /mirror .*: TagNotFound \(404\)/);
  t.ok(manifestAsks(m()).some((x) => x.status === 404), 'the mirror answered 404');
  t.ok(m().every((x) => x.authorization === undefined), 'the mirror never saw the credentials');
  t.ok(manifestAsks(u()).some((x) => x.authorization?.startsWith('Basic ') && x.status === 200), 'the upstream was asked with the secret');
  t.ok(u().every((x) => ns(x.path) === null), 'no ns= for the registry itself');
});

t.test('hosts are tried in file order: a mirror answering 401 (we withhold the secret), then a 404 mirror, then the upstream', async (t) => {
  // (a 401 from a mirror that has the secret withheld is only unknown: see the last test)
  const c = clientWith(up.host, `ca = "ca.pem"\n[host."https://${locked.host}"]\n  ca = "ca.pem"\n[host."https://${mir.host}"]\n  ca = "ca.pem"\n`);
  t.teardown(() => c.close());
  const [l, m, u] = [since(locked), since(mir), since(up)];
  const r = await c.resolve(ref(`${up.host}/team/app:v2`), { platforms: [], credentials: [secret] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  // Withheld, the secret the node may send: the mirror's 401 is not certain (NodeCredentialsAssumed).
  const order = r.detail?.indexOf(`mirror ${locked.host}: NodeCredentialsAssumed`) ?? -1;
  t.ok(order >= 0 && order < (r.detail?.indexOf(`mirror ${mir.host}: TagNotFound`) ?? -1), `the locked mirror first, then the open one: ${r.detail}`);
  t.ok(l().length > 0 && l().every((x) => x.authorization === undefined), 'the locked mirror was asked, never with the secret');
  t.ok(manifestAsks(m()).length > 0, 'then the open mirror');
  t.ok(manifestAsks(u()).some((x) => x.status === 200), 'then the upstream answered');
});

t.test('a tag missing everywhere is TagNotFound after every host was asked', async (t) => {
  const c = clientWith(up.host, mirrorFirst());
  t.teardown(() => c.close());
  const [m, u] = [since(mir), since(up)];
  const r = await c.resolve(ref(`${up.host}/team/app:v9`), { platforms: [], credentials: [secret] });
  t.equal(r.reason, 'TagNotFound', r.detail ?? '');
  t.equal(verdictOf(r.reason), 'deny');
  t.ok(manifestAsks(m()).length > 0 && manifestAsks(u()).length > 0, 'both were asked');
});

t.test('a pull-only mirror is never asked to resolve a tag, but serves a digest', async (t) => {
  const c = clientWith(up.host, `ca = "ca.pem"\n[host."https://${mir.host}"]\n  capabilities = ["pull"]\n  ca = "ca.pem"\n`);
  t.teardown(() => c.close());
  let m = since(mir);
  const byTag = await c.resolve(ref(`${up.host}/team/app:cached`), { platforms: [], credentials: [secret] });
  t.equal(byTag.reason, 'TagNotFound', 'the tag only the mirror has is not found: the mirror may not resolve tags');
  t.same(manifestAsks(m()), [], 'the mirror was not asked for the tag');
  m = since(mir);
  const byDigest = await c.resolve(ref(`${up.host}/team/app@${onlyMirrorDigest}`), { platforms: [], credentials: [secret] });
  t.equal(byDigest.reason, 'Resolved', byDigest.detail ?? '');
  t.ok(manifestAsks(m()).some((x) => x.path.includes(onlyMirrorDigest) && x.status === 200), 'the digest came from the mirror');
  const upstreamDigest = await c.resolve(ref(`${up.host}/team/app@${v1Digest}`), { platforms: [], credentials: [secret] });
  t.equal(upstreamDigest.reason, 'Resolved', 'a digest the mirror lacks comes from the upstream');
});

t.test('override_path: the mirror is asked under its own API root', async (t) => {
  const c = clientWith(up.host, `ca = "ca.pem"\n[host."https://${rooted.host}/api"]\n  override_path = true\n  ca = "ca.pem"\n`);
  t.teardown(() => c.close());
  const [x, u] = [since(rooted), since(up)];
  const r = await c.resolve(ref(`${up.host}/team/app:cached`), { platforms: [], credentials: [] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.ok(x().some((q) => q.path.startsWith('/api/team/app/manifests/cached') && q.status === 200), 'asked at /api/<repo>/manifests/<tag>');
  t.same(u(), [], 'the upstream was not needed');
});

t.test('server = the mirror only (_default): the upstream is never asked, and its answer is final', async (t) => {
  const dir = makeTempDir('certs.d');
  mkdirSync(join(dir, '_default'));
  writeFileSync(join(dir, '_default', 'ca.pem'), up.caPem);
  writeFileSync(join(dir, '_default', 'hosts.toml'), `server = "https://${mir.host}"\nca = "ca.pem"\n`);
  const loaded = loadHostsDir(dir);
  if (!loaded.ok) return t.fail(loaded.errors.join('; '));
  const c = createRegistryClient({ registries: {}, defaults: { requestTimeoutMs: 5000 }, node: loaded.value.registries }, { env: {} });
  t.teardown(() => c.close());
  const m = since(mir);
  const r = await c.resolve(ref('registry.invalid.test/team/app:v1'), { platforms: [], credentials: [] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.ok(manifestAsks(m()).every((x) => ns(x.path) === 'registry.invalid.test'), 'ns= names the image\'s registry');
  const missing = await c.resolve(ref('registry.invalid.test/team/app:v2'), { platforms: [], credentials: [] });
  t.equal(missing.reason, 'TagNotFound', 'the only host does not have it: the node cannot pull it');
});

t.test('a mirror pullguard cannot reach keeps a later "not found" from denying: the node may still pull from it', async (t) => {
  const dead = `127.0.0.1:${await closedPort()}`;
  const c = clientWith(up.host, `ca = "ca.pem"\n[host."https://${dead}"]\n  ca = "ca.pem"\n`);
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${up.host}/team/app:v9`), { platforms: [], credentials: [secret] });
  t.equal(verdictOf(r.reason), 'unknown', `${r.reason}: ${r.detail}`);
  t.equal(r.reason, 'RegistryUnreachable');
  t.match(r.detail, new RegExp(`${up.host.replace(/\./g, '\\.')} answered TagNotFound, but the node may still pull the image from ${dead.replace(/\./g, '\\.')}`));
  const found = await c.resolve(ref(`${up.host}/team/app:v2`), { platforms: [], credentials: [secret] });
  t.equal(found.reason, 'Resolved', 'a later host that has it still answers');
});

t.test('a mirror that refuses pullguard without the secret the node may send it keeps a later "not found" unknown', async (t) => {
  const c = clientWith(up.host, `ca = "ca.pem"\n[host."https://${locked.host}"]\n  ca = "ca.pem"\n`);
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${up.host}/team/app:v9`), { platforms: [], credentials: [secret] });
  t.equal(verdictOf(r.reason), 'unknown', `${r.reason}: ${r.detail}`);
  t.equal(r.reason, 'NodeCredentialsAssumed');
  const anonymous = await c.resolve(ref(`${up.host}/team/app:v9`), { platforms: [], credentials: [] });
  // No pod secret: the node may still hold its own credentials for the mirror (containerd registry.configs auth,
  // k3s/RKE2 registries.yaml), so the mirror's anonymous 401 is not certain and the upstream's 401 cannot deny.
  t.equal(verdictOf(anonymous.reason), 'unknown', `${anonymous.reason}: ${anonymous.detail}`);
  t.equal(anonymous.reason, 'NodeCredentialsAssumed');
  t.match(anonymous.detail, new RegExp(`answered AuthRequired, but the node may still pull the image from ${locked.host.replace(/\./g, '\\.')}`));
  t.match(anonymous.detail, /may hold credentials for this mirror/);
});

t.test('server = a mirror that refuses pullguard\'s anonymous request: unknown, never a deny, and the upstream is not asked', async (t) => {
  // The last host is the mirror (containerd never asks the image's own registry then). Its 401 to our anonymous
  // request is not the node's answer: the node may hold credentials for it (registry.configs auth, k3s
  // registries.yaml) or send the pod's secret we withhold. containerd's Resolve (core/remotes/docker/resolver.go
  // v2.1) fails with the last host's auth error only after the node's own credentials failed.
  const c = clientWith(up.host, `server = "https://${locked.host}"\nca = "ca.pem"\n`);
  t.teardown(() => c.close());
  const [l, u] = [since(locked), since(up)];
  const anonymous = await c.resolve(ref(`${up.host}/team/app:v1`), { platforms: [], credentials: [] });
  t.equal(anonymous.reason, 'NodeCredentialsAssumed', anonymous.detail ?? '');
  t.equal(verdictOf(anonymous.reason), 'unknown');
  t.match(anonymous.detail, new RegExp(`${locked.host.replace(/\./g, '\\.')} answered AuthRequired to pullguard's anonymous request`));
  const withSecret = await c.resolve(ref(`${up.host}/team/app:v1`), { platforms: [], credentials: [secret] });
  t.equal(withSecret.reason, 'NodeCredentialsAssumed', withSecret.detail ?? '');
  t.ok(l().length > 0 && l().every((x) => x.authorization === undefined), 'the mirror was asked, never with the secret');
  t.same(u(), [], 'the upstream was never asked');
});

t.test('in a pod, a loopback host of the node\'s hosts.toml is the node\'s own: not asked, and a later "not found" is unknown', async (t) => {
  const dir = makeTempDir('certs.d');
  const sub = join(dir, hostDirectory(up.host));
  mkdirSync(sub);
  writeFileSync(join(sub, 'ca.pem'), up.caPem);
  writeFileSync(join(sub, 'hosts.toml'), mirrorFirst());
  const loaded = loadHostsDir(dir);
  if (!loaded.ok) return t.fail(loaded.errors.join('; '));
  // pullguard's config names the upstream (reachable from the pod), not the node-local mirror.
  const c = createRegistryClient({ registries: { [up.host]: {} }, defaults: { requestTimeoutMs: 5000 }, node: loaded.value.registries, loopbackIsNodes: true }, { env: {} });
  t.teardown(() => c.close());
  const [m, u] = [since(mir), since(up)];
  const found = await c.resolve(ref(`${up.host}/team/app:v2`), { platforms: [], credentials: [secret] });
  t.equal(found.reason, 'Resolved', found.detail ?? '');
  const missing = await c.resolve(ref(`${up.host}/team/app:v9`), { platforms: [], credentials: [secret] });
  t.equal(missing.reason, 'RegistryUnreachable', missing.detail ?? '');
  t.equal(verdictOf(missing.reason), 'unknown');
  t.match(missing.detail, new RegExp(`the node may still pull the image from ${mir.host.replace(/\./g, '\\.')}`));
  t.same(m(), [], 'the node-local mirror was never asked');
  t.ok(manifestAsks(u()).length > 0, 'the upstream was');
});

t.test('server = a mirror the node sends the pod\'s secret to: its "not found" to pullguard\'s anonymous request is not certain', async (t) => {
  const c = clientWith(up.host, `server = "https://${mir.host}"\nca = "ca.pem"\n`);
  t.teardown(() => c.close());
  const u = since(up);
  // containerd's CRI sends the kubelet's credentials to every host (no ServerAddress): the node asks with them.
  const withSecret = await c.resolve(ref(`${up.host}/team/app:v2`), { platforms: [], credentials: [secret] });
  t.equal(withSecret.reason, 'NodeCredentialsAssumed', withSecret.detail ?? '');
  t.match(withSecret.detail, /answered TagNotFound to pullguard's anonymous request, but the nodes send it the pod's credentials/);
  // Without a pod secret the node asks as anonymously as we do: the same answer, a certain deny.
  const anonymous = await c.resolve(ref(`${up.host}/team/app:v2`), { platforms: [], credentials: [] });
  t.equal(anonymous.reason, 'TagNotFound');
  t.equal(verdictOf(anonymous.reason), 'deny');
  t.same(u(), [], 'the upstream is never asked');
});
