// Bearer tokens for registries (the Docker token protocol): fetched from the realm a registry's challenge names
// (anonymous GET, GET with Basic, or OAuth2 POST with an identity token), cached per
// registry+realm+service+scope+credential until expiry minus a margin, and fetched once for concurrent callers.
// Which host may receive which credential is decided by the authorizing sender (authorizing-sender.ts).
import { createHash } from 'node:crypto';
import { RegistryError, abandoned, errorFromAnswer, redactUrl, type Operation } from './errors.ts';
import type { HttpResponse, Result, Sender } from './exchange.ts';
import type { PullCredential } from './resolution.ts';
import { Singleflight } from './singleflight.ts';

/** Per the token spec, a token without `expires_in` lives 60 s. */
export const DEFAULT_TOKEN_TTL_SECONDS = 60;
const MAX_TOKEN_MARGIN_MS = 10_000;
const TOKEN_MAX_BYTES = 64 * 1024;
const TOKEN_MAX_CHARS = 32 * 1024;
const CLIENT_ID = 'pullguard';

/** A small bounded cache of bearer tokens; oldest entries go first when full. */
export class TokenCache {
  readonly #max: number;
  readonly #entries = new Map<string, { authorization: string; expiresAt: number }>();

  constructor(max = 1024) {
    this.#max = max;
  }

  get(key: string, now: number): string | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (now >= e.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.authorization;
  }

  set(key: string, authorization: string, expiresAt: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { authorization, expiresAt });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** Identities of frozen credentials (a mutable one could change after hashing). */
const identities = new WeakMap<PullCredential, string>();

/** A stable, non-reversible identity for a credential's secret material (cache keys, never logs). */
export function credentialIdentity(c: PullCredential | undefined): string {
  if (!c) return 'anonymous';
  // The keyring hands out one frozen object per credential: hash it once, not per cache key of every review.
  const known = identities.get(c);
  if (known !== undefined) return known;
  const h = createHash('sha256');
  for (const part of [c.username ?? '', c.password ?? '', c.identityToken ?? '', c.registryToken ?? '']) h.update(`${part.length}:${part}`);
  const id = h.digest('hex').slice(0, 32);
  if (Object.isFrozen(c)) identities.set(c, id);
  return id;
}

export function hasUsableSecret(c: PullCredential): boolean {
  return Boolean((c.username && c.password !== undefined) || c.identityToken || c.registryToken);
}

/** How long to trust a token: expires_in minus a margin (at most 10 s, at most half its life). */
export function tokenLifetimeMs(expiresInSeconds: unknown): number {
  const ttl = typeof expiresInSeconds === 'number' && Number.isFinite(expiresInSeconds) && expiresInSeconds > 0 ? expiresInSeconds : DEFAULT_TOKEN_TTL_SECONDS;
  const ms = ttl * 1000;
  return ms - Math.min(MAX_TOKEN_MARGIN_MS, ms / 2);
}

export interface TokenRequest {
  /** Where to ask (already checked by the caller: HTTPS, or the registry host itself). */
  realm: URL;
  service: string | undefined;
  scope: string;
  /** Undefined: an anonymous token. */
  credential: PullCredential | undefined;
  /** The registry host whose challenge named the realm (part of the cache key). */
  registryHost: string;
  deadline?: number;
  signal?: AbortSignal;
}

export interface Token {
  authorization: string;
  /** Served from the cache (a 401 with it means the token went stale, not that the credential is wrong). */
  cached: boolean;
  key: string;
}


/**
 * Tokens for every registry: one cache, and one in-flight fetch per cache key, so 50 concurrent lookups of tags in
 * one repository make one token request, not 50 requests carrying the same Basic credentials.
 */
export class TokenService {
  readonly #cache: TokenCache;
  readonly #clock: () => number;
  readonly #inflight = new Singleflight<Result<{ token: string; expiresIn: unknown }>>();

  constructor(clock: () => number, cache = new TokenCache()) {
    this.#clock = clock;
    this.#cache = cache;
  }

  static key(t: Pick<TokenRequest, 'registryHost' | 'realm' | 'service' | 'scope' | 'credential'>): string {
    return [t.registryHost, t.realm.href, t.service ?? '', t.scope, credentialIdentity(t.credential)].join('\n');
  }

  async get(sender: Sender, t: TokenRequest): Promise<Result<Token>> {
    const key = TokenService.key(t);
    const cached = this.#cache.get(key, this.#clock());
    if (cached) return { ok: true, value: { authorization: cached, cached: true, key } };
    // The deadline of the first caller bounds the shared fetch: callers of one review share near-identical ones.
    // A caller with a signal stops waiting when it fires; the fetch is aborted only when no caller waits.
    const got = await this.#inflight.share(key, (signal) => fetchToken(sender, t.signal ? { ...t, signal } : t, this.#clock), t.signal ? { signal: t.signal, gaveUp: () => ({ ok: false, error: abandoned('token') }) } : undefined).promise;
    if (!got.ok) return got;
    const authorization = `Bearer ${got.value.token}`;
    this.#cache.set(key, authorization, this.#clock() + tokenLifetimeMs(got.value.expiresIn));
    return { ok: true, value: { authorization, cached: false, key } };
  }

