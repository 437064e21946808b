// Pushes small but real images into a TestRegistry through the registry HTTP API (undici only):
// single manifests, OCI indexes and Docker manifest lists, buildkit-style attestations, schema1.
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Agent, request, type Dispatcher } from 'undici';
import type { Platform } from '../../src/registry/resolution.ts';
import type { TestRegistry } from './registry.ts';
import { base64url, libtrustKeyId } from './token-signer.ts';

export type PushFormat = 'oci' | 'docker';

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  schema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  schema1: 'application/vnd.docker.distribution.manifest.v1+json',
  inToto: 'application/vnd.in-toto+json',
} as const;

/** An Accept header naming every manifest type, as a modern client sends. */
export const ACCEPT_ALL_MANIFESTS = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerList,
  MEDIA_TYPES.dockerManifest,
  MEDIA_TYPES.schema1Signed,
].join(', ');

export interface PushOptions {
  repository: string;
  /** Default 'latest'. */
  tag?: string;
  /**
   * One platform and index false: a single manifest whose config blob carries os/architecture/variant.
   * Otherwise an index (OCI image index / Docker manifest list) with one manifest per platform.
   */
  platforms: Platform[];
  /** Default 'oci'. */
  format?: PushFormat;
  /** Force an index even for one platform. */
  index?: boolean;
  /** Add a buildkit-style attestation manifest (platform unknown/unknown) per platform to the index. */
  attestations?: boolean;
  /** Push a schema1 signed manifest (one platform; the registry must be started with schema1: true). */
  schema1?: boolean;
  /** Goes into every config blob, so digests differ between pushes. Default `${repository}:${tag}`. */
  seed?: string;
  /** Annotations on the index (or single manifest). */
  annotations?: Record<string, string>;
}

export interface PushedManifest {
  platform?: Platform;
  digest: string;
  mediaType: string;
  configDigest?: string;
}

export interface PushedImage {
  /** Digest of what the tag points at (index, manifest, or the schema1 canonical payload). */
  digest: string;
  mediaType: string;
  /** The image manifests, one per platform in order (for a single manifest: itself). No attestations. */
  manifests: PushedManifest[];
  /** Attestation manifests in the index, each naming the image manifest it describes. */
  attestations: { digest: string; refersTo: string }[];
  repository: string;
  tag: string;
  /** `HOST/REPOSITORY:TAG`. */
  reference: string;
  /** The exact bytes pushed under the tag. */
  body: string;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** One regular file in a ustar archive. */
function tarFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string): void => void header.write(value, offset, length, 'latin1');
  field(0, 100, name);
  field(100, 8, '0000644\0');
  field(108, 8, '0000000\0');
  field(116, 8, '0000000\0');
  field(124, 12, `${content.length.toString(8).padStart(11, '0')}\0`);
  field(136, 12, '00000000000\0');
  field(148, 8, '        ');
  field(156, 1, '0');
  field(257, 8, 'ustar\u000000');
  let sum = 0;
  for (const b of header) sum += b;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  const padded = Buffer.alloc(Math.ceil(content.length / 512) * 512);
  content.copy(padded);
  return Buffer.concat([header, padded, Buffer.alloc(1024)]);
}

const LAYER_TAR = tarFile('hello.txt', Buffer.from('pullguard test layer\n'));
const LAYER = gzipSync(LAYER_TAR);
const CREATED = '2024-01-01T00:00:00Z';

function platformJson(p: Platform): Record<string, string> {
  return {
    architecture: p.architecture,
    os: p.os,
    ...(p.variant !== undefined ? { variant: p.variant } : {}),
    ...(p.osVersion !== undefined ? { 'os.version': p.osVersion } : {}),
  };
}

// --- talking to the registry -------------------------------------------------------------------------

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** An authenticated conversation with one registry; close() when done. */
export interface RegistrySession {
  /** The registry's base URL; relative paths are resolved against it. */
  url: string;
  request(method: string, path: string, opts?: { headers?: Record<string, string>; body?: Buffer | string; repository?: string; actions?: string[] }): Promise<Response>;
  close(): Promise<void>;
}

