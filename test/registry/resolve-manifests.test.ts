// Manifests against a real registry (no auth): single manifests, OCI indexes and Docker lists with arm/v7 and
// buildkit attestations, platform (mis)matches, digests, missing tags/digests/repositories with paginated tag
// suggestions, schema1, and HEAD-only existence checks counted through a pass-through proxy.
import t from 'tap';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { pushImage, pushTags, type PushedImage } from '../harness/push.ts';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { parsePlatform } from '../../src/reference/platform.ts';
import type { Platform } from '../../src/registry/resolution.ts';
import { clientFor, ref } from './registry-fixture.ts';
import { verdictOf } from '../../src/verdict/reasons.ts';

let reg: TestRegistry;
let proxy: FaultProxy;
let single: PushedImage;
let oci: PushedImage;
let docker: PushedImage;

const P = (s: string): Platform => parsePlatform(s)!;

t.before(async () => {
  reg = await startRegistry({ auth: 'none' });
  proxy = await startFaultProxy(reg);
  single = await pushImage(reg, { repository: 'apps/single', tag: 'v1', platforms: [P('linux/amd64')] });
  oci = await pushImage(reg, { repository: 'apps/multi', tag: 'oci', platforms: [P('linux/amd64'), P('linux/arm/v7')], attestations: true });
  docker = await pushImage(reg, { repository: 'apps/multi', tag: 'docker', format: 'docker', platforms: [P('linux/amd64'), P('linux/arm64'), P('linux/arm/v7')] });
  // > 100 tags, read in pages below.
  await pushTags(reg, 'apps/many', Array.from({ length: 130 }, (_, i) => `1.${Math.floor(i / 10)}.${i % 10}`));
});
t.teardown(async () => {
  await proxy.stop();
  await reg.stop();
});

const client = (defaults = {}) => clientFor({ [reg.host]: { caFile: reg.caFile }, [proxy.host]: { caFile: reg.caFile } }, {}, defaults);

t.test('a single-platform image matches its platform, read from the config blob', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${reg.host}/apps/single:v1`), { platforms: [P('linux/amd64')], credentials: [] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.equal(r.digest, single.digest);
  t.same(r.platforms, [P('linux/amd64')]);
  t.same(r.matchedPlatform, P('linux/amd64'));
});

t.test('a single-platform image on another architecture is PlatformMismatch', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${reg.host}/apps/single:v1`), { platforms: [P('linux/arm64')], credentials: [] });
  t.equal(r.reason, 'PlatformMismatch');
  t.equal(verdictOf(r.reason), 'deny');
  t.same(r.platforms, [P('linux/amd64')]);
  t.match(r.detail, /offers linux\/amd64; the pod may run on linux\/arm64/);
});

t.test('an OCI index: arm64 nodes run its arm/v7 image; attestations are not platforms', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${reg.host}/apps/multi:oci`), { platforms: [P('linux/arm64')], credentials: [] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.equal(r.digest, oci.digest);
  t.equal(r.mediaType, 'application/vnd.oci.image.index.v1+json');
  t.same(r.matchedPlatform, P('linux/arm/v7'));
  t.same(r.platforms, [P('linux/amd64'), P('linux/arm/v7')], 'unknown/unknown attestation entries are left out');
});

t.test('an OCI index without the node platform is PlatformMismatch listing what it offers', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${reg.host}/apps/multi:oci`), { platforms: [P('linux/s390x'), P('linux/ppc64le')], credentials: [] });
  t.equal(r.reason, 'PlatformMismatch');
  t.same(r.platforms, [P('linux/amd64'), P('linux/arm/v7')]);
  t.match(r.detail, /linux\/amd64, linux\/arm\/v7/);
});

t.test('a Docker manifest list matches like an OCI index', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  const arm = await c.resolve(ref(`${reg.host}/apps/multi:docker`), { platforms: [P('linux/arm/v8')], credentials: [] });
  t.equal(arm.reason, 'Resolved', arm.detail ?? '');
  t.equal(arm.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
  t.same(arm.matchedPlatform, P('linux/arm/v7'), 'arm/v8 runs arm/v7');
  const v6 = await c.resolve(ref(`${reg.host}/apps/multi:docker`), { platforms: [P('linux/arm/v6')], credentials: [] });
  t.equal(v6.reason, 'PlatformMismatch', 'arm/v6 cannot run arm/v7');
  t.equal(docker.manifests.length, 3);
});

