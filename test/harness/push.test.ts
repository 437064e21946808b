import t from 'tap';
import { Agent, request } from 'undici';
import type { Platform } from '../../src/registry/resolution.ts';
import { ACCEPT_ALL_MANIFESTS, deleteManifest, MEDIA_TYPES, pushImage, pushTags, sha256Digest } from './push.ts';
import { startRegistry, type TestRegistry } from './registry.ts';

const AMD64: Platform = { os: 'linux', architecture: 'amd64' };
const ARM_V7: Platform = { os: 'linux', architecture: 'arm', variant: 'v7' };
const WINDOWS: Platform = { os: 'windows', architecture: 'amd64', osVersion: '10.0.20348.2113' };

interface Fetched {
  status: number;
  contentType: string;
  digest: string;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Plain undici, no harness code: what any client would see. */
async function fetchFrom(reg: TestRegistry, path: string, accept?: string): Promise<Fetched> {
  const agent = new Agent({ connect: { ca: reg.caPem } });
  try {
    const res = await request(`${reg.url}${path}`, { dispatcher: agent, headers: accept ? { accept } : {} });
    const body = await res.body.text();
    return { status: res.statusCode, contentType: String(res.headers['content-type']), digest: String(res.headers['docker-content-digest']), body, headers: res.headers };
  } finally {
    await agent.close();
  }
}

t.test('pushing into a registry without auth', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());

  t.test('one platform gives a single OCI manifest whose config carries the platform', async (t) => {
    const img = await pushImage(reg, { repository: 'team/single', tag: 'v1', platforms: [ARM_V7] });
    t.equal(img.mediaType, MEDIA_TYPES.ociManifest);
    t.equal(img.reference, `${reg.host}/team/single:v1`);
    t.equal(img.digest, sha256Digest(img.body));
    t.same(img.manifests, [{ platform: ARM_V7, digest: img.digest, mediaType: MEDIA_TYPES.ociManifest, configDigest: img.manifests[0]!.configDigest }]);

    const got = await fetchFrom(reg, '/v2/team/single/manifests/v1', MEDIA_TYPES.ociManifest);
    t.equal(got.status, 200);
    t.equal(got.contentType, MEDIA_TYPES.ociManifest);
    t.equal(got.digest, img.digest);
    const manifest = JSON.parse(got.body) as { config: { digest: string; mediaType: string }; layers: { mediaType: string }[] };
    t.equal(manifest.config.mediaType, MEDIA_TYPES.ociConfig);
    t.equal(manifest.layers[0]!.mediaType, MEDIA_TYPES.ociLayer);
    const config = await fetchFrom(reg, `/v2/team/single/blobs/${manifest.config.digest}`);
    t.match(JSON.parse(config.body), { os: 'linux', architecture: 'arm', variant: 'v7' });
  });

  t.test('docker format gives a Docker v2 manifest; os.version reaches the config', async (t) => {
    const img = await pushImage(reg, { repository: 'team/docker', platforms: [WINDOWS], format: 'docker' });
    t.equal(img.mediaType, MEDIA_TYPES.dockerManifest);
    const got = await fetchFrom(reg, '/v2/team/docker/manifests/latest', MEDIA_TYPES.dockerManifest);
    t.equal(got.contentType, MEDIA_TYPES.dockerManifest);
    const manifest = JSON.parse(got.body) as { config: { digest: string; mediaType: string } };
    t.equal(manifest.config.mediaType, MEDIA_TYPES.dockerConfig);
    const config = JSON.parse((await fetchFrom(reg, `/v2/team/docker/blobs/${manifest.config.digest}`)).body) as Record<string, unknown>;
    t.match(config, { os: 'windows', architecture: 'amd64', 'os.version': '10.0.20348.2113' });
  });

  t.test('an OCI index with arm/v7 and attestations lists each platform, then unknown/unknown attestations', async (t) => {
    const img = await pushImage(reg, { repository: 'team/multi', platforms: [AMD64, ARM_V7], attestations: true });
    t.equal(img.mediaType, MEDIA_TYPES.ociIndex);
    t.equal(img.manifests.length, 2);
    t.not(img.manifests[0]!.digest, img.manifests[1]!.digest);
    t.same(img.attestations.map((a) => a.refersTo), img.manifests.map((m) => m.digest));

    const got = await fetchFrom(reg, '/v2/team/multi/manifests/latest', ACCEPT_ALL_MANIFESTS);
    t.equal(got.contentType, MEDIA_TYPES.ociIndex);
    t.equal(got.digest, img.digest);
    const index = JSON.parse(got.body) as { manifests: { digest: string; platform: Record<string, string>; annotations?: Record<string, string> }[] };
    t.same(
      index.manifests.map((m) => m.platform),
      [{ architecture: 'amd64', os: 'linux' }, { architecture: 'arm', os: 'linux', variant: 'v7' }, { architecture: 'unknown', os: 'unknown' }, { architecture: 'unknown', os: 'unknown' }],
    );
    t.same(index.manifests[2]!.annotations, { 'vnd.docker.reference.digest': img.manifests[0]!.digest, 'vnd.docker.reference.type': 'attestation-manifest' });

    for (const m of img.manifests) {
      const child = await fetchFrom(reg, `/v2/team/multi/manifests/${m.digest}`, MEDIA_TYPES.ociManifest);
      t.equal(child.status, 200);
      t.equal(child.digest, m.digest);
    }
    const attestation = JSON.parse((await fetchFrom(reg, `/v2/team/multi/manifests/${img.attestations[0]!.digest}`, MEDIA_TYPES.ociManifest)).body) as { layers: { mediaType: string }[] };
    t.equal(attestation.layers[0]!.mediaType, MEDIA_TYPES.inToto);
  });