/** Talks to `reg` as reg.pushCredentials: Basic, or a bearer token from its token server. */
export function openSession(reg: TestRegistry): RegistrySession {
  const agent = new Agent({ connect: { ca: reg.caPem } });
  const tokens = new Map<string, string>();
  const creds = reg.pushCredentials;
  const basic = creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` : undefined;

  const authorization = async (repository: string | undefined, actions: string[]): Promise<string | undefined> => {
    if (reg.auth === 'basic') return basic;
    if (reg.auth !== 'token' || !reg.tokenServer) return undefined;
    const scope = repository ? `repository:${repository}:${actions.join(',')}` : '';
    const cached = tokens.get(scope);
    if (cached) return cached;
    const url = new URL(reg.tokenServer.realm);
    url.searchParams.set('service', reg.tokenServer.service);
    if (scope) url.searchParams.set('scope', scope);
    const res = await request(url, { dispatcher: agent, headers: basic ? { authorization: basic } : {} });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`token server refused ${scope}: ${res.statusCode} ${text}`);
    const value = `Bearer ${(JSON.parse(text) as { token: string }).token}`;
    tokens.set(scope, value);
    return value;
  };

  return {
    url: reg.url,
    async request(method, path, opts = {}) {
      const auth = await authorization(opts.repository, opts.actions ?? ['pull', 'push']);
      const res = await request(new URL(path, reg.url), {
        method: method as Dispatcher.HttpMethod,
        dispatcher: agent,
        headers: { ...(auth ? { authorization: auth } : {}), ...opts.headers },
        ...(opts.body !== undefined ? { body: opts.body } : {}),
      });
      const body = Buffer.from(await res.body.arrayBuffer());
      return { status: res.statusCode, headers: res.headers, body };
    },
    close: () => agent.close(),
  };
}

function fail(what: string, res: Response): never {
  throw new Error(`${what}: ${res.status} ${res.body.toString('utf8').slice(0, 500)}`);
}

async function pushBlob(s: RegistrySession, repository: string, data: Buffer): Promise<string> {
  const digest = sha256Digest(data);
  const head = await s.request('HEAD', `/v2/${repository}/blobs/${digest}`, { repository });
  if (head.status === 200) return digest;
  const start = await s.request('POST', `/v2/${repository}/blobs/uploads/`, { repository });
  if (start.status !== 202) fail(`start upload to ${repository}`, start);
  // Location may be absolute or relative, and already carries query state (_state) to keep.
  const location = new URL(String(start.headers.location), s.url);
  location.searchParams.set('digest', digest);
  const put = await s.request('PUT', location.href, {
    repository,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
    body: data,
  });
  if (put.status !== 201) fail(`upload ${digest} to ${repository}`, put);
  return digest;
}

async function putManifest(s: RegistrySession, repository: string, reference: string, mediaType: string, body: string): Promise<string> {
  const res = await s.request('PUT', `/v2/${repository}/manifests/${reference}`, { repository, headers: { 'content-type': mediaType }, body });
  if (res.status !== 201) fail(`put manifest ${repository}:${reference} (${mediaType})`, res);
  return String(res.headers['docker-content-digest'] ?? sha256Digest(body));
}

// --- building images ---------------------------------------------------------------------------------

async function pushPlatformManifest(s: RegistrySession, repository: string, platform: Platform, format: PushFormat, seed: string, annotations?: Record<string, string>): Promise<Descriptor & { configDigest: string; body: string }> {
  const layerDigest = await pushBlob(s, repository, LAYER);
  const config = Buffer.from(
    JSON.stringify({
      ...platformJson(platform),
      created: CREATED,
      config: { Cmd: ['/hello'], Labels: { 'org.pullguard.test.seed': seed } },
      rootfs: { type: 'layers', diff_ids: [sha256Digest(LAYER_TAR)] },
      history: [{ created: CREATED, created_by: 'pullguard test harness' }],
    }),
  );
  const configDigest = await pushBlob(s, repository, config);
  const oci = format === 'oci';
  const mediaType = oci ? MEDIA_TYPES.ociManifest : MEDIA_TYPES.dockerManifest;
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType,
    config: { mediaType: oci ? MEDIA_TYPES.ociConfig : MEDIA_TYPES.dockerConfig, digest: configDigest, size: config.length },
    layers: [{ mediaType: oci ? MEDIA_TYPES.ociLayer : MEDIA_TYPES.dockerLayer, digest: layerDigest, size: LAYER.length }],
    ...(annotations && oci ? { annotations } : {}),
  });
  const digest = sha256Digest(body);
  return { mediaType, digest, size: Buffer.byteLength(body), platform: platformJson(platform), configDigest, body };
}

/** A buildkit-style provenance attestation for `subject`, as buildx pushes it beside each image manifest. */
async function pushAttestation(s: RegistrySession, repository: string, subject: string): Promise<Descriptor> {
  const statement = Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType: 'https://slsa.dev/provenance/v0.2',
      subject: [{ name: `pkg:docker/${repository}`, digest: { sha256: subject.slice('sha256:'.length) } }],
      predicate: { builder: { id: 'pullguard-test-harness' } },
    }),
  );
  const layerDigest = await pushBlob(s, repository, statement);
  const config = Buffer.from(JSON.stringify({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [layerDigest] } }));
  const configDigest = await pushBlob(s, repository, config);
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: MEDIA_TYPES.ociConfig, digest: configDigest, size: config.length },
    layers: [{ mediaType: MEDIA_TYPES.inToto, digest: layerDigest, size: statement.length, annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } }],
  });
  const digest = await putManifest(s, repository, sha256Digest(body), MEDIA_TYPES.ociManifest, body);
  return {
    mediaType: MEDIA_TYPES.ociManifest,
    digest,
    size: Buffer.byteLength(body),
    platform: { architecture: 'unknown', os: 'unknown' },
    annotations: { 'vnd.docker.reference.digest': subject, 'vnd.docker.reference.type': 'attestation-manifest' },
  };
}

export async function pushImage(reg: TestRegistry, opts: PushOptions): Promise<PushedImage> {
  const { repository } = opts;
  const tag = opts.tag ?? 'latest';
  const format = opts.format ?? 'oci';
  const seed = opts.seed ?? `${repository}:${tag}`;
  if (opts.platforms.length === 0) throw new Error('pushImage: at least one platform');
  const s = openSession(reg);
  try {
    const base = { repository, tag, reference: `${reg.host}/${repository}:${tag}` };
    if (opts.schema1) return { ...base, ...(await pushSchema1(s, reg, repository, tag, opts.platforms, seed)) };

    const useIndex = opts.index === true || opts.attestations === true || opts.platforms.length > 1;
    if (!useIndex) {
      const m = await pushPlatformManifest(s, repository, opts.platforms[0]!, format, seed, opts.annotations);
      const digest = await putManifest(s, repository, tag, m.mediaType, m.body);
      return { ...base, digest, mediaType: m.mediaType, manifests: [{ platform: opts.platforms[0]!, digest, mediaType: m.mediaType, configDigest: m.configDigest }], attestations: [], body: m.body };
    }

    const manifests: PushedManifest[] = [];
    const attestations: PushedImage['attestations'] = [];
    const images: Descriptor[] = [];
    const extra: Descriptor[] = [];
    for (const platform of opts.platforms) {
      const m = await pushPlatformManifest(s, repository, platform, format, seed);
      const digest = await putManifest(s, repository, m.digest, m.mediaType, m.body);
      images.push({ mediaType: m.mediaType, digest, size: m.size, platform: m.platform! });
      manifests.push({ platform, digest, mediaType: m.mediaType, configDigest: m.configDigest });
      if (opts.attestations) {
        const a = await pushAttestation(s, repository, digest);
        extra.push(a);
        attestations.push({ digest: a.digest, refersTo: digest });
      }
    }
    const mediaType = format === 'oci' ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.dockerList;
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: [...images, ...extra],
      ...(opts.annotations && format === 'oci' ? { annotations: opts.annotations } : {}),
    });
    const digest = await putManifest(s, repository, tag, mediaType, body);
    return { ...base, digest, mediaType, manifests, attestations, body };
  } finally {
    await s.close();
  }
}

/** Pushes one small linux/amd64 image under tags[0], then the same manifest under every other tag. */
export async function pushTags(reg: TestRegistry, repository: string, tags: string[], opts: { concurrency?: number } = {}): Promise<PushedImage> {
  if (tags.length === 0) throw new Error('pushTags: no tags');
  const first = await pushImage(reg, { repository, tag: tags[0]!, platforms: [{ os: 'linux', architecture: 'amd64' }], seed: repository });
  const s = openSession(reg);
  try {
    const rest = tags.slice(1);
    const workers = Array.from({ length: Math.min(opts.concurrency ?? 8, rest.length) }, async () => {
      for (let tag = rest.shift(); tag !== undefined; tag = rest.shift()) await putManifest(s, repository, tag, first.mediaType, first.body);
    });
    await Promise.all(workers);
  } finally {
    await s.close();
  }
  return first;
}

/** Deletes a manifest by digest (distribution 2.8 cannot delete by tag); its tags go with it. */
export async function deleteManifest(reg: TestRegistry, repository: string, digest: string): Promise<void> {
  const s = openSession(reg);
  try {
    const res = await s.request('DELETE', `/v2/${repository}/manifests/${digest}`, { repository, actions: ['delete'] });
    if (res.status !== 202) fail(`delete ${repository}@${digest}`, res);
  } finally {
    await s.close();
  }
}

// --- schema1 -----------------------------------------------------------------------------------------

/**
 * A schema1 manifest signed the libtrust way (github.com/docker/libtrust jsonsign.go): the payload is the
 * manifest JSON; the protected header records how long it is (formatLength) and what follows its last
 * member (formatTail), so the verifier can cut the `signatures` member back out of the pretty JSON.
 */
export function signSchema1(manifest: Record<string, unknown>, key: KeyObject, publicKey: KeyObject): string {
  const payload = JSON.stringify(manifest, null, 3);
  const closing = payload.lastIndexOf('}');
  const formatLength = payload.slice(0, closing).trimEnd().length;
  const formatTail = payload.slice(formatLength);
  const protectedHeader = base64url(JSON.stringify({ formatLength, formatTail: base64url(formatTail), time: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }));
  const signature = sign('sha256', Buffer.from(`${protectedHeader}.${base64url(payload)}`), { key, dsaEncoding: 'ieee-p1363' });
  const jwk = publicKey.export({ format: 'jwk' });
  const block = {
    header: { jwk: { crv: jwk.crv, kid: libtrustKeyId(publicKey), kty: jwk.kty, x: jwk.x, y: jwk.y }, alg: 'ES256' },
    signature: base64url(signature),
    protected: protectedHeader,
  };
  const signatures = JSON.stringify([block], null, 3).replace(/\n/g, '\n   ');
  return `${payload.slice(0, formatLength)},\n   "signatures": ${signatures}${formatTail}`;
}

async function pushSchema1(s: RegistrySession, reg: TestRegistry, repository: string, tag: string, platforms: Platform[], seed: string): Promise<Omit<PushedImage, 'repository' | 'tag' | 'reference'>> {
  if (!reg.schema1) throw new Error('pushImage schema1: start the registry with { schema1: true } (distribution 2.8 refuses schema1 otherwise)');
  if (platforms.length !== 1) throw new Error('pushImage schema1: exactly one platform (schema1 has no index)');
  const platform = platforms[0]!;
  const layerDigest = await pushBlob(s, repository, LAYER);
  const v1 = {
    id: createHash('sha256').update(seed).digest('hex'),
    created: CREATED,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant !== undefined ? { variant: platform.variant } : {}),
    config: { Cmd: ['/hello'], Labels: { 'org.pullguard.test.seed': seed } },
  };
  const manifest = {
    schemaVersion: 1,
    name: repository,
    tag,
    architecture: platform.architecture,
    fsLayers: [{ blobSum: layerDigest }],
    history: [{ v1Compatibility: JSON.stringify(v1) }],
  };
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const body = signSchema1(manifest, privateKey, publicKey);
  const digest = await putManifest(s, repository, tag, MEDIA_TYPES.schema1Signed, body);
  return { digest, mediaType: MEDIA_TYPES.schema1Signed, manifests: [{ platform, digest, mediaType: MEDIA_TYPES.schema1Signed }], attestations: [], body };
}
