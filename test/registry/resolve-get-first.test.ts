// One GET instead of HEAD + GET when the platform check needs the manifest anyway (issue #13): counted at the
// fault proxy in front of a real registry. Docker Hub, its mirrors and hosts that announce a pull budget keep HEAD
// first (a manifest GET there is a pull; the budget case is in resolve-hosts.test.ts).
import t from 'tap';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { pushImage, pushTags, type PushedImage } from '../harness/push.ts';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { clientFor, ref } from './registry-fixture.ts';

let reg: TestRegistry;
let proxy: FaultProxy;
const images: PushedImage[] = [];
const both = [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }];
const amd64 = [{ os: 'linux', architecture: 'amd64' }];

t.before(async () => {
  reg = await startRegistry({ auth: 'none' });
  proxy = await startFaultProxy(reg);
  for (let i = 0; i < 6; i++) images.push(await pushImage(reg, { repository: `library/app${i}`, tag: 'v1', platforms: both }));
  await pushTags(reg, 'library/tagged', ['1.0', '1.1', '2.0']);
});
t.teardown(async () => {
  await proxy.stop();
  await reg.stop();
});

const manifests = () => proxy.requests.filter((x) => x.path.includes('/manifests/'));
const count = (method: string) => manifests().filter((x) => x.method === method).length;

t.test('with platforms to check, each image costs one manifest GET once the host is known to count no pulls', async (t) => {
  proxy.reset();
  const c = clientFor({ [proxy.host]: { caFile: reg.caFile } });
  t.teardown(() => c.close());
  const all = await Promise.all(images.map((_, i) => c.resolve(ref(`${proxy.host}/library/app${i}:v1`), { platforms: amd64, credentials: [] })));
  t.same(all.map((r) => r.reason), images.map(() => 'Resolved'));
  t.same(all.map((r) => r.digest), images.map((p) => p.digest), 'the digest comes from the GET');
  t.equal(count('HEAD'), 1, 'one HEAD learns the host; the concurrent lookups wait for it');
  t.equal(count('GET'), images.length, 'then one GET per image (the first one GETs its index by digest)');
  t.equal(manifests().length, images.length + 1);
});

t.test('without platforms to check, existence is still a HEAD alone', async (t) => {
  proxy.reset();
  const c = clientFor({ [proxy.host]: { caFile: reg.caFile } });
  t.teardown(() => c.close());
  await c.resolve(ref(`${proxy.host}/library/app0:v1`), { platforms: amd64, credentials: [] });
  proxy.reset();
  const r = await c.resolve(ref(`${proxy.host}/library/app1:v1`), { platforms: [], credentials: [] });
  t.equal(r.reason, 'Resolved');
  t.same(manifests().map((x) => x.method), ['HEAD']);
});

t.test('a missing tag asked by GET is TagNotFound with suggestions, with no second manifest request to learn why', async (t) => {
  const c = clientFor({ [proxy.host]: { caFile: reg.caFile } });
  t.teardown(() => c.close());
  await c.resolve(ref(`${proxy.host}/library/app0:v1`), { platforms: amd64, credentials: [] });
  proxy.reset();
  const r = await c.resolve(ref(`${proxy.host}/library/tagged:1.2`), { platforms: amd64, credentials: [] });
  t.equal(r.reason, 'TagNotFound', r.detail ?? '');
  t.same(r.suggestions, ['1.1', '1.0', '2.0']);
  t.same(manifests().map((x) => x.method), ['GET']);
});

t.test('a missing repository asked by GET is RepositoryNotFound', async (t) => {
  const c = clientFor({ [proxy.host]: { caFile: reg.caFile } });
  t.teardown(() => c.close());
  await c.resolve(ref(`${proxy.host}/library/app0:v1`), { platforms: amd64, credentials: [] });
  const r = await c.resolve(ref(`${proxy.host}/library/nothing-here:1.0`), { platforms: amd64, credentials: [] });
  t.equal(r.reason, 'RepositoryNotFound', r.detail ?? '');
});

t.test('a digest whose platforms are known is checked by HEAD alone', async (t) => {
  proxy.reset();
  const c = clientFor({ [proxy.host]: { caFile: reg.caFile } });
  t.teardown(() => c.close());
  await c.resolve(ref(`${proxy.host}/library/app2:v1`), { platforms: amd64, credentials: [] });
  proxy.reset();
  const r = await c.resolve(ref(`${proxy.host}/library/app2@${images[2]!.digest}`), { platforms: amd64, credentials: [] });
  t.equal(r.reason, 'Resolved');
  t.same(manifests().map((x) => x.method), ['HEAD']);
});

t.test('Docker Hub\'s mirror keeps HEAD first: a manifest GET there may be a Docker Hub pull', async (t) => {
  proxy.reset();
  const c = clientFor({ 'docker.io': { mirrors: [{ host: proxy.host, ca: reg.caFile }] }, [proxy.host]: { caFile: reg.caFile } });
  t.teardown(() => c.close());
  for (const i of [3, 4, 5]) {
    const r = await c.resolve(ref(`app${i}:v1`), { platforms: amd64, credentials: [] });
    t.equal(r.reason, 'Resolved', r.detail ?? '');
  }
  t.equal(count('HEAD'), 3, 'every tag is asked by HEAD');
  t.equal(count('GET'), 3, 'and only the index is read, by digest');
  t.ok(manifests().filter((x) => x.method === 'GET').every((x) => x.path.includes('/manifests/sha256:')));
});

t.test('an index brought by the GET that answered the tag is matched from that body, and its platforms are kept for the digest', async (t) => {
  const c = clientFor({ [proxy.host]: { caFile: reg.caFile } });
  t.teardown(() => c.close());
  await c.resolve(ref(`${proxy.host}/library/app0:v1`), { platforms: amd64, credentials: [] });
  proxy.reset();
  const r = await c.resolve(ref(`${proxy.host}/library/app3:v1`), { platforms: amd64, credentials: [] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.same(r.matchedPlatform, { os: 'linux', architecture: 'amd64' });
  t.same(r.platforms, both, 'every platform the index states');
  t.same(manifests().map((x) => x.method), ['GET'], 'the tag GET alone: no second read of the index');
  proxy.reset();
  const wrong = await c.resolve(ref(`${proxy.host}/library/app4:v1`), { platforms: [{ os: 'linux', architecture: 's390x' }], credentials: [] });
  t.equal(wrong.reason, 'PlatformMismatch', wrong.detail ?? '');
  t.match(wrong.detail, /linux\/amd64, linux\/arm64/);
  t.same(manifests().map((x) => x.method), ['GET']);
  proxy.reset();
  const pinned = await c.resolve(ref(`${proxy.host}/library/app3@${images[3]!.digest}`), { platforms: [{ os: 'linux', architecture: 'arm64' }], credentials: [] });
  t.equal(pinned.reason, 'Resolved', pinned.detail ?? '');
  t.same(manifests().map((x) => x.method), ['HEAD'], 'the digest is then checked by HEAD alone: the platforms were kept');
});
