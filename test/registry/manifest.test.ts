// Manifest parsing is total: registry bytes give a typed value or a problem, never a throw.
import t from 'tap';
import { MANIFEST_ACCEPT, MEDIA_TYPES, isAttestation, manifestKind, mediaTypeOf, parseConfigPlatform, parseIndex, parseManifest, sniffMediaType } from '../../src/registry/manifest.ts';

const D = `sha256:${'a'.repeat(64)}`;
const b = (x: unknown): Buffer => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x));

t.test('the Accept list names every manifest type containerd knows, schema1 included', async (t) => {
  for (const m of [MEDIA_TYPES.ociIndex, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerList, MEDIA_TYPES.dockerManifest, MEDIA_TYPES.dockerSchema1, MEDIA_TYPES.dockerSchema1Signed]) {
    t.ok(MANIFEST_ACCEPT.includes(m), m);
  }
});

t.test('media types are read without parameters and classified', async (t) => {
  t.equal(mediaTypeOf('application/vnd.oci.image.index.v1+json; charset=utf-8'), MEDIA_TYPES.ociIndex);
  t.equal(manifestKind(MEDIA_TYPES.dockerList), 'index');
  t.equal(manifestKind(MEDIA_TYPES.dockerManifest), 'manifest');
  t.equal(manifestKind(MEDIA_TYPES.dockerSchema1Signed), 'schema1');
  t.equal(manifestKind('application/json'), 'unknown');
  t.equal(manifestKind(undefined), 'unknown');
});

t.test('an index with platforms and buildkit attestations', async (t) => {
  const idx = parseIndex(
    b({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: [
        { mediaType: MEDIA_TYPES.ociManifest, digest: D, size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
        { mediaType: MEDIA_TYPES.ociManifest, digest: D, size: 1, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
        { mediaType: MEDIA_TYPES.ociManifest, digest: D, size: 1, platform: { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1' } },
      ],
    }),
    MEDIA_TYPES.ociIndex,
  );
  if (!idx.ok) throw new Error(idx.problem);
  t.same(idx.value.manifests.map((m) => m.attestation), [false, true, false]);
  t.same(idx.value.manifests[2]?.platform, { os: 'windows', architecture: 'amd64', osVersion: '10.0.17763.1' });
  t.ok(isAttestation({ mediaType: '', digest: D, size: 1, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } }), 'the annotation alone marks an attestation');
});

t.test('malformed indexes and manifests are problems, not crashes', async (t) => {
  const bad = ['', 'null', '[]', '{', '{"manifests": 5}', '{"manifests": [{"digest": "nope"}]}', '{"manifests": [null]}', '"string"'];
  for (const x of bad) t.notOk(parseIndex(b(x), MEDIA_TYPES.ociIndex).ok, `index ${x}`);
  for (const x of ['', '{}', '{"config": {"digest": 1}}', '{"config": null}']) t.notOk(parseManifest(b(x), MEDIA_TYPES.ociManifest).ok, `manifest ${x}`);
  const ok = parseManifest(b({ config: { mediaType: MEDIA_TYPES.ociConfig, digest: D, size: 2 }, layers: [{}, {}] }), MEDIA_TYPES.ociManifest);
  t.ok(ok.ok);
  if (ok.ok) t.equal(ok.value.layers, 2);
});

t.test('the image config gives the platform, normalised; missing fields give none', async (t) => {
  const p = parseConfigPlatform(b({ os: 'linux', architecture: 'aarch64', variant: 'v8' }));
  t.same(p.ok && p.value, { os: 'linux', architecture: 'arm64' });
  const none = parseConfigPlatform(b({ config: {} }));
  t.ok(none.ok);
  if (none.ok) t.equal(none.value, undefined);
  t.notOk(parseConfigPlatform(b('garbage')).ok);
});

t.test('a body can say what it is when the content type does not', async (t) => {
  t.equal(sniffMediaType(b({ schemaVersion: 1, name: 'x' })), MEDIA_TYPES.dockerSchema1);
  t.equal(sniffMediaType(b({ schemaVersion: 2, manifests: [] })), MEDIA_TYPES.ociIndex);
  t.equal(sniffMediaType(b({ schemaVersion: 2, config: {} })), MEDIA_TYPES.ociManifest);
  t.equal(sniffMediaType(b({ mediaType: MEDIA_TYPES.dockerList })), MEDIA_TYPES.dockerList);
  t.equal(sniffMediaType(b('<html>')), undefined);
});
