// One error type for everything that goes wrong talking to a registry (like go-containerregistry's
// transport/error.go): the HTTP status, the registry's diagnostic codes, our reason code, the redacted URL.
// Network failures are classified from undici/system error codes, never from message text.
import type { RegistryOutcome, UnreachableCause } from './resolution.ts';

/** One entry of the registry's `{"errors":[{code,message,detail}]}` body. */
export interface Diagnostic {
  code: string;
  message?: string;
}

export type Operation = 'ping' | 'token' | 'manifest' | 'tags' | 'blob';

export interface RegistryErrorInit {
  reason: RegistryOutcome;
  status?: number;
  codes?: Diagnostic[];
  url?: string;
  method?: string;
  operation?: Operation;
  cause?: UnreachableCause;
  /** Seconds from Retry-After, for 429/503. */
  retryAfterSeconds?: number;
  /** The underlying error's code (`ECONNREFUSED`, `UND_ERR_HEADERS_TIMEOUT`), for logs. */
  errorCode?: string;
  /** What the server said when not in distribution's error format (token servers' `details`). */
  serverText?: string;
  temporary?: boolean;
}

export class RegistryError extends Error {
  override name = 'RegistryError';
  readonly reason: RegistryOutcome;
  readonly status: number | undefined;
  readonly codes: Diagnostic[];
  /** Redacted: no userinfo, no token-like query values. */
  readonly url: string | undefined;
  readonly method: string | undefined;
  readonly operation: Operation | undefined;
  readonly unreachable: UnreachableCause | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly errorCode: string | undefined;
  readonly serverText: string | undefined;
  /** Whether trying again later may succeed (5xx, 429, timeouts, network). */
  readonly temporary: boolean;

  constructor(message: string, init: RegistryErrorInit) {
    super(message);
    this.reason = init.reason;
    this.status = init.status;
    this.codes = init.codes ?? [];
    this.url = init.url === undefined ? undefined : redactUrl(init.url);
    this.method = init.method;
    this.operation = init.operation;
    this.unreachable = init.cause;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.errorCode = init.errorCode;
    this.serverText = init.serverText;
    this.temporary = init.temporary ?? isTemporary(init.reason, init.status);
  }

  hasCode(code: string): boolean {
    return this.codes.some((c) => c.code === code);
  }

  /** What the registry said, e.g. `404 MANIFEST_UNKNOWN: manifest unknown`; undefined when it said nothing. */
  registryMessage(): string | undefined {
    if (this.status === undefined) return undefined;
    const first = this.codes[0];
    if (!first) return this.serverText ? `${this.status}: ${this.serverText}` : String(this.status);
    return first.message ? `${this.status} ${first.code}: ${first.message}` : `${this.status} ${first.code}`;
  }
}

function isTemporary(reason: RegistryOutcome, status: number | undefined): boolean {
  if (reason === 'RateLimited' || reason === 'RegistryTimeout' || reason === 'RegistryUnreachable') return true;
  return status !== undefined && status >= 500;
}

const MAX_CODES = 8;
const MAX_CODE_CHARS = 64;
const MAX_MESSAGE_CHARS = 300;

/** Reads the distribution error body leniently; anything else gives no codes. */
/** A caller stopped waiting for a shared request (its review's deadline passed): unknown for that caller. */
export function abandoned(operation: Operation): RegistryError {
  return new RegistryError('the review deadline was reached before the registry answered', { reason: 'RegistryTimeout', operation, errorCode: 'DEADLINE' });
}

export function parseDiagnostics(body: Buffer | string | undefined): Diagnostic[] {
  if (body === undefined || body.length === 0) return [];
  let json: unknown;
  try {
    json = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    return [];
  }
  const errors = (json as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return [];
  const out: Diagnostic[] = [];
  for (const e of errors.slice(0, MAX_CODES)) {
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(code)) continue;
    const message = (e as { message?: unknown }).message;
    const d: Diagnostic = { code: code.slice(0, MAX_CODE_CHARS).toUpperCase() };
    if (typeof message === 'string' && message) d.message = sanitizeText(message, MAX_MESSAGE_CHARS);
    out.push(d);
  }
  return out;
}

/** Free text from a non-distribution error body: `{"details":…}`, OAuth2 `error_description`, `message`. */
export function parseServerText(body: Buffer | undefined): string | undefined {
  if (!body || body.length === 0) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!json || typeof json !== 'object') return undefined;
  const o = json as Record<string, unknown>;
  for (const k of ['details', 'error_description', 'message', 'error']) {
    const v = o[k];
    if (typeof v === 'string' && v.trim()) return sanitizeText(v, MAX_MESSAGE_CHARS);
  }
  return undefined;
}

