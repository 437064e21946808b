// An in-process token server speaking Docker Hub's protocol
// (https://distribution.github.io/distribution/spec/auth/token/ and .../oauth/):
// GET realm?service=&scope= with optional Basic auth, and POST realm (OAuth2 password / refresh_token grants).
// Tokens are JWTs that the real registry verifies (see token-signer.ts). Every request is logged.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readBody, sendJson, startLoopbackServer } from './loopback-server.ts';
import { makeTokenSigner, newJti, type KeyReference, type TokenAccess, type TokenSigner } from './token-signer.ts';

export interface TestUser {
  username: string;
  password: string;
}

/** Which of the requested actions on a repository to grant; `user` is undefined for anonymous requests. */
export type AccessPolicy = (user: string | undefined, repository: string, requested: string[]) => string[];

/** Users may pull, push and delete anywhere; anonymous callers may pull repositories under `public/`. */
export const defaultAccess: AccessPolicy = (user, repository) => {
  if (user !== undefined) return ['pull', 'push', 'delete', '*'];
  return repository.startsWith('public/') ? ['pull'] : [];
};

export interface TokenRequestLog {
  method: 'GET' | 'POST';
  /** Scopes as requested, one per resource: `repository:team/app:pull,push`. */
  scopes: string[];
  service: string | undefined;
  /** The user the token was issued to; undefined when anonymous or refused. */
  user: string | undefined;
  /** POST only: `password`, `refresh_token`, or whatever was sent. */
  grantType: string | undefined;
  clientId: string | undefined;
  /** Whether a refresh token was asked for (GET offline_token=true, POST access_type=offline). */
  offline: boolean;
  /** The Authorization scheme that came with the request (`basic`, `bearer`), if any. */
  authScheme: string | undefined;
  status: number;
  granted: TokenAccess[];
}

export interface TokenServerOptions {
  service: string;
  issuer: string;
  users: TestUser[];
  access?: AccessPolicy;
  ttlSeconds?: number;
  tls?: boolean;
  keyReference?: KeyReference;
  /** Current time in ms; lets a test issue tokens that are already expired. */
  clock?: () => number;
  /** Refuse requests whose `service` is missing or not ours (400), as a strict token server does. Default true. */
  requireService?: boolean;
}

export interface TokenServer {
  url: string;
  /** `${url}/token`, what the registry's challenge names. */
  realm: string;
  service: string;
  issuer: string;
  requests: TokenRequestLog[];
  signer: TokenSigner;
  /** Issue a token directly, without a request (not logged). */
  mint(user: string | undefined, access: TokenAccess[], opts?: { ttlSeconds?: number; issuedAt?: number; keyReference?: KeyReference }): string;
  stop(): Promise<void>;
}

interface ParsedScope {
  raw: string;
  type: string;
  name: string;
  actions: string[];
}

/** `type:name:actions`; the name may itself hold colons (`repository:host:5000/app:pull`). */
export function parseScope(raw: string): ParsedScope | undefined {
  const first = raw.indexOf(':');
  const last = raw.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const actions = raw.slice(last + 1).split(',').filter((a) => a !== '');
  return { raw, type: raw.slice(0, first), name: raw.slice(first + 1, last), actions };
}

function scopeString(access: TokenAccess): string {
  return `${access.type}:${access.name}:${access.actions.join(',')}`;
}