t.test('some candidate platforms unsupported is still Resolved, with a note', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${reg.host}/apps/multi:oci`), { platforms: [P('linux/s390x'), P('linux/amd64')], credentials: [] });
  t.equal(r.reason, 'Resolved');
  t.match(r.detail, /no image for linux\/s390x/);
});

t.test('a digest reference resolves to that digest; a missing one is DigestNotFound', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${reg.host}/apps/multi@${oci.manifests[1]!.digest}`), { platforms: [P('linux/arm/v7')], credentials: [] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.equal(r.digest, oci.manifests[1]!.digest);
  const missing = await c.resolve(ref(`${reg.host}/apps/multi@sha256:${'0'.repeat(64)}`), { platforms: [], credentials: [] });
  t.equal(missing.reason, 'DigestNotFound', missing.detail ?? '');
  t.equal(missing.status, 404);
  t.equal(missing.suggestions, undefined);
});

t.test('a missing repository is RepositoryNotFound (distribution says NAME_UNKNOWN)', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${reg.host}/apps/nothing-here:v1`), { platforms: [], credentials: [] });
  t.equal(r.reason, 'RepositoryNotFound', r.detail ?? '');
  t.match(r.registryMessage, /^404 NAME_UNKNOWN/);
  const digest = await c.resolve(ref(`${reg.host}/apps/nothing-here@sha256:${'1'.repeat(64)}`), { platforms: [], credentials: [] });
  t.equal(digest.reason, 'RepositoryNotFound');
});

/**
 * Distribution 2.8 ignores `n` on tags/list and answers everything at once, so the proxy pages the real list
 * the way distribution 3, Docker Hub and GHCR do: `?n=&last=` in, `Link: <…>; rel="next"` out.
 */
function pageTags(all: string[], extraLink?: string) {
  return (req: { method: string; path: string }) => {
    if (!req.path.includes('/tags/list')) return { kind: 'pass' as const };
    const u = new URL(req.path, 'https://x.invalid');
    const n = Number(u.searchParams.get('n') ?? all.length);
    const last = u.searchParams.get('last');
    const start = last === null ? 0 : all.indexOf(last) + 1;
    const page = all.slice(start, start + n);
    const more = start + n < all.length;
    const next = `/v2/apps/many/tags/list?n=${n}&last=${encodeURIComponent(page[page.length - 1] ?? '')}`;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (more) headers.link = extraLink ?? `<${next}>; rel="next"`;
    return { kind: 'status' as const, status: 200, headers, body: JSON.stringify({ name: 'apps/many', tags: page }) };
  };
}
const manyTags = Array.from({ length: 130 }, (_, i) => `1.${Math.floor(i / 10)}.${i % 10}`).sort();

t.test('a missing tag is TagNotFound with the closest tags, read over paginated tags/list', async (t) => {
  const c = client({ tagPageSize: 50 });
  t.teardown(() => c.close());
  proxy.reset();
  proxy.setFault(pageTags(manyTags));
  t.teardown(() => proxy.reset());
  const r = await c.resolve(ref(`${proxy.host}/apps/many:1.9.99`), { platforms: [], credentials: [] });
  t.equal(r.reason, 'TagNotFound', r.detail ?? '');
  t.equal(r.registryMessage, '404 MANIFEST_UNKNOWN: manifest unknown');
  t.ok(r.suggestions && r.suggestions.length > 0 && r.suggestions.length <= 5, `suggestions: ${r.suggestions?.join(', ')}`);
  t.ok(r.suggestions?.every((s) => s.startsWith('1.9.')), 'from the same version line, which is on the last page');
  const pages = proxy.requests.filter((x) => x.path.includes('/tags/list'));
  t.equal(pages.length, 3, '130 tags in pages of 50');
  t.match(pages[0]?.path, /n=50/);
  t.match(pages[1]?.path, /last=/);
});

t.test('tag pages are bounded by maxTagPages', async (t) => {
  const c = client({ tagPageSize: 10, maxTagPages: 2 });
  t.teardown(() => c.close());
  proxy.reset();
  proxy.setFault(pageTags(manyTags));
  t.teardown(() => proxy.reset());
  const r = await c.resolve(ref(`${proxy.host}/apps/many:1.0.99`), { platforms: [], credentials: [] });
  t.equal(r.reason, 'TagNotFound');
  t.equal(proxy.requests.filter((x) => x.path.includes('/tags/list')).length, 2);
});

t.test('a Link to another host is not followed', async (t) => {
  const c = client({ tagPageSize: 50 });
  t.teardown(() => c.close());
  proxy.reset();
  proxy.setFault(pageTags(manyTags, '<https://elsewhere.invalid/v2/apps/many/tags/list?n=50&last=x>; rel="next"'));
  t.teardown(() => proxy.reset());
  const r = await c.resolve(ref(`${proxy.host}/apps/many:1.0.99`), { platforms: [], credentials: [] });
  t.equal(r.reason, 'TagNotFound');
  t.equal(proxy.requests.filter((x) => x.path.includes('/tags/list')).length, 1);
  t.ok(r.suggestions?.includes('1.0.9'), 'suggestions from the pages that were read');
});

t.test('suggestTags: false skips the listing', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  proxy.reset();
  const r = await c.resolve(ref(`${proxy.host}/apps/many:nope`), { platforms: [], credentials: [], suggestTags: false });
  t.equal(r.reason, 'TagNotFound');
  t.equal(r.suggestions, undefined);
  t.equal(proxy.requests.filter((x) => x.path.includes('/tags/list')).length, 0);
});

t.test('existence is checked by HEAD only: no manifest GET when any platform will do', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  proxy.reset();
  const r = await c.resolve(ref(`${proxy.host}/apps/multi:oci`), { platforms: [], credentials: [] });
  t.equal(r.reason, 'Resolved');
  t.equal(r.digest, oci.digest);
  const manifestRequests = proxy.requests.filter((x) => x.path.includes('/manifests/'));
  t.same(manifestRequests.map((x) => x.method), ['HEAD']);
});

t.test('platform checks read the index once; its platforms are remembered by digest', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  proxy.reset();
  const opts = { platforms: [P('linux/amd64')], credentials: [] };
  t.equal((await c.resolve(ref(`${proxy.host}/apps/multi:oci`), opts)).reason, 'Resolved');
  t.equal((await c.resolve(ref(`${proxy.host}/apps/multi:oci`), opts)).reason, 'Resolved');
  const byDigest = proxy.requests.filter((x) => x.method === 'GET' && x.path.includes(`/manifests/${oci.digest}`));
  t.equal(byDigest.length, 1, 'one index GET by digest for two resolutions');
  // Since the GET-first change (issue #13): the first resolution HEADs the tag (the host is not known yet to count
  // no pulls), the second GETs it, which answers digest and index at once: one request each time, as before.
  t.same(proxy.requests.filter((x) => x.path.includes('/manifests/')).map((x) => `${x.method} ${x.path.includes('/manifests/oci') ? 'tag' : 'digest'}`), ['HEAD tag', 'GET digest', 'GET tag']);
});

t.test('a registry that refuses HEAD is asked with GET', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  proxy.reset();
  proxy.setFault((req) => (req.method === 'HEAD' ? { kind: 'status', status: 405 } : { kind: 'pass' }));
  const r = await c.resolve(ref(`${proxy.host}/apps/single:v1`), { platforms: [], credentials: [] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.equal(r.digest, single.digest);
  proxy.reset();
});

t.test('a schema1 image is UnsupportedManifest: containerd 2.x refuses schema1', async (t) => {
  const old = await startRegistry({ auth: 'none', schema1: true });
  t.teardown(() => old.stop());
  const pushed = await pushImage(old, { repository: 'legacy/app', tag: 'v1', platforms: [P('linux/amd64')], schema1: true });
  const c = clientFor({ [old.host]: { caFile: old.caFile } });
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${old.host}/legacy/app:v1`), { platforms: [], credentials: [] });
  t.equal(r.reason, 'UnsupportedManifest', r.detail ?? '');
  t.equal(verdictOf(r.reason), 'deny');
  t.match(r.mediaType, /manifest\.v1\+(prettyjws|json)/);
  t.match(r.detail, /containerd 2\.x refuses schema 1/);
  t.equal(r.digest, pushed.digest);
});
