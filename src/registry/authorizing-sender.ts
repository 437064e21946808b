// The authorizing sender for ONE registry host and one credential (or anonymous): it owns the challenge → token
// → retry loop, as go-containerregistry's bearer transport does, so the distribution API never sees a 401 it
// could answer. The credential belongs to the host the keyring key names (the CRI's AuthConfig.ServerAddress):
// - requests to any other host (a redirect target, a next page elsewhere) go out without Authorization;
// - a challenge from any other host is never answered; a redirect target that demands authentication is a
//   RegistryError (unknown), never a denial;
// - a token realm on another host is used only when the registry host's own challenge names it, and only over
//   HTTPS (auth.docker.io for Docker Hub), and never on an internal address the config does not allow.
import type { BlockList } from 'node:net';
import { findChallenge, parseChallenges, type Challenge } from './challenge.ts';
import { RegistryError, redactUrl } from './errors.ts';
import { err, headerList, type HttpRequest, type HttpResponse, type Result, type Sender } from './exchange.ts';
import { hasUsableSecret, tokenFail, type TokenService } from './auth.ts';
import { refuseInternal } from './network-policy.ts';
import type { PullCredential } from './resolution.ts';

export interface AuthorizingSenderOptions {
  /** `host[:port]` of the registry endpoint the credential is for. */
  host: string;
  repository: string;
  credential: PullCredential | undefined;
  /** What GET /v2/ said (may be empty: the registry asked for nothing there). */
  challenges: readonly Challenge[];
  tokens: TokenService;
  /** The endpoint is plain HTTP by configuration: an anonymous plain-HTTP realm is no downgrade there. */
  plainHTTP: boolean;
  /** Internal hosts the registry config allows as token realms. */
  allowedHosts?: readonly string[];
  internalNetworks?: BlockList;
}

// The last URL asked about: a request's URL and its answer's (the same string, after no redirect) are asked in turn.
let lastUrl: string | undefined;
let lastHost: string | undefined;

function hostOf(url: string): string | undefined {
  if (url === lastUrl) return lastHost;
  let host: string | undefined;
  try {
    host = new URL(url).host;
  } catch {
    host = undefined;
  }
  lastUrl = url;
  lastHost = host;
  return host;
}

export class AuthorizingSender implements Sender {
  readonly credential: PullCredential | undefined;
  readonly #inner: Sender;
  readonly #opts: AuthorizingSenderOptions;
  readonly #scope: string;
  #challenges: Challenge[];
  #tokenKey: string | undefined;
  #fromCache = false;
  /** Set once the token endpoint accepted this credential (so a later 401 means "no access", not "wrong password"). */
  authenticated = false;
  /** Whether any Authorization header was produced. */
  sentCredentials = false;

  constructor(inner: Sender, opts: AuthorizingSenderOptions) {
    this.#inner = inner;
    this.#opts = opts;
    this.credential = opts.credential;
    this.#challenges = [...opts.challenges];
    this.#scope = `repository:${opts.repository}:pull`;
  }

  get challenged(): boolean {
    return this.#challenges.length > 0;
  }

  get challenges(): readonly Challenge[] {
    return this.#challenges;
  }

