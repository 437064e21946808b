// Manifest and platform inspection for one reference on one endpoint, under one sender (one credential): HEAD
// the manifest (GET when HEAD tells too little), then read the platforms only when the pod's candidate platforms
// need checking — from the platform cache, or with GETs the pull budget allows — and match them as containerd.
// When the platforms are to be checked and a GET costs no pull, the manifest is read by one GET, with no HEAD.
import { isDockerHub, manifestReference } from '../reference/reference.ts';
import type { RegistryDefaults } from './config.ts';
import { RegistryError } from './errors.ts';
import type { RegistryObserver, Result } from './exchange.ts';
import { MEDIA_TYPES, isImageConfig, manifestKind, parseConfigPlatform, parseIndex, parseManifest, type IndexEntry } from './manifest.ts';
import { notFound } from './not-found.ts';
import { done, failed, type Fields, type InspectRequest, type Inspection } from './outcome.ts';
import type { PlatformCache, OfferedPlatforms } from './platform-cache.ts';
import { formatPlatform, matchPlatforms } from '../reference/platform.ts';
import type { PullBudget } from './pull-budget.ts';
import { CONFIG_MAX_BYTES, getBlob, getManifest, headManifest, type RepositoryClient } from './repository.ts';
import type { Platform } from './resolution.ts';

/** Index children fetched to learn platforms the index does not state (rare; bounded). */
const MAX_CHILDREN_INSPECTED = 4;

export interface InspectDeps {
  defaults: RegistryDefaults;
  platforms: PlatformCache;
  budget: PullBudget;
  observer?: RegistryObserver;
}

const NOT_FOUND = new Set(['TagNotFound', 'DigestNotFound', 'RepositoryNotFound']);

export async function inspect(c: RepositoryClient, q: InspectRequest, deps: InspectDeps): Promise<Inspection> {
  const { ref } = q;
  const reference = manifestReference(ref);
  let digest: string | undefined;
  let mediaType: string | undefined;
  let body: Buffer | undefined;
  let remaining: number | undefined;
  const read = await readPlan(c, q, deps);
  if (read.get) {
    // The platform check reads this manifest anyway, and the GET answers the digest too (Docker-Content-Digest,
    // else the body's sha256): a HEAD first would be a request spent on nothing.
    const got = await getManifest(c, reference, deps.defaults.maxManifestBytes);
    if (!got.ok) return manifestMissing(got.error) ? notFound(c, q, got.error, deps.defaults) : failed(got.error);
    ({ digest, mediaType, body, rateLimitRemaining: remaining } = got.value);
    deps.budget.heard(c.host, remaining);
  } else {
    let head;
    try {
      head = await headManifest(c, reference);
      if (head.ok && head.value.answered) deps.budget.heard(c.host, head.value.rateLimitRemaining);
    } finally {
      read.answered();
    }
    if (!head.ok) return head.error.reason === 'TagNotFound' ? notFound(c, q, head.error, deps.defaults) : failed(head.error);
    ({ digest, mediaType, rateLimitRemaining: remaining } = head.value);
    if (!head.value.answered || manifestKind(mediaType) === 'unknown' || (!digest && !ref.digest)) {
      const got = await getManifest(c, reference, deps.defaults.maxManifestBytes);
      if (!got.ok) return got.error.reason === 'TagNotFound' ? notFound(c, q, got.error, deps.defaults) : failed(got.error);
      ({ digest, mediaType, body } = got.value);
    }
  }
  if (ref.digest && digest && digest !== ref.digest) return done('RegistryError', { detail: `${c.host} answered digest ${digest} for ${ref.digest}` });
  digest ??= ref.digest;
  if (!digest) return done('RegistryError', { detail: `${c.host} did not say which digest ${reference} has` });
  const base: Fields = { digest, ...(mediaType ? { mediaType } : {}) };
  const kind = manifestKind(mediaType);
  if (kind === 'schema1') {
    return done('UnsupportedManifest', { ...base, detail: `the image is a Docker schema 1 manifest (${mediaType}); containerd 2.x refuses schema 1 images, so the kubelet cannot pull it: rebuild and push it with a current builder` });
  }
  if (kind === 'unknown') return done('RegistryError', { ...base, detail: `unexpected manifest media type ${JSON.stringify(mediaType ?? '')} from ${c.host}` });
  if (q.platforms.length === 0) return done('Resolved', base);

  const key = platformKey(c, digest);
  if (remaining !== undefined) deps.budget.observe(c.host, remaining);
  // Reading an index we hold already, or one being read, costs no pull; otherwise the budget must allow the GET.
  if (!body && !deps.platforms.get(key) && !deps.platforms.reading(key) && remaining !== undefined) {
    const reserve = deps.defaults.pullBudgetReserve;
    const taken = deps.budget.take(c.host, reserve);
    if (!taken.ok) {
      try {
        deps.observer?.pullBudgetLow?.({ host: c.host, remaining: taken.remaining, reserve });
      } catch {
        // observers must not change a resolution
      }
      return done('PullBudgetLow', { ...base, detail: `${ref.canonical} resolves, but its platform was not checked: ${c.host} has ${taken.remaining} pulls left (reserve ${reserve}), and reading the platforms would spend one` });
    }
  }
  const offered = (body && kind === 'index' ? listedInHand(c, key, body, mediaType ?? '', deps.platforms) : undefined)
    ?? (await deps.platforms.read(key, (signal) => offeredPlatforms(signal ? { ...c, ctx: { ...c.ctx, signal } } : c, digest, kind, mediaType ?? '', body, deps.defaults), c.ctx.signal));
  if (!offered.ok) {
    // The reference resolved a moment ago: a 404 now (a replica behind, a missing child manifest) is a
    // contradiction, not a certain failure.
    if (NOT_FOUND.has(offered.error.reason)) {
      return done('RegistryError', { ...base, detail: `${c.host} resolved ${reference} but then answered ${offered.error.reason} for its content (${offered.error.message}); platform not checked` });
    }
    return failed(offered.error);
  }
  return matchOffered(offered.value, q.platforms, base);
}

