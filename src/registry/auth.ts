// Authorization for one (endpoint, repository, credential): answers the registry's challenge with Basic
// credentials, a registry token, or a bearer token from the realm (anonymous GET, GET with Basic, or OAuth2
// POST with an identity token), cached per registry+realm+service+scope+credential until expiry minus a margin.
// Credentials go only to the registry host itself, or to a token realm over HTTPS (or on the registry host).
import { createHash } from 'node:crypto';
import { findChallenge, parseChallenges, type Challenge } from './challenge.ts';
import { RegistryError, errorFromAnswer, redactUrl, type Operation } from './errors.ts';
import type { PullCredential } from './resolution.ts';
import { headerList, type Clock, type HttpResponse, type Result, type Transport } from './transport.ts';

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

/** A stable, non-reversible identity for a credential's secret material (cache keys, never logs). */
export function credentialIdentity(c: PullCredential | undefined): string {
  if (!c) return 'anonymous';
  const h = createHash('sha256');
  for (const part of [c.username ?? '', c.password ?? '', c.identityToken ?? '', c.registryToken ?? '']) h.update(`${part.length}:${part}`);
  return h.digest('hex').slice(0, 32);
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

export interface AuthDeps {
  clock: Clock;
  tokens: TokenCache;
}

export interface RequestContext {
  deadline?: number;
  signal?: AbortSignal;
}

/**
 * The authorization state of one attempt: a credential (or anonymous) against one endpoint and repository.
 * `header()` gives the Authorization value to send to the registry (undefined: send none).
 */
export class AuthSession {
  readonly credential: PullCredential | undefined;
  readonly #transport: Transport;
  readonly #deps: AuthDeps;
  readonly #ctx: RequestContext;
  readonly #scope: string;
  #challenges: Challenge[];
  #cacheKey: string | undefined;
  #fromCache = false;
  #retried = false;
  /** Set once the token endpoint accepted this credential (so a later 401 means "no access", not "wrong password"). */
  authenticated = false;
  /** Whether any Authorization header was produced. */
  sentCredentials = false;

  constructor(transport: Transport, repository: string, credential: PullCredential | undefined, challenges: Challenge[], deps: AuthDeps, ctx: RequestContext) {
    this.#transport = transport;
    this.credential = credential;
    this.#challenges = challenges;
    this.#deps = deps;
    this.#ctx = ctx;
    this.#scope = `repository:${repository}:pull`;
  }

  get challenged(): boolean {
    return this.#challenges.length > 0;
  }

  get challenges(): readonly Challenge[] {
    return this.#challenges;
  }

  async header(): Promise<Result<string | undefined>> {
    const bearer = findChallenge(this.#challenges, 'bearer');
    const basic = findChallenge(this.#challenges, 'basic');
    const c = this.credential;
    if (bearer) {
      if (c?.registryToken) {
        this.sentCredentials = true;
        return { ok: true, value: `Bearer ${c.registryToken}` };
      }
      return this.#bearer(bearer);
    }
    if (basic && c?.username && c.password !== undefined) {
      this.sentCredentials = true;
      return { ok: true, value: `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}` };
    }
    if (basic && c?.registryToken) {
      this.sentCredentials = true;
      return { ok: true, value: `Bearer ${c.registryToken}` };
    }
    return { ok: true, value: undefined };
  }

  /**
   * After a 401 from the registry: adopt a challenge it newly presents, or drop a cached token it refused.
   * True when one retry is worthwhile.
   */
  onUnauthorized(res: HttpResponse): boolean {
    if (this.#retried) return false;
    const fresh = parseChallenges(headerList(res.headers, 'www-authenticate'));
    const before = JSON.stringify(this.#challenges.map((c) => [c.scheme, c.params.realm, c.params.service]));
    const after = JSON.stringify(fresh.map((c) => [c.scheme, c.params.realm, c.params.service]));
    if (fresh.length > 0 && before !== after) {
      this.#challenges = fresh;
      this.#retried = true;
      // Retry only if we can now answer: a bearer token (even anonymous), or Basic with a password.
      const c = this.credential;
      return findChallenge(fresh, 'bearer') !== undefined || Boolean(c?.registryToken || (c?.username && c.password !== undefined));
    }
    if (this.#fromCache && this.#cacheKey) {
      this.#deps.tokens.delete(this.#cacheKey);
      this.#fromCache = false;
      this.#retried = true;
      return true;
    }
    return false;
  }

  async #bearer(challenge: Challenge): Promise<Result<string | undefined>> {
    const realmText = challenge.params.realm;
    let realm: URL;
    try {
      realm = new URL(realmText ?? '');
    } catch {
      return fail(`the registry's bearer challenge has no valid realm`, 'RegistryError');
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') return fail(`token realm ${redactUrl(realm.href)} is not http(s)`, 'RegistryError');
    const c = this.credential && hasUsableSecret(this.credential) ? this.credential : undefined;
    const registryHost = new URL(this.#transport.baseUrl).host;
    if (c && realm.protocol !== 'https:' && realm.host !== registryHost) {
      // containerd would send them; we do not send secrets in clear text to a third host, so we cannot tell.
      return fail(`refusing to send credentials to the plain-HTTP token realm ${redactUrl(realm.href)} (not the registry host)`, 'RegistryError');
    }
    const service = challenge.params.service;
    const scope = this.#scope;
    const key = [registryHost, realm.href, service ?? '', scope, credentialIdentity(c)].join('\n');
    this.#cacheKey = key;
    const now = this.#deps.clock();
    const cached = this.#deps.tokens.get(key, now);
    if (cached) {
      this.#fromCache = true;
      if (c) {
        this.authenticated = true;
        this.sentCredentials = true;
      }
      return { ok: true, value: cached };
    }
    const got = await this.#fetchToken(realm, service, scope, c);
    if (!got.ok) return got;
    if (c) {
      this.authenticated = true;
      this.sentCredentials = true;
    }
    const authorization = `Bearer ${got.value.token}`;
    this.#deps.tokens.set(key, authorization, this.#deps.clock() + tokenLifetimeMs(got.value.expiresIn));
    this.#fromCache = false;
    return { ok: true, value: authorization };
  }

  async #fetchToken(realm: URL, service: string | undefined, scope: string, c: PullCredential | undefined): Promise<Result<{ token: string; expiresIn: unknown }>> {
    const operation: Operation = 'token';
    const ctx = {
      ...(this.#ctx.deadline === undefined ? {} : { deadline: this.#ctx.deadline }),
      ...(this.#ctx.signal ? { signal: this.#ctx.signal } : {}),
    };
    let res: Result<HttpResponse>;
    let method: 'GET' | 'POST';
    if (c?.identityToken) {
      // OAuth2 refresh-token grant (docker config `identitytoken`), as `docker login` tokens are used.
      method = 'POST';
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: c.identityToken, client_id: CLIENT_ID, scope });
      if (service) form.set('service', service);
      res = await this.#transport.send({
        method,
        url: realm.href,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        operation,
        maxBytes: TOKEN_MAX_BYTES,
        ...ctx,
      });
    } else {
      method = 'GET';
      const url = new URL(realm.href);
      if (service) url.searchParams.set('service', service);
      url.searchParams.set('scope', scope);
      const headers: Record<string, string> = { accept: 'application/json' };
      if (c?.username && c.password !== undefined) {
        url.searchParams.set('account', c.username);
        headers.authorization = `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}`;
      }
      res = await this.#transport.send({ method, url: url.href, headers, operation, maxBytes: TOKEN_MAX_BYTES, ...ctx });
    }
    if (!res.ok) return res;
    const r = res.value;
    if (r.status !== 200) {
      const e = errorFromAnswer(r, { method, operation, now: this.#deps.clock() });
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
      return fail('the token endpoint answered 200 with a body that is not JSON', 'RegistryError', r.url);
    }
    const o = (json && typeof json === 'object' ? json : {}) as Record<string, unknown>;
    const token = typeof o.token === 'string' && o.token ? o.token : typeof o.access_token === 'string' && o.access_token ? o.access_token : undefined;
    if (!token || token.length > TOKEN_MAX_CHARS || /[\s\u0000-\u001f]/.test(token)) {
      return fail('the token endpoint answered 200 without a usable token', 'RegistryError', r.url);
    }
    return { ok: true, value: { token, expiresIn: o.expires_in } };
  }
}

function fail<T>(message: string, reason: 'RegistryError', url?: string): Result<T> {
  return { ok: false, error: new RegistryError(message, { reason, operation: 'token', temporary: false, ...(url ? { url } : {}) }) };
}
