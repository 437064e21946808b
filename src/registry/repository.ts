// The distribution API for one repository on one endpoint (go-containerregistry's remote): HEAD/GET a manifest,
// GET a (config) blob, list tags with Link pagination. It only sees a Sender (auth, redirects, retries and caps
// are below it). Manifest and tag requests follow redirects (registry.k8s.io answers both with a 307 to a
// regional backend); the digest, media type and size are read from the final answer. Bodies are size-capped and
// content-addressed answers verified against their digest. Non-2xx answers become RegistryErrors.
import { createHash } from 'node:crypto';
import { RegistryError, errorFromAnswer, parseRateLimitHeader, type Operation } from './errors.ts';
import { MANIFEST_ACCEPT, isDigest, manifestKind, mediaTypeOf, sniffMediaType } from './manifest.ts';
import { header, type Clock, type HttpRequest, type HttpResponse, type Result, type Sender } from './exchange.ts';

export interface RequestContext {
  deadline?: number;
  signal?: AbortSignal;
}

export interface RepositoryClient {
  sender: Sender;
  /** `https://host[:port]` of the endpoint. */
  baseUrl: string;
  /** `host[:port]` of the endpoint: text in answers from elsewhere is not quoted. */
  host: string;
  /** Repository path as the endpoint knows it (`library/nginx`). */
  repository: string;
  /** Extra query parameters on every request (`ns=docker.io` for mirrors, as containerd sends). */
  query?: Record<string, string>;
  /** API root path when not `/v2` (hosts.toml override_path). */
  apiRoot?: string;
  ctx: RequestContext;
  clock: Clock;
}

export interface ManifestHead {
  /** False when the registry does not do HEAD (405/501): ask with GET instead. */
  answered: boolean;
  digest?: string;
  mediaType?: string;
  size?: number;
  /** Docker Hub's `ratelimit-remaining`: pulls left before manifest GETs are refused. */
  rateLimitRemaining?: number;
}

export interface ManifestBody {
  digest: string;
  mediaType?: string;
  body: Buffer;
  /** Docker Hub's `ratelimit-remaining` (a GET spent one pull), when the answer says. */
  rateLimitRemaining?: number;
}

export const TAGS_PAGE_MAX_BYTES = 1024 * 1024;
export const CONFIG_MAX_BYTES = 1024 * 1024;
export const ERROR_MAX_BYTES = 64 * 1024;
export const MAX_TAGS = 10_000;

function url(c: RepositoryClient, path: string, params: Record<string, string> = {}): string {
  const u = new URL(`${c.baseUrl}${c.apiRoot ?? '/v2'}/${c.repository}/${path}`);
  for (const [k, v] of Object.entries({ ...params, ...(c.query ?? {}) })) u.searchParams.set(k, v);
  return u.href;
}

function send(c: RepositoryClient, req: Omit<HttpRequest, 'deadline' | 'signal'>): Promise<Result<HttpResponse>> {
  return c.sender.send({
    ...req,
    ...(c.ctx.deadline === undefined ? {} : { deadline: c.ctx.deadline }),
    ...(c.ctx.signal ? { signal: c.ctx.signal } : {}),
  });
}

function answerError(c: RepositoryClient, res: HttpResponse, method: string, operation: Operation): Result<never> {
  let fromRegistryHost = false;
  try {
    fromRegistryHost = new URL(res.url).host === c.host;
  } catch {
    // an unparseable URL is not the registry's
  }
  return { ok: false, error: errorFromAnswer(res, { method, operation, now: c.clock(), fromRegistryHost }) };
}

function badAnswer(message: string, res: HttpResponse, method: string, operation: Operation): Result<never> {
  return { ok: false, error: new RegistryError(message, { reason: 'RegistryError', status: res.status, url: res.url, method, operation, temporary: false }) };
}

/** Digest of `body` with the algorithm of `like` (sha256/sha512); undefined for other algorithms. */
export function digestOf(body: Buffer, like: string): string | undefined {
  const algorithm = like.split(':')[0];
  if (algorithm !== 'sha256' && algorithm !== 'sha512') return undefined;
  return `${algorithm}:${createHash(algorithm).update(body).digest('hex')}`;
}

export async function headManifest(c: RepositoryClient, reference: string): Promise<Result<ManifestHead>> {
  const res = await send(c, { method: 'HEAD', url: url(c, `manifests/${reference}`), headers: { accept: MANIFEST_ACCEPT }, operation: 'manifest', maxBytes: ERROR_MAX_BYTES, followRedirects: true });
  if (!res.ok) return res;
  const r = res.value;
  if (r.status === 405 || r.status === 501) return { ok: true, value: { answered: false } };
  if (r.status < 200 || r.status > 299) return answerError(c, r, 'HEAD', 'manifest');
  const head: ManifestHead = { answered: true };
  const digest = header(r.headers, 'docker-content-digest')?.trim();
  if (isDigest(digest)) head.digest = digest;
  const mediaType = mediaTypeOf(header(r.headers, 'content-type'));
  if (mediaType) head.mediaType = mediaType;
  const size = Number(header(r.headers, 'content-length'));
  if (Number.isSafeInteger(size) && size >= 0) head.size = size;
  const remaining = parseRateLimitHeader(header(r.headers, 'ratelimit-remaining'));
  if (remaining !== undefined) head.rateLimitRemaining = remaining;
  return { ok: true, value: head };
}