function platformKey(c: RepositoryClient, digest: string): string {
  return `${c.baseUrl}/${c.repository}@${digest}`;
}

/** A manifest 404: a missing tag or digest, or (NAME_UNKNOWN) a missing repository; notFound says which. */
function manifestMissing(e: RegistryError): boolean {
  return e.reason === 'TagNotFound' || (e.status === 404 && e.hasCode('NAME_UNKNOWN'));
}

/**
 * Whether to GET the manifest without a HEAD first: only when the platforms are to be checked (the GET is needed
 * anyway), nothing cached already answers them (a digest whose platforms are known needs only the HEAD), and the
 * GET costs no pull. On Docker Hub a manifest GET counts as a pull and a HEAD does not, so Docker Hub and its
 * mirrors (a pull-through cache pulls from Hub on a miss) keep HEAD first, and so does any host until one of its
 * manifest answers has shown that it announces no pull budget (`ratelimit-remaining`, which Hub's relays pass on).
 */
async function readPlan(c: RepositoryClient, q: InspectRequest, deps: InspectDeps): Promise<{ get: true } | { get: false; answered: () => void }> {
  const head = { get: false, answered: () => {} } as const;
  if (q.platforms.length === 0) return head;
  if (isDockerHub(q.ref.registry) || isDockerHub(c.host)) return head;
  if (q.ref.digest) {
    const key = platformKey(c, q.ref.digest);
    if (deps.platforms.get(key) || deps.platforms.reading(key)) return head;
  }
  // A host not heard from yet: one HEAD asks (and learns), concurrent questions wait for its answer.
  for (let waited = false; ; waited = true) {
    const metered = deps.budget.metered(c.host);
    if (metered !== undefined) return metered ? head : { get: true };
    const probe = deps.budget.probing(c.host);
    if (!probe || waited) return { get: false, answered: deps.budget.probe(c.host) };
    await probe;
  }
}

function matchOffered(o: OfferedPlatforms, wanted: Platform[], base: Fields): Inspection {
  if (o.unsupported) return done('UnsupportedManifest', { ...base, detail: o.unsupported });
  const platforms = o.offered;
  if (platforms === undefined) return done('Resolved', { ...base, detail: 'the image config does not state a platform; platform not checked' });
  const match = matchPlatforms(wanted, platforms);
  const list = (ps: Platform[]): string => ps.map(formatPlatform).join(', ') || 'none';
  if (match.matched) {
    const partial = match.unsupported.length > 0 ? `no image for ${list(match.unsupported)} (the pod may be scheduled there)` : undefined;
    return done('Resolved', { ...base, platforms, matchedPlatform: match.matched.offered, ...(o.platformless ? { platformless: o.platformless } : {}), ...(partial ? { detail: partial } : {}) });
  }
  if (o.nested) return done('RegistryError', { ...base, platforms, detail: 'the index nests other indexes, which were not inspected; platform not checked' });
  if (o.skipped) return done('RegistryError', { ...base, platforms, detail: `the index has ${o.skipped} entries without a platform that were not inspected; platform not checked` });
  return done('PlatformMismatch', { ...base, platforms, ...(o.platformless ? { platformless: o.platformless } : {}), detail: `the image offers ${list(platforms)}; the pod may run on ${list(wanted)}` });
}