  t.test('a Docker manifest list with arm/v7 and attestations', async (t) => {
    const img = await pushImage(reg, { repository: 'team/list', format: 'docker', platforms: [AMD64, ARM_V7], attestations: true });
    t.equal(img.mediaType, MEDIA_TYPES.dockerList);
    const got = await fetchFrom(reg, '/v2/team/list/manifests/latest', `${MEDIA_TYPES.dockerList}, ${MEDIA_TYPES.dockerManifest}`);
    t.equal(got.contentType, MEDIA_TYPES.dockerList);
    t.equal(got.digest, img.digest);
    const list = JSON.parse(got.body) as { manifests: { mediaType: string; platform: Record<string, string> }[] };
    t.same(list.manifests.map((m) => m.mediaType), [MEDIA_TYPES.dockerManifest, MEDIA_TYPES.dockerManifest, MEDIA_TYPES.ociManifest, MEDIA_TYPES.ociManifest]);
    t.same(list.manifests[1]!.platform, { architecture: 'arm', os: 'linux', variant: 'v7' });
  });

  t.test('index: true makes an index even for one platform', async (t) => {
    const img = await pushImage(reg, { repository: 'team/one', platforms: [AMD64], index: true });
    t.equal(img.mediaType, MEDIA_TYPES.ociIndex);
    t.equal(img.manifests.length, 1);
    t.not(img.manifests[0]!.digest, img.digest);
  });

  t.test('digests differ by tag unless the seed is the same', async (t) => {
    const a = await pushImage(reg, { repository: 'team/seed', tag: 'a', platforms: [AMD64] });
    const b = await pushImage(reg, { repository: 'team/seed', tag: 'b', platforms: [AMD64] });
    const c = await pushImage(reg, { repository: 'team/seed', tag: 'c', platforms: [AMD64], seed: 'team/seed:a' });
    t.not(a.digest, b.digest);
    t.equal(a.digest, c.digest);
  });

  t.test('an OCI index asked for with only Docker types is not found (what old clients see)', async (t) => {
    const got = await fetchFrom(reg, '/v2/team/multi/manifests/latest', MEDIA_TYPES.dockerManifest);
    t.equal(got.status, 404);
    t.match(got.body, /MANIFEST_UNKNOWN/);
  });

  t.test('pushTags makes many tags of one manifest (distribution 2.8 lists them unsorted and unpaginated)', async (t) => {
    const tags = Array.from({ length: 25 }, (_, i) => `v${String(i).padStart(2, '0')}`);
    const img = await pushTags(reg, 'team/tags', tags);
    const all = await fetchFrom(reg, '/v2/team/tags/tags/list?n=10');
    const listed = (JSON.parse(all.body) as { tags: string[] }).tags;
    t.same([...listed].sort(), tags);
    t.equal(all.headers.link, undefined, 'no Link: 2.8 ignores n (the fault proxy can paginate)');
    for (const tag of ['v00', 'v13', 'v24']) t.equal((await fetchFrom(reg, `/v2/team/tags/manifests/${tag}`, MEDIA_TYPES.ociManifest)).digest, img.digest);
  });

  t.test('deleteManifest removes a manifest and its tags', async (t) => {
    const img = await pushImage(reg, { repository: 'team/gone', platforms: [AMD64] });
    await deleteManifest(reg, 'team/gone', img.digest);
    t.equal((await fetchFrom(reg, '/v2/team/gone/manifests/latest', MEDIA_TYPES.ociManifest)).status, 404);
    t.equal((await fetchFrom(reg, `/v2/team/gone/manifests/${img.digest}`, MEDIA_TYPES.ociManifest)).status, 404);
  });

  t.test('schema1 needs a registry started with schema1: true', async (t) => {
    await t.rejects(pushImage(reg, { repository: 'team/old', platforms: [AMD64], schema1: true }), /schema1: true/);
  });
});

t.test('schema1 signed manifests can be pushed and fetched back', async (t) => {
  const reg = await startRegistry({ schema1: true });
  t.teardown(() => reg.stop());
  const img = await pushImage(reg, { repository: 'team/old', tag: 'v1', platforms: [AMD64], schema1: true });
  t.equal(img.mediaType, MEDIA_TYPES.schema1Signed);
  const got = await fetchFrom(reg, '/v2/team/old/manifests/v1', ACCEPT_ALL_MANIFESTS);
  t.equal(got.status, 200);
  t.equal(got.contentType, MEDIA_TYPES.schema1Signed);
  t.equal(got.digest, img.digest);
  const manifest = JSON.parse(got.body) as { schemaVersion: number; name: string; tag: string; architecture: string; signatures: unknown[] };
  t.match(manifest, { schemaVersion: 1, name: 'team/old', tag: 'v1', architecture: 'amd64' });
  t.equal(manifest.signatures.length, 1);
  await t.rejects(pushImage(reg, { repository: 'team/old', platforms: [AMD64, ARM_V7], schema1: true }), /one platform/);
});

for (const auth of ['basic', 'token'] as const) {
  t.test(`pushing authenticates itself with ${auth} auth`, async (t) => {
    const reg = await startRegistry({ auth });
    t.teardown(() => reg.stop());
    const img = await pushImage(reg, { repository: 'team/app', platforms: [AMD64, ARM_V7], attestations: true });
    t.equal(img.manifests.length, 2);
    t.equal((await fetchFrom(reg, '/v2/team/app/manifests/latest', ACCEPT_ALL_MANIFESTS)).status, 401, 'anonymous reads are refused');
    await pushTags(reg, 'team/tags', ['a', 'b', 'c']);
    await deleteManifest(reg, 'team/app', img.digest);
    if (auth === 'token') {
      t.ok(reg.tokenServer!.requests.every((r) => r.user === 'alice' && r.status === 200));
    }
  });
}
