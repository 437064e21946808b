// resolve(): one image reference against its registry (mirrors first), as the kubelet/containerd would pull it:
// authenticate with each credential in turn then anonymously, HEAD the manifest, read the platforms only when
// the pod's candidate platforms need checking, and classify every outcome into a reason code.
import { isDockerHub, manifestReference, registryEndpoint, type Reference } from '../reference/reference.ts';
import { AuthSession, TokenCache, hasUsableSecret } from './auth.ts';
import type { RegistryConfig, RegistryHostConfig } from './config.ts';
import { RegistryError } from './errors.ts';
import { MEDIA_TYPES, isImageConfig, manifestKind, parseConfigPlatform, parseIndex, parseManifest, type IndexEntry } from './manifest.ts';
import { CONFIG_MAX_BYTES, getBlob, getManifest, headManifest, listTags, type RepositoryClient } from './operations.ts';
import { PingCache } from './ping.ts';
import { formatPlatform, matchPlatforms } from './platform.ts';
import { resolution, type Platform, type PullCredential, type ReasonCode, type Resolution } from './resolution.ts';
import { suggestTags } from './suggest.ts';
import { Transport, type Clock, type EndpointSettings, type RegistryLogger, type RegistryObserver, type Result } from './transport.ts';
import type { ProxyEnv } from './proxy.ts';

export interface ResolveOptions {
  /** Candidate platforms the pod may run on; empty = any platform is fine (no platform check). */
  platforms: Platform[];
  /** Ordered; each tried in turn until one works, then anonymous last. */
  credentials: PullCredential[];
  /** Epoch ms (the client's clock); past it → RegistryTimeout. */
  deadline?: number;
  signal?: AbortSignal;
  /** Default true: on TagNotFound, list tags for the closest ones. */
  suggestTags?: boolean;
  /** Credentials come from a kubelet credential provider: a 401/403 with no working credential is unknown. */
  nodeCredentials?: boolean;
  /** The image as written in the spec, for Resolution.image; default the canonical reference. */
  image?: string;
}

export interface ResolverDeps {
  clock: Clock;
  env: ProxyEnv;
  observer?: RegistryObserver;
  logger?: RegistryLogger;
  readFile?: (path: string) => string;
}

/** What a mirror answers that ends the search: it had the manifest (containerd would pull from it). */
const MIRROR_FINAL: ReadonlySet<ReasonCode> = new Set(['Resolved', 'PlatformMismatch', 'UnsupportedManifest']);
const AUTH_REASONS: ReadonlySet<ReasonCode> = new Set(['AuthRequired', 'CredentialsRejected', 'AccessDenied']);
const NOT_FOUND: ReadonlySet<ReasonCode> = new Set(['TagNotFound', 'DigestNotFound', 'RepositoryNotFound']);
/** Index children fetched to learn platforms the index does not state (rare; bounded). */
const MAX_CHILDREN_INSPECTED = 4;
const PLATFORM_CACHE_MAX = 2048;
const MAX_TRANSPORTS = 256;

type Fields = Omit<Partial<Resolution>, 'verdict' | 'reason' | 'image' | 'credentialsTried' | 'credentialUsed'>;

/** An attempt either answers (any reason) or fails authentication, and the next credential is tried. */
type Attempt =
  | { kind: 'done'; reason: ReasonCode; fields: Fields }
  | { kind: 'auth'; error: RegistryError; category: 'rejected' | 'denied' | 'required'; credential: PullCredential | undefined };

interface Target {
  transport: Transport;
  host: string;
  mirror: boolean;
  query?: Record<string, string>;
}

interface Outcome {
  reason: ReasonCode;
  fields: Fields;
  credentialsTried: string[];
  credentialUsed?: string;
}

function done(reason: ReasonCode, fields: Fields = {}): Attempt {
  return { kind: 'done', reason, fields };
}