  forget(key: string): void {
    this.#cache.delete(key);
  }

  get size(): number {
    return this.#cache.size;
  }
}

async function fetchToken(sender: Sender, t: TokenRequest, clock: () => number): Promise<Result<{ token: string; expiresIn: unknown }>> {
  const operation: Operation = 'token';
  const c = t.credential;
  const ctx = { ...(t.deadline === undefined ? {} : { deadline: t.deadline }), ...(t.signal ? { signal: t.signal } : {}) };
  let res: Result<HttpResponse>;
  let method: 'GET' | 'POST';
  if (c?.identityToken) {
    // OAuth2 refresh-token grant (docker config `identitytoken`), as `docker login` tokens are used.
    method = 'POST';
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: c.identityToken, client_id: CLIENT_ID, scope: t.scope });
    if (t.service) form.set('service', t.service);
    res = await sender.send({
      method,
      url: t.realm.href,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      operation,
      maxBytes: TOKEN_MAX_BYTES,
      ...ctx,
    });
  } else {
    method = 'GET';
    const params: [string, string][] = t.service ? [['service', t.service], ['scope', t.scope]] : [['scope', t.scope]];
    const headers: Record<string, string> = { accept: 'application/json' };
    if (c?.username && c.password !== undefined) {
      params.push(['account', c.username]);
      headers.authorization = `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}`;
    }
    res = await sender.send({ method, url: tokenUrl(t.realm, params), headers, operation, maxBytes: TOKEN_MAX_BYTES, ...ctx });
  }
  if (!res.ok) return res;
  const r = res.value;
  const fromRegistryHost = t.realm.host === t.registryHost;
  if (r.status !== 200) {
    const e = errorFromAnswer(r, { method, operation, now: clock(), fromRegistryHost });
    if (r.status === 401 || r.status === 403) {
      const reason = c ? 'CredentialsRejected' : 'AuthRequired';
      const said = e.registryMessage();
      return {
        ok: false,
        error: new RegistryError(c ? `the token endpoint refused the credentials (${said})` : `the token endpoint refused an anonymous token (${said})`, {
          reason,
          status: r.status,
          codes: e.codes,
          url: r.url,
          method,
          operation,
          ...(e.serverText ? { serverText: e.serverText } : {}),
        }),
      };
    }
    return { ok: false, error: e };
  }
  let json: unknown;
  try {
    json = JSON.parse(r.body.toString('utf8'));
  } catch {
    return tokenFail('the token endpoint answered 200 with a body that is not JSON', r.url);
  }
  const o = (json && typeof json === 'object' ? json : {}) as Record<string, unknown>;
  const token = typeof o.token === 'string' && o.token ? o.token : typeof o.access_token === 'string' && o.access_token ? o.access_token : undefined;
  if (!token || token.length > TOKEN_MAX_CHARS || /[\s\u0000-\u001f]/.test(token)) {
    return tokenFail('the token endpoint answered 200 without a usable token', r.url);
  }
  return { ok: true, value: { token, expiresIn: o.expires_in } };
}

/**
 * The realm with the token request's parameters set, byte for byte as URLSearchParams.set writes them. A realm
 * with no query or fragment (auth.docker.io/token and most) gets them appended form-encoded, without parsing a
 * URL and re-serializing its query once per parameter; any other realm goes through URLSearchParams.
 */
export function tokenUrl(realm: URL, params: readonly (readonly [string, string])[]): string {
  const href = realm.href;
  if (!href.includes('?') && !href.includes('#')) {
    try {
      return `${href}?${params.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join('&')}`;
    } catch {
      // a lone surrogate: URLSearchParams writes U+FFFD where encodeURIComponent throws
    }
  }
  const url = new URL(href);
  for (const [k, v] of params) url.searchParams.set(k, v);
  return url.href;
}

/** application/x-www-form-urlencoded (WHATWG URL): only alphanumerics and *-._ stay, a space is +. Throws on a lone surrogate. */
function formEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()~]|%20/g, (m) => (m === '%20' ? '+' : `%${m.charCodeAt(0).toString(16).toUpperCase()}`));
}

export function tokenFail<T>(message: string, url?: string): Result<T> {
  return { ok: false, error: new RegistryError(message, { reason: 'RegistryError', operation: 'token', temporary: false, ...(url ? { url: redactUrl(url) } : {}) }) };
}