/** The platforms an index or manifest offers (undefined: the config does not say), or why it is unsupported. */
async function offeredPlatforms(c: RepositoryClient, digest: string, kind: 'index' | 'manifest', mediaType: string, body: Buffer | undefined, defaults: RegistryDefaults): Promise<Result<OfferedPlatforms>> {
  let bytes = body;
  if (!bytes) {
    const got = await getManifest(c, digest, defaults.maxManifestBytes);
    if (!got.ok) return got;
    bytes = got.value.body;
  }
  if (kind === 'manifest') {
    const single = await manifestPlatform(c, bytes, mediaType);
    if (!single.ok) return single;
    if (single.value.unsupported) return { ok: true, value: { nested: false, unsupported: single.value.unsupported } };
    if (single.value.platform === undefined) return { ok: true, value: { nested: false } };
    return { ok: true, value: { offered: [single.value.platform], nested: false } };
  }
  const listed = listedPlatforms(c, bytes, mediaType);
  if (!listed.ok) return listed;
  const { offered, unlabelled } = listed.value;
  for (const child of unlabelled) {
    const got = await getManifest(c, child.digest, defaults.maxManifestBytes);
    if (!got.ok) return got;
    const p = await manifestPlatform(c, got.value.body, got.value.mediaType ?? child.mediaType);
    if (!p.ok) return p;
    if (p.value.platform) offered.push(p.value.platform);
  }
  return { ok: true, value: listed.value.found };
}

/**
 * The platforms an index in hand offers, with no request (the GET that answered the digest brought it) and so
 * no shared read to wait on, when every entry states its platform. Undefined when a read is needed: an entry
 * without a platform (its config is fetched), a read of it already in flight, or a caller already gone.
 */
function listedInHand(c: RepositoryClient, key: string, body: Buffer, mediaType: string, platforms: PlatformCache): Result<OfferedPlatforms> | undefined {
  if (c.ctx.signal?.aborted || platforms.reading(key)) return undefined;
  const cached = platforms.get(key);
  if (cached) return { ok: true, value: cached };
  const listed = listedPlatforms(c, body, mediaType);
  if (!listed.ok) return listed;
  if (listed.value.unlabelled.length > 0) return undefined;
  platforms.keep(key, listed.value.found);
  return { ok: true, value: listed.value.found };
}

/**
 * What an index's own entries say: the platforms they state, and the entries without one whose config is read
 * (containerd reads them, so do we; a few at most). `found` holds `offered`, which the configs' platforms join.
 */
function listedPlatforms(c: RepositoryClient, bytes: Buffer, mediaType: string): Result<{ found: OfferedPlatforms; offered: Platform[]; unlabelled: IndexEntry[] }> {
  const index = parseIndex(bytes, mediaType);
  if (!index.ok) return { ok: false, error: new RegistryError(`the index from ${c.host} is malformed: ${index.problem}`, { reason: 'RegistryError', operation: 'manifest', temporary: false }) };
  const images = index.value.manifests.filter((m) => !m.attestation);
  const offered: Platform[] = images.flatMap((m) => (m.platform && manifestKind(m.mediaType || MEDIA_TYPES.ociManifest) !== 'index' ? [m.platform] : []));
  const nested = images.some((m) => manifestKind(m.mediaType) === 'index');
  const allUnlabelled = images.filter((m) => !m.platform && manifestKind(m.mediaType || MEDIA_TYPES.ociManifest) === 'manifest');
  const unlabelled: IndexEntry[] = allUnlabelled.slice(0, MAX_CHILDREN_INSPECTED);
  const skipped = allUnlabelled.length - unlabelled.length;
  // A Docker list entry without a platform decodes as an empty one, which containers/image never picks.
  const platformless = mediaType === MEDIA_TYPES.ociIndex ? allUnlabelled.length : 0;
  return { ok: true, value: { found: { offered, nested, ...(skipped ? { skipped } : {}), ...(platformless ? { platformless } : {}) }, offered, unlabelled } };
}

async function manifestPlatform(c: RepositoryClient, body: Buffer, mediaType: string): Promise<Result<{ platform?: Platform; unsupported?: string }>> {
  const m = parseManifest(body, mediaType);
  if (!m.ok) return { ok: false, error: new RegistryError(`malformed manifest: ${m.problem}`, { reason: 'RegistryError', operation: 'manifest', temporary: false }) };
  if (!isImageConfig(m.value.config.mediaType)) {
    return { ok: true, value: { unsupported: `not a container image: its config media type is ${JSON.stringify(m.value.config.mediaType)} (an OCI artifact such as a Helm chart or signature)` } };
  }
  const blob = await getBlob(c, m.value.config.digest, CONFIG_MAX_BYTES);
  if (!blob.ok) return blob;
  const p = parseConfigPlatform(blob.value);
  if (!p.ok) return { ok: false, error: new RegistryError(`malformed image config: ${p.problem}`, { reason: 'RegistryError', operation: 'blob', temporary: false }) };
  return { ok: true, value: p.value ? { platform: p.value } : {} };
}