/** The Resolution fields carried by a RegistryError. */
export function errorFields(e: RegistryError): Fields {
  const f: Fields = { detail: e.message };
  if (e.status !== undefined) f.status = e.status;
  const said = e.registryMessage();
  if (said !== undefined && e.status !== undefined) f.registryMessage = said;
  if (e.unreachable) f.cause = e.unreachable;
  if (e.retryAfterSeconds !== undefined) f.retryAfterSeconds = e.retryAfterSeconds;
  return f;
}

export class Resolver {
  readonly #config: RegistryConfig;
  readonly #deps: ResolverDeps;
  readonly #transports = new Map<string, Transport>();
  readonly #pings: PingCache;
  readonly #tokens = new TokenCache();
  /** Platforms by endpoint+repository+digest: content-addressed, so never stale. */
  readonly #platforms = new Map<string, { offered: Platform[]; nested: boolean; skipped?: number; mediaType: string }>();

  constructor(config: RegistryConfig, deps: ResolverDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#pings = new PingCache(deps.clock);
  }

  #transport(settings: EndpointSettings): Transport {
    const key = JSON.stringify([settings.host, settings.plainHTTP, settings.caFile ?? '', settings.insecureSkipVerify, settings.maxConcurrency]);
    let t = this.#transports.get(key);
    if (t) {
      // Most recently used last, so the oldest is evicted first.
      this.#transports.delete(key);
      this.#transports.set(key, t);
    } else {
      if (this.#transports.size >= MAX_TRANSPORTS) {
        // Images may name any host: keep a bounded set. An evicted transport is not closed (a resolution may
        // still hold it); its idle keep-alive sockets time out on their own.
        this.#transports.delete(this.#transports.keys().next().value as string);
      }
      t = new Transport(settings, {
        clock: this.#deps.clock,
        env: this.#deps.env,
        requestTimeoutMs: this.#config.defaults.requestTimeoutMs,
        ...(this.#deps.observer ? { observer: this.#deps.observer } : {}),
        ...(this.#deps.logger ? { logger: this.#deps.logger } : {}),
        ...(this.#deps.readFile ? { readFile: this.#deps.readFile } : {}),
      });
      this.#transports.set(key, t);
    }
    return t;
  }

  async resolve(ref: Reference, opts: ResolveOptions): Promise<Resolution> {
    const image = opts.image ?? ref.canonical;
    const host: RegistryHostConfig = this.#config.registries[ref.registry] ?? {};
    const upstreamHost = registryEndpoint(ref.registry);
    const maxConcurrency = host.maxConcurrency ?? this.#config.defaults.maxConcurrency;
    const notes: string[] = [];
    for (const m of host.mirrors ?? []) {
      const transport = this.#transport({ host: m.host, plainHTTP: m.plainHTTP ?? false, ...(m.ca ? { caFile: m.ca } : {}), insecureSkipVerify: m.insecureSkipVerify ?? false, maxConcurrency });
      // Credentials belong to the upstream host; a mirror gets them only when it is that host.
      const sameHost = m.host === upstreamHost || m.host === ref.registry;
      const out = await this.#resolveAt({ transport, host: m.host, mirror: true, query: { ns: ref.registry } }, ref, { ...opts, credentials: sameHost ? opts.credentials : [] }, host);
      if (MIRROR_FINAL.has(out.reason)) {
        return this.#finish(image, ref, out, [...notes, `answered by mirror ${m.host}`]);
      }
      notes.push(`mirror ${m.host}: ${out.reason}${out.fields.status !== undefined ? ` (${out.fields.status})` : ''}${out.fields.cause ? ` (${out.fields.cause})` : ''}`);
    }
    const transport = this.#transport({ host: upstreamHost, plainHTTP: host.plainHTTP ?? false, ...(host.ca ? { caFile: host.ca } : {}), insecureSkipVerify: host.insecureSkipVerify ?? false, maxConcurrency });
    const out = await this.#resolveAt({ transport, host: upstreamHost, mirror: false }, ref, opts, host);
    return this.#finish(image, ref, out, notes.length > 0 ? [...notes, `answered by ${upstreamHost}`] : []);
  }

  #finish(image: string, ref: Reference, out: Outcome, notes: string[]): Resolution {
    const detail = [out.fields.detail, ...notes].filter((x): x is string => Boolean(x)).join('; ');
    return resolution(out.reason, image, {
      reference: ref.canonical,
      ...out.fields,
      ...(detail ? { detail } : {}),
      credentialsTried: out.credentialsTried,
      ...(out.credentialUsed !== undefined ? { credentialUsed: out.credentialUsed } : {}),
    });
  }

  async #resolveAt(target: Target, ref: Reference, opts: ResolveOptions, host: RegistryHostConfig): Promise<Outcome> {
    const ctx = { ...(opts.deadline === undefined ? {} : { deadline: opts.deadline }), ...(opts.signal ? { signal: opts.signal } : {}) };
    const ping = await this.#pings.ping(target.transport, ctx);
    if (!ping.ok) return { reason: ping.error.reason, fields: errorFields(ping.error), credentialsTried: [] };
    if (ping.value.status === 429 || ping.value.status >= 500) {
      const reason: ReasonCode = ping.value.status === 429 ? 'RateLimited' : 'RegistryError';
      return { reason, fields: { status: ping.value.status, registryMessage: String(ping.value.status), detail: `GET /v2/ on ${target.host} answered ${ping.value.status}` }, credentialsTried: [] };
    }
    let challenges = ping.value.challenges;
    const usable = opts.credentials.filter(hasUsableSecret);
    // Without a challenge nothing would be sent: go anonymous, and use credentials only if the registry asks.
    let queue: (PullCredential | undefined)[] = challenges.length > 0 ? [...usable, undefined] : [undefined];
    const tried: string[] = [];
    let notFound: Outcome | undefined;
    const failures: Extract<Attempt, { kind: 'auth' }>[] = [];
    while (queue.length > 0) {
      const credential = queue.shift();
      tried.push(credential?.source ?? 'anonymous');
      const session = new AuthSession(target.transport, ref.repository, credential, challenges, { clock: this.#deps.clock, tokens: this.#tokens }, ctx);
      const client: RepositoryClient = { transport: target.transport, repository: ref.repository, auth: session, ctx, clock: this.#deps.clock, ...(target.query ? { query: target.query } : {}) };
      const attempt = await this.#attempt(client, target, ref, opts);
      if (attempt.kind === 'done') {
        // Registries such as GitLab, Harbor and GHCR answer 404 to an account that may not see a private
        // repository; the kubelet tries the next credential on any error, so a not-found is final only at the end.
        if (NOT_FOUND.has(attempt.reason) && credential !== undefined && queue.length > 0) {
          notFound ??= { reason: attempt.reason, fields: attempt.fields, credentialsTried: [], credentialUsed: credential.source };
          continue;
        }
        return { reason: attempt.reason, fields: attempt.fields, credentialsTried: tried, credentialUsed: credential?.source ?? 'anonymous' };
      }
      failures.push(attempt);
      this.#deps.logger?.debug({ host: target.host, credential: credential?.source ?? 'anonymous', reason: attempt.error.reason, status: attempt.error.status }, 'registry refused a credential');
      if (challenges.length === 0 && session.challenged && credential === undefined && queue.length === 0) {
        // The ping said "no auth" but the repository asked for it: now the credentials are worth trying.
        challenges = [...session.challenges];
        queue = [...usable];
        this.#pings.forget(target.transport);
      }
    }
    // A credential saw "not found" and none after it did better: that answer stands.
    if (notFound) return { ...notFound, credentialsTried: tried };
    return { ...this.#authFailure(failures, ref, target, Boolean(opts.nodeCredentials || host.nodeCredentials), usable.length), credentialsTried: tried };
  }

  #authFailure(failures: Extract<Attempt, { kind: 'auth' }>[], ref: Reference, target: Target, nodeCredentials: boolean, credentialCount: number): Omit<Outcome, 'credentialsTried'> {
    const denied = failures.find((f) => f.category === 'denied' && f.credential);
    const rejected = failures.find((f) => f.category === 'rejected');
    const anonymousDenied = failures.find((f) => f.category === 'denied' && !f.credential);
    const chosen = denied ?? rejected ?? anonymousDenied ?? failures[failures.length - 1];
    const fields: Fields = chosen ? errorFields(chosen.error) : {};
    const repo = `${ref.registry}/${ref.repository}`;
    if (nodeCredentials) {
      return { reason: 'NodeCredentialsAssumed', fields: { ...fields, detail: `${target.host} refused our credentials for ${repo}; the nodes' kubelet credential provider supplies them, so the pull may still work` } };
    }
    if (denied) {
      return { reason: 'AccessDenied', fields: { ...fields, detail: `the credentials from ${denied.credential?.source} were accepted but do not allow pulling ${repo} (or the repository does not exist)` } };
    }
    if (rejected) {
      return { reason: 'CredentialsRejected', fields: { ...fields, detail: `${target.host} refused the credentials from ${rejected.credential?.source ?? 'the pull secret'} (wrong or expired username/password/token): ${rejected.error.message}` } };
    }
    if (anonymousDenied) {
      return { reason: 'AccessDenied', fields: { ...fields, detail: `${target.host} denied anonymous access to ${repo}` } };
    }
    const why = credentialCount === 0 ? 'no pull credential matched this image' : 'no credential was accepted';
    return {
      reason: 'AuthRequired',
      fields: { ...fields, detail: `${target.host} requires authentication for ${repo}: the repository is private or does not exist (registries such as Docker Hub answer 401 for both); ${why}` },
    };
  }

  /** Turns an operation's error into the attempt's outcome (auth failures move on to the next credential). */
  #fromError(e: RegistryError, session: AuthSession): Attempt {
    if (!AUTH_REASONS.has(e.reason)) return done(e.reason, errorFields(e));
    const credential = session.credential;
    let category: 'rejected' | 'denied' | 'required';
    if (e.reason === 'CredentialsRejected') category = 'rejected';
    else if (e.reason === 'AccessDenied') category = 'denied';
    else if (!credential) category = 'required';
    else if (session.authenticated) category = 'denied';
    else if (session.sentCredentials) category = 'rejected';
    else category = 'required';
    return { kind: 'auth', error: e, category, credential };
  }

  async #attempt(c: RepositoryClient, target: Target, ref: Reference, opts: ResolveOptions): Promise<Attempt> {
    const maxManifestBytes = this.#config.defaults.maxManifestBytes;
    const reference = manifestReference(ref);
    const head = await headManifest(c, reference);
    if (!head.ok) {
      if (head.error.reason === 'TagNotFound') return this.#notFound(c, target, ref, opts, head.error);
      return this.#fromError(head.error, c.auth);
    }
    let { digest, mediaType } = head.value;
    let body: Buffer | undefined;
    if (!head.value.answered || manifestKind(mediaType) === 'unknown' || (!digest && !ref.digest)) {
      const got = await getManifest(c, reference, maxManifestBytes);
      if (!got.ok) {
        if (got.error.reason === 'TagNotFound') return this.#notFound(c, target, ref, opts, got.error);
        return this.#fromError(got.error, c.auth);
      }
      ({ digest, mediaType, body } = got.value);
    }
    if (ref.digest && digest && digest !== ref.digest) {
      return done('RegistryError', { detail: `${target.host} answered digest ${digest} for ${ref.digest}` });
    }
    digest ??= ref.digest;
    if (!digest) return done('RegistryError', { detail: `${target.host} did not say which digest ${reference} has` });
    const base: Fields = { digest, ...(mediaType ? { mediaType } : {}) };
    const kind = manifestKind(mediaType);
    if (kind === 'schema1') {
      return done('UnsupportedManifest', { ...base, detail: `the image is a Docker schema 1 manifest (${mediaType}); containerd 2.x refuses schema 1 images, so the kubelet cannot pull it: rebuild and push it with a current builder` });
    }
    if (kind === 'unknown') {
      return done('RegistryError', { ...base, detail: `unexpected manifest media type ${JSON.stringify(mediaType ?? '')} from ${target.host}` });
    }
    if (opts.platforms.length === 0) return done('Resolved', base);

    const offered = await this.#offeredPlatforms(c, target, digest, kind, mediaType ?? '', body);
    if (!offered.ok) {
      // The reference resolved a moment ago: a 404 now (a replica behind, a missing child manifest) is a
      // contradiction, not a certain failure.
      if (NOT_FOUND.has(offered.error.reason)) {
        return done('RegistryError', { ...base, detail: `${target.host} resolved ${reference} but then answered ${offered.error.reason} for its content (${offered.error.message}); platform not checked` });
      }
      return this.#fromError(offered.error, c.auth);
    }
    if (offered.value.unsupported) return done('UnsupportedManifest', { ...base, detail: offered.value.unsupported });
    const platforms = offered.value.offered;
    if (platforms === undefined) return done('Resolved', { ...base, detail: 'the image config does not state a platform; platform not checked' });
    const match = matchPlatforms(opts.platforms, platforms);
    const list = (ps: Platform[]): string => ps.map(formatPlatform).join(', ') || 'none';
    if (match.matched) {
      const partial = match.unsupported.length > 0 ? `no image for ${list(match.unsupported)} (the pod may be scheduled there)` : undefined;
      return done('Resolved', { ...base, platforms, matchedPlatform: match.matched.offered, ...(partial ? { detail: partial } : {}) });
    }
    if (offered.value.nested) {
      return done('RegistryError', { ...base, platforms, detail: 'the index nests other indexes, which were not inspected; platform not checked' });
    }
    if (offered.value.skipped) {
      return done('RegistryError', { ...base, platforms, detail: `the index has ${offered.value.skipped} entries without a platform that were not inspected; platform not checked` });
    }
    return done('PlatformMismatch', { ...base, platforms, detail: `the image offers ${list(platforms)}; the pod may run on ${list(opts.platforms)}` });
  }

  /** The platforms an index or manifest offers (undefined: the config does not say), or why it is unsupported. */
  async #offeredPlatforms(
    c: RepositoryClient,
    target: Target,
    digest: string,
    kind: 'index' | 'manifest',
    mediaType: string,
    body: Buffer | undefined,
  ): Promise<Result<{ offered?: Platform[]; nested: boolean; skipped?: number; unsupported?: string }>> {
    const key = `${target.transport.baseUrl}/${c.repository}@${digest}`;
    const cached = this.#platforms.get(key);
    if (cached) return { ok: true, value: { offered: cached.offered, nested: cached.nested, ...(cached.skipped ? { skipped: cached.skipped } : {}) } };
    const maxManifestBytes = this.#config.defaults.maxManifestBytes;
    let bytes = body;
    if (!bytes) {
      const got = await getManifest(c, digest, maxManifestBytes);
      if (!got.ok) return got;
      bytes = got.value.body;
    }
    const remember = (offered: Platform[], nested: boolean, skipped = 0): void => {
      if (this.#platforms.size >= PLATFORM_CACHE_MAX) this.#platforms.delete(this.#platforms.keys().next().value as string);
      this.#platforms.set(key, { offered, nested, mediaType, ...(skipped ? { skipped } : {}) });
    };
    if (kind === 'manifest') {
      const single = await this.#manifestPlatform(c, bytes, mediaType);
      if (!single.ok) return single;
      if (single.value.unsupported) return { ok: true, value: { nested: false, unsupported: single.value.unsupported } };
      if (single.value.platform === undefined) return { ok: true, value: { nested: false } };
      remember([single.value.platform], false);
      return { ok: true, value: { offered: [single.value.platform], nested: false } };
    }
    const index = parseIndex(bytes, mediaType);
    if (!index.ok) return { ok: false, error: new RegistryError(`the index from ${target.host} is malformed: ${index.problem}`, { reason: 'RegistryError', operation: 'manifest', temporary: false }) };
    const images = index.value.manifests.filter((m) => !m.attestation);
    const offered: Platform[] = images.flatMap((m) => (m.platform && manifestKind(m.mediaType || MEDIA_TYPES.ociManifest) !== 'index' ? [m.platform] : []));
    const nested = images.some((m) => manifestKind(m.mediaType) === 'index');
    // Entries without a platform: containerd reads their config, so do we (a few at most).
    const allUnlabelled = images.filter((m) => !m.platform && manifestKind(m.mediaType || MEDIA_TYPES.ociManifest) === 'manifest');
    const unlabelled: IndexEntry[] = allUnlabelled.slice(0, MAX_CHILDREN_INSPECTED);
    const skipped = allUnlabelled.length - unlabelled.length;
    for (const child of unlabelled) {
      const got = await getManifest(c, child.digest, maxManifestBytes);
      if (!got.ok) return got;
      const p = await this.#manifestPlatform(c, got.value.body, got.value.mediaType ?? child.mediaType);
      if (!p.ok) return p;
      if (p.value.platform) offered.push(p.value.platform);
    }
    remember(offered, nested, skipped);
    return { ok: true, value: { offered, nested, ...(skipped ? { skipped } : {}) } };
  }

  async #manifestPlatform(c: RepositoryClient, body: Buffer, mediaType: string): Promise<Result<{ platform?: Platform; unsupported?: string }>> {
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

  /** A 404 for the manifest: missing tag/digest, or missing repository; with tag suggestions. */
  async #notFound(c: RepositoryClient, target: Target, ref: Reference, opts: ResolveOptions, first: RegistryError): Promise<Attempt> {
    const missing: ReasonCode = ref.digest ? 'DigestNotFound' : 'TagNotFound';
    let e = first;
    // A mirror's 404 only sends us on to the next host: no extra requests.
    if (target.mirror) return done(e.hasCode('NAME_UNKNOWN') ? 'RepositoryNotFound' : missing, errorFields(e));
    // HEAD carries no error body. Outside Docker Hub (where any manifest GET may count as a pull) ask GET for it.
    if (e.codes.length === 0 && e.method === 'HEAD' && !isDockerHub(ref.registry)) {
      const got = await getManifest(c, manifestReference(ref), ERROR_PROBE_BYTES);
      if (!got.ok && got.error.status === 404) e = got.error;
    }
    if (e.hasCode('NAME_UNKNOWN')) return done('RepositoryNotFound', { ...errorFields(e), detail: `the repository ${ref.registry}/${ref.repository} does not exist` });
    const wantTags = opts.suggestTags !== false && !ref.digest;
    // Whether the repository exists is still open when the registry gave no code, or for a digest (which
    // distribution reports as MANIFEST_UNKNOWN even in a repository that does not exist).
    const unsure = !e.hasCode('MANIFEST_UNKNOWN') || ref.digest !== undefined;
    let suggestions: string[] | undefined;
    if (wantTags || unsure) {
      const tags = await listTags(c, { maxPages: wantTags ? this.#config.defaults.maxTagPages : 1, pageSize: wantTags ? this.#config.defaults.tagPageSize : 1 });
      if (!tags.ok && tags.error.reason === 'RepositoryNotFound') {
        return done('RepositoryNotFound', { ...errorFields(tags.error), detail: `the repository ${ref.registry}/${ref.repository} does not exist` });
      }
      if (tags.ok && wantTags && ref.tag) suggestions = suggestTags(ref.tag, tags.value.tags);
    }
    const what = ref.digest ? `digest ${ref.digest}` : `tag ${JSON.stringify(ref.tag ?? 'latest')}`;
    return done(missing, { ...errorFields(e), detail: `${what} does not exist in ${ref.registry}/${ref.repository}`, ...(suggestions && suggestions.length > 0 ? { suggestions } : {}) });
  }

  async close(): Promise<void> {
    const all = [...this.#transports.values()];
    this.#transports.clear();
    await Promise.allSettled(all.map((t) => t.close()));
  }
}

/** Enough for an error body; a manifest this GET unexpectedly returns is not needed. */
const ERROR_PROBE_BYTES = 64 * 1024;