  async send(req: HttpRequest): Promise<Result<HttpResponse>> {
    // Never authorize a request to another host, whatever asked for it.
    if (hostOf(req.url) !== this.#opts.host) return this.#foreign(await this.#inner.send(req));
    let retried = false;
    for (;;) {
      const auth = await this.#header(req);
      if (!auth.ok) return auth;
      const res = await this.#inner.send({ ...req, headers: { ...(req.headers ?? {}), ...(auth.value ? { authorization: auth.value } : {}) } });
      if (!res.ok) return res;
      const r = res.value;
      if (hostOf(r.url) !== this.#opts.host) return this.#foreign(res);
      if (r.status === 401 && !retried && this.#onUnauthorized(r)) {
        retried = true;
        continue;
      }
      return res;
    }
  }

  /** An answer from another host: a demand for authentication there is unknown, never answered, never a denial. */
  #foreign(res: Result<HttpResponse>): Result<HttpResponse> {
    if (!res.ok || (res.value.status !== 401 && res.value.status !== 403 && res.value.status !== 407)) return res;
    const r = res.value;
    return err(
      new RegistryError(`${hostOf(r.url) ?? 'another host'} (reached by redirect from ${this.#opts.host}) answered ${r.status}; credentials for ${this.#opts.host} are never sent to another host`, {
        reason: 'RegistryError',
        status: r.status,
        url: r.url,
        temporary: false,
        errorCode: 'FOREIGN_AUTH',
      }),
    );
  }

  async #header(req: HttpRequest): Promise<Result<string | undefined>> {
    const bearer = findChallenge(this.#challenges, 'bearer');
    const basic = findChallenge(this.#challenges, 'basic');
    const c = this.credential;
    if (bearer) {
      if (c?.registryToken) {
        this.sentCredentials = true;
        return { ok: true, value: `Bearer ${c.registryToken}` };
      }
      return this.#bearer(bearer, req);
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

  /** After a 401 from the registry host itself: adopt a challenge it newly presents, or drop a stale cached token. */
  #onUnauthorized(res: HttpResponse): boolean {
    const fresh = parseChallenges(headerList(res.headers, 'www-authenticate'));
    const before = JSON.stringify(this.#challenges.map((c) => [c.scheme, c.params.realm, c.params.service]));
    const after = JSON.stringify(fresh.map((c) => [c.scheme, c.params.realm, c.params.service]));
    if (fresh.length > 0 && before !== after) {
      this.#challenges = fresh;
      // Retry only if we can now answer: a bearer token (even anonymous), or Basic with a password.
      const c = this.credential;
      return findChallenge(fresh, 'bearer') !== undefined || Boolean(c?.registryToken || (c?.username && c.password !== undefined));
    }
    if (this.#fromCache && this.#tokenKey) {
      this.#opts.tokens.forget(this.#tokenKey);
      this.#fromCache = false;
      return true;
    }
    return false;
  }

  async #bearer(challenge: Challenge, req: HttpRequest): Promise<Result<string | undefined>> {
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm ?? '');
    } catch {
      return tokenFail(`the registry's bearer challenge has no valid realm`);
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') return tokenFail(`token realm ${redactUrl(realm.href)} is not http(s)`);
    const registryHost = this.#opts.host;
    const c = this.credential && hasUsableSecret(this.credential) ? this.credential : undefined;
    if (realm.host !== registryHost) {
      // containerd would follow a plain-HTTP realm; we send nothing in clear text to a third host, so we cannot tell.
      if (realm.protocol !== 'https:' && c) return tokenFail(`refusing to send credentials to the plain-HTTP token realm ${redactUrl(realm.href)} (not the registry host ${registryHost})`);
      if (realm.protocol !== 'https:' && !this.#opts.plainHTTP) return tokenFail(`refusing the plain-HTTP token realm ${redactUrl(realm.href)} named by the HTTPS registry ${registryHost}`);
      const internal = refuseInternal(realm, {
        origin: registryHost,
        ...(this.#opts.allowedHosts ? { allowedHosts: this.#opts.allowedHosts } : {}),
        ...(this.#opts.internalNetworks ? { internalNetworks: this.#opts.internalNetworks } : {}),
      });
      if (internal) return tokenFail(`refusing the token realm ${redactUrl(realm.href)}: ${internal}`);
    }
    const got = await this.#opts.tokens.get(this.#inner, {
      realm,
      service: challenge.params.service,
      scope: this.#scope,
      credential: c,
      registryHost,
      ...(req.deadline === undefined ? {} : { deadline: req.deadline }),
      ...(req.signal ? { signal: req.signal } : {}),
    });
    if (!got.ok) return got;
    this.#tokenKey = got.value.key;
    this.#fromCache = got.value.cached;
    if (c) {
      this.authenticated = true;
      this.sentCredentials = true;
    }
    return { ok: true, value: got.value.authorization };
  }
}