/** One line, printable, bounded: registry text goes into logs and admission messages. */
export function sanitizeText(s: string, max: number): string {
  const clean = s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

// `account` too: the token request names the user, and some set-ups use a token as the user name.
const SECRET_PARAM = /token|sig|signature|secret|password|passwd|credential|key|auth|code|session|account|user/i;

/** A URL safe to log: no userinfo, token-like query values replaced. Unparseable input is dropped. */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '<unparseable url>';
  }
  u.username = '';
  u.password = '';
  for (const name of [...new Set(u.searchParams.keys())]) {
    if (SECRET_PARAM.test(name)) u.searchParams.set(name, 'REDACTED');
  }
  return u.toString();
}

export interface NetworkClassification {
  reason: 'RegistryUnreachable' | 'RegistryTimeout' | 'RegistryError';
  cause?: UnreachableCause;
  code?: string;
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'HOSTNAME_MISMATCH',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', 'ESOCKETTIMEDOUT']);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_NONAME', 'EAI_FAIL']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED', 'UND_ERR_CLOSED', 'HPE_INVALID_CONSTANT', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH']);
const NETWORK_CODES = new Set(['ENETUNREACH', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL', 'ENONET']);
const PROXY_CODES = new Set(['UND_ERR_PRX_TLS', 'UND_ERR_SOCKS5', 'ERR_PROXY_CONNECTION']);
const BAD_RESPONSE_CODES = new Set(['UND_ERR_RES_EXCEEDED_MAX_SIZE', 'UND_ERR_HEADERS_OVERFLOW', 'UND_ERR_INFO', 'UND_ERR_RESPONSE']);

/** The error codes of an error and its `cause` chain (and AggregateError members), outermost first. */
export function errorCodes(err: unknown): string[] {
  const codes: string[] = [];
  const seen = new Set<unknown>();
  const walk = (e: unknown, depth: number): void => {
    if (!e || typeof e !== 'object' || seen.has(e) || depth > 8) return;
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    const name = (e as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'AbortError') codes.push(name === 'TimeoutError' ? 'ETIMEDOUT' : 'ABORT_ERR');
    if (Array.isArray((e as { errors?: unknown }).errors)) for (const x of (e as { errors: unknown[] }).errors) walk(x, depth + 1);
    walk((e as { cause?: unknown }).cause, depth + 1);
  };
  walk(err, 0);
  return codes;
}

export interface NetworkContext {
  /** The request went through an HTTP(S) proxy on this port of this host. */
  proxy?: { host: string; port: number };
  /** Our own deadline signal fired (whatever error undici surfaced for it). */
  deadlineExceeded?: boolean;
}

/** Classifies a thrown network-level error by its codes. Unknown codes are `RegistryError` (unknown). */
export function classifyNetworkError(err: unknown, ctx: NetworkContext = {}): NetworkClassification {
  if (ctx.deadlineExceeded) return { reason: 'RegistryTimeout', code: 'DEADLINE' };
  const codes = errorCodes(err);
  const viaProxy = (): boolean => {
    if (!ctx.proxy) return false;
    const e = err as { port?: unknown; address?: unknown; hostname?: unknown; cause?: { port?: unknown } };
    const port = e.port ?? e.cause?.port;
    return port === ctx.proxy.port;
  };
  for (const code of codes) {
    if (PROXY_CODES.has(code)) return { reason: 'RegistryUnreachable', cause: 'proxy', code };
    if (TIMEOUT_CODES.has(code)) return { reason: 'RegistryTimeout', code };
    if (DNS_CODES.has(code)) return { reason: 'RegistryUnreachable', cause: ctx.proxy && viaProxy() ? 'proxy' : 'dns', code };
    if (code === 'ECONNREFUSED') return { reason: 'RegistryUnreachable', cause: viaProxy() ? 'proxy' : 'refused', code };
    if (RESET_CODES.has(code)) return { reason: 'RegistryUnreachable', cause: 'reset', code };
    if (TLS_CODES.has(code) || code.startsWith('CERT_') || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) {
      return { reason: 'RegistryUnreachable', cause: 'tls', code };
    }
    if (NETWORK_CODES.has(code)) return { reason: 'RegistryUnreachable', cause: 'network', code };
    if (BAD_RESPONSE_CODES.has(code) || code.startsWith('HPE_')) return { reason: 'RegistryError', code };
  }
  // Through a proxy, a failed CONNECT (non-200, 407) surfaces as an aborted/invalid request from undici.
  if (ctx.proxy && codes.some((c) => c === 'UND_ERR_ABORTED' || c === 'UND_ERR_INVALID_ARG' || c === 'ABORT_ERR')) {
    return { reason: 'RegistryUnreachable', cause: 'proxy', code: codes[0] };
  }
  return codes[0] === undefined ? { reason: 'RegistryError' } : { reason: 'RegistryError', code: codes[0] };
}

const UNKNOWN_CA_CODES = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'INVALID_CA']);
const WRONG_NAME_CODES = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH']);
const NOT_TLS_CODES = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_HTTP_REQUEST', 'EPROTO']);