export async function getManifest(c: RepositoryClient, reference: string, maxBytes: number): Promise<Result<ManifestBody>> {
  const res = await send(c, { method: 'GET', url: url(c, `manifests/${reference}`), headers: { accept: MANIFEST_ACCEPT }, operation: 'manifest', maxBytes, followRedirects: true });
  if (!res.ok) return res;
  const r = res.value;
  if (r.status < 200 || r.status > 299) return answerError(c, r, 'GET', 'manifest');
  let mediaType = mediaTypeOf(header(r.headers, 'content-type'));
  if (manifestKind(mediaType) === 'unknown') mediaType = sniffMediaType(r.body) ?? mediaType;
  const declared = header(r.headers, 'docker-content-digest')?.trim();
  const byDigest = isDigest(reference) ? reference : undefined;
  // Schema1 signed manifests are addressed by their payload without signatures: do not hash the body.
  const verifiable = manifestKind(mediaType) !== 'schema1';
  let digest = byDigest ?? (isDigest(declared) ? declared : undefined);
  if (verifiable) {
    const actual = digestOf(r.body, digest ?? 'sha256:');
    if (actual && digest && actual !== digest) return badAnswer(`manifest content does not match its digest ${digest} (got ${actual})`, r, 'GET', 'manifest');
    digest ??= actual;
  }
  if (!digest) return badAnswer('the registry sent a manifest without a digest', r, 'GET', 'manifest');
  const remaining = parseRateLimitHeader(header(r.headers, 'ratelimit-remaining'));
  return { ok: true, value: { digest, ...(mediaType ? { mediaType } : {}), body: r.body, ...(remaining !== undefined ? { rateLimitRemaining: remaining } : {}) } };
}

/** A blob (the image config), verified against its digest. Redirects to storage are followed without auth. */
export async function getBlob(c: RepositoryClient, digest: string, maxBytes: number): Promise<Result<Buffer>> {
  const res = await send(c, { method: 'GET', url: url(c, `blobs/${digest}`), operation: 'blob', maxBytes, followRedirects: true });
  if (!res.ok) return res;
  const r = res.value;
  if (r.status < 200 || r.status > 299) return answerError(c, r, 'GET', 'blob');
  const actual = digestOf(r.body, digest);
  if (actual && actual !== digest) return badAnswer(`blob content does not match its digest ${digest}`, r, 'GET', 'blob');
  return { ok: true, value: r.body };
}

export interface TagList {
  tags: string[];
  /** More existed than we read (page or tag cap). */
  truncated: boolean;
  pages: number;
}

/** The next-page URL from a Link header, only when it stays on the same origin. */
export function nextLink(linkHeader: string | undefined, current: string): string | undefined {
  if (!linkHeader) return undefined;
  for (const part of linkHeader.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (!m || !/;\s*rel\s*=\s*"?next"?/i.test(m[2] ?? '')) continue;
    try {
      const next = new URL(m[1] ?? '', current);
      return next.origin === new URL(current).origin ? next.href : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Lists tags following Link pagination, at most `maxPages` pages and MAX_TAGS tags. */
export async function listTags(c: RepositoryClient, opts: { maxPages: number; pageSize: number }): Promise<Result<TagList>> {
  const tags: string[] = [];
  let next: string | undefined = url(c, 'tags/list', { n: String(opts.pageSize) });
  let pages = 0;
  while (next && pages < opts.maxPages && tags.length < MAX_TAGS) {
    const res = await send(c, { method: 'GET', url: next, headers: { accept: 'application/json' }, operation: 'tags', maxBytes: TAGS_PAGE_MAX_BYTES, followRedirects: true });
    if (!res.ok) return res;
    const r = res.value;
    if (r.status < 200 || r.status > 299) return answerError(c, r, 'GET', 'tags');
    pages++;
    let json: unknown;
    try {
      json = JSON.parse(r.body.toString('utf8'));
    } catch {
      return badAnswer('tags/list answered with a body that is not JSON', r, 'GET', 'tags');
    }
    const list = (json as { tags?: unknown } | null)?.tags;
    if (list !== null && list !== undefined && !Array.isArray(list)) return badAnswer('tags/list answered without a "tags" array', r, 'GET', 'tags');
    for (const t of list ?? []) if (typeof t === 'string' && tags.length < MAX_TAGS) tags.push(t);
    // Mirrors' query (ns=) must ride along on every page.
    const link = nextLink(header(r.headers, 'link'), r.url);
    next = link && c.query ? withQuery(link, c.query) : link;
  }
  return { ok: true, value: { tags, truncated: next !== undefined, pages } };
}

function withQuery(u: string, q: Record<string, string>): string {
  const x = new URL(u);
  for (const [k, v] of Object.entries(q)) x.searchParams.set(k, v);
  return x.href;
}