function parseBasic(header: string | undefined): TestUser | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const signer = await makeTokenSigner();
  const access = opts.access ?? defaultAccess;
  const ttlSeconds = opts.ttlSeconds ?? 300;
  const clock = opts.clock ?? Date.now;
  const requireService = opts.requireService ?? true;
  const requests: TokenRequestLog[] = [];
  const refreshTokens = new Map<string, string>();

  const checkUser = (u: TestUser): boolean => opts.users.some((x) => x.username === u.username && x.password === u.password);

  const grant = (user: string | undefined, scopes: ParsedScope[]): TokenAccess[] =>
    scopes.map((s) => {
      const allowed = s.type === 'repository' ? access(user, s.name, s.actions) : [];
      return { type: s.type, name: s.name, actions: s.actions.filter((a) => allowed.includes(a)) };
    });

  const mint: TokenServer['mint'] = (user, granted, o = {}) => {
    const iat = o.issuedAt ?? Math.floor(clock() / 1000);
    const ttl = o.ttlSeconds ?? ttlSeconds;
    return signer.sign(
      { iss: opts.issuer, sub: user ?? '', aud: opts.service, exp: iat + ttl, nbf: iat, iat, jti: newJti(), access: granted },
      o.keyReference ?? opts.keyReference,
    );
  };

  const issue = (user: string | undefined, granted: TokenAccess[]) => {
    const iat = Math.floor(clock() / 1000);
    return { token: mint(user, granted, { issuedAt: iat }), expires_in: ttlSeconds, issued_at: new Date(iat * 1000).toISOString() };
  };

  const newRefreshToken = (user: string): string => {
    const token = randomBytes(24).toString('base64url');
    refreshTokens.set(token, user);
    return token;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    const log: TokenRequestLog = {
      method: req.method === 'POST' ? 'POST' : 'GET',
      scopes: [],
      service: undefined,
      user: undefined,
      grantType: undefined,
      clientId: undefined,
      offline: false,
      authScheme: /^(\S+)\s/.exec(req.headers.authorization ?? '')?.[1]?.toLowerCase(),
      status: 0,
      granted: [],
    };
    const reply = (status: number, body: unknown): void => {
      log.status = status;
      requests.push(log);
      sendJson(res, status, body);
    };
    if (url.pathname !== '/token' || (req.method !== 'GET' && req.method !== 'POST')) {
      reply(404, { errors: [{ code: 'NOT_FOUND', message: 'no such endpoint' }] });
      return;
    }

    let params: URLSearchParams;
    if (req.method === 'POST') {
      params = new URLSearchParams((await readBody(req, 64 * 1024)).toString('utf8'));
    } else {
      params = url.searchParams;
    }
    // Several `scope` parameters, each possibly holding several space-separated scopes.
    log.scopes = params.getAll('scope').flatMap((s) => s.split(' ')).filter((s) => s !== '');
    log.service = params.get('service') ?? undefined;
    log.clientId = params.get('client_id') ?? undefined;
    const scopes = log.scopes.map(parseScope);
    if (scopes.some((s) => s === undefined)) {
      reply(400, { errors: [{ code: 'INVALID_REQUEST', message: 'malformed scope' }] });
      return;
    }
    if (requireService && log.service !== opts.service) {
      reply(400, { errors: [{ code: 'INVALID_REQUEST', message: `unknown service ${JSON.stringify(log.service ?? '')}` }] });
      return;
    }

    if (req.method === 'GET') {
      log.offline = params.get('offline_token') === 'true';
      let user: string | undefined;
      if (req.headers.authorization !== undefined && /^basic\s/i.test(req.headers.authorization)) {
        const creds = parseBasic(req.headers.authorization);
        // Docker Hub answers a bad password on GET with `details`.
        if (!creds || !checkUser(creds)) {
          reply(401, { details: 'incorrect username or password' });
          return;
        }
        user = creds.username;
      }
      log.user = user;
      log.granted = grant(user, scopes as ParsedScope[]);
      const issued = issue(user, log.granted);
      reply(200, {
        token: issued.token,
        access_token: issued.token,
        expires_in: issued.expires_in,
        issued_at: issued.issued_at,
        ...(log.offline && user !== undefined ? { refresh_token: newRefreshToken(user) } : {}),
      });
      return;
    }

    log.grantType = params.get('grant_type') ?? undefined;
    log.offline = params.get('access_type') === 'offline';
    if (log.clientId === undefined || log.clientId === '') {
      reply(400, { errors: [{ code: 'INVALID_REQUEST', message: 'client_id required' }] });
      return;
    }
    let user: string;
    if (log.grantType === 'password') {
      const creds = { username: params.get('username') ?? '', password: params.get('password') ?? '' };
      if (!checkUser(creds)) {
        reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] });
        return;
      }
      user = creds.username;
    } else if (log.grantType === 'refresh_token') {
      const owner = refreshTokens.get(params.get('refresh_token') ?? '');
      if (owner === undefined) {
        reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'invalid refresh token' }] });
        return;
      }
      user = owner;
    } else {
      reply(400, { errors: [{ code: 'UNSUPPORTED', message: `unsupported grant_type ${JSON.stringify(log.grantType ?? '')}` }] });
      return;
    }
    log.user = user;
    log.granted = grant(user, scopes as ParsedScope[]);
    const issued = issue(user, log.granted);
    reply(200, {
      access_token: issued.token,
      expires_in: issued.expires_in,
      issued_at: issued.issued_at,
      scope: log.granted.filter((a) => a.actions.length > 0).map(scopeString).join(' '),
      ...(log.offline ? { refresh_token: log.grantType === 'refresh_token' ? params.get('refresh_token') : newRefreshToken(user) } : {}),
    });
  };

  const server = await startLoopbackServer(
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { errors: [{ code: 'UNKNOWN', message: String(err) }] });
        else res.destroy();
      });
    },
    { tls: opts.tls ?? true },
  );

  return {
    url: server.url,
    realm: `${server.url}/token`,
    service: opts.service,
    issuer: opts.issuer,
    requests,
    signer,
    mint,
    stop: () => server.stop(),
  };
}