/** The server answered a TLS ClientHello in plain HTTP (what containerd's HTTPFallback falls back on). */
export function isNotTlsServer(code: string | undefined): boolean {
  return code !== undefined && NOT_TLS_CODES.has(code);
}

/**
 * A TLS failure that configuration fixes, worded with the registry config setting that fixes it; undefined for
 * the others (an expired certificate, a handshake the server broke off) which are the registry's to fix.
 */
export function tlsAdvice(code: string | undefined, host: string): string | undefined {
  if (code === undefined) return undefined;
  if (UNKNOWN_CA_CODES.has(code)) {
    return `the certificate of ${host} is signed by an unknown authority: trust its CA with \`ca:\` (a PEM file) under registries."${host}" in the registry config, or set \`insecureSkipVerify: true\` there`;
  }
  if (WRONG_NAME_CODES.has(code)) {
    return `the certificate of ${host} is not valid for that name: use a certificate for ${host}, or set \`insecureSkipVerify: true\` under registries."${host}" in the registry config`;
  }
  if (NOT_TLS_CODES.has(code)) {
    return `${host} does not speak TLS on this port: set \`plainHTTP: true\` under registries."${host}" in the registry config (as the nodes' containerd hosts.toml must)`;
  }
  return undefined;
}

/** Parses Retry-After (seconds or HTTP date) into seconds from `now`. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d{1,10}$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** Docker Hub's `ratelimit-remaining: 76;w=21600` → 76. */
export function parseRateLimitHeader(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const m = /^\s*(\d{1,12})\s*(?:;|$)/.exec(value);
  return m ? Number(m[1]) : undefined;
}

/** The parts of an HTTP answer the classifier reads. */
export interface AnswerLike {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  url: string;
}

function firstHeader(headers: AnswerLike['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Classifies a non-2xx registry answer by status and distribution error codes (never by message text).
 * 404s are read per operation: a manifest 404 is a missing tag (the caller turns it into DigestNotFound for
 * digests), a tags/list 404 a missing repository, NAME_UNKNOWN a missing repository anywhere.
 */
export function errorFromAnswer(res: AnswerLike, ctx: { method: string; operation: Operation; now: number; fromRegistryHost?: boolean }): RegistryError {
  // Text from another host (a redirect target, a foreign realm) is never quoted: its codes still count, its words do not.
  const foreign = ctx.fromRegistryHost === false;
  const codes = parseDiagnostics(res.body).map((d) => (foreign ? { code: d.code } : d));
  const has = (c: string): boolean => codes.some((d) => d.code === c);
  const serverText = codes.length === 0 && !foreign ? parseServerText(res.body) : undefined;
  let reason: RegistryOutcome;
  let retryAfterSeconds: number | undefined;
  if (res.status === 429 || has('TOOMANYREQUESTS')) {
    reason = 'RateLimited';
    retryAfterSeconds = parseRetryAfter(firstHeader(res.headers, 'retry-after'), ctx.now);
  } else if (res.status === 401) {
    reason = 'AuthRequired';
  } else if (res.status === 403 || has('DENIED')) {
    reason = 'AccessDenied';
  } else if (res.status === 404 || has('NAME_UNKNOWN') || has('MANIFEST_UNKNOWN')) {
    if (has('NAME_UNKNOWN') || ctx.operation === 'tags') reason = 'RepositoryNotFound';
    else if (ctx.operation === 'manifest') reason = 'TagNotFound';
    else reason = 'RegistryError';
  } else {
    if (res.status >= 500) retryAfterSeconds = parseRetryAfter(firstHeader(res.headers, 'retry-after'), ctx.now);
    reason = 'RegistryError';
  }
  const init: RegistryErrorInit = { reason, status: res.status, codes, url: res.url, method: ctx.method, operation: ctx.operation };
  if (retryAfterSeconds !== undefined) init.retryAfterSeconds = retryAfterSeconds;
  if (serverText !== undefined) init.serverText = serverText;
  // An answer is an expected outcome (a 404 for a missing tag, a 401 before the token): no stack to capture.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let e: RegistryError;
  try {
    e = new RegistryError('', init);
  } finally {
    Error.stackTraceLimit = limit;
  }
  e.message = `${ctx.method} ${e.url ?? ''} answered ${e.registryMessage() ?? res.status}`;
  e.stack = `${e.name}: ${e.message}`;
  return e;
}
