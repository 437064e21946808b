// The HTTP layer for one registry endpoint: an undici dispatcher (keep-alive pool, CA bundle, skip-verify,
// plain HTTP, HTTPS_PROXY/NO_PROXY, connections per origin capped at maxConcurrency), a deadline on every
// request, a size cap on every body, redirects followed without Authorization, metrics and redacted logs.
// It knows nothing of auth or manifests; non-2xx statuses are answers, not errors.
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import { RegistryError, classifyNetworkError, parseRateLimitHeader, redactUrl, type Operation } from './errors.ts';
import { proxyFor, type ProxyEnv } from './proxy.ts';

export type Result<T> = { ok: true; value: T } | { ok: false; error: RegistryError };

export interface RequestEvent {
  host: string;
  method: string;
  operation: Operation;
  status?: number;
  error?: string;
  durationMs: number;
}

export interface RegistryObserver {
  request?(e: RequestEvent): void;
  rateLimit?(e: { host: string; remaining?: number; limit?: number }): void;
}

export interface RegistryLogger {
  debug(o: object, msg: string): void;
  warn(o: object, msg: string): void;
}

export type Clock = () => number;

/** Connection settings for one host (a registry or one of its mirrors). */
export interface EndpointSettings {
  /** `host[:port]` as it appears in URLs. */
  host: string;
  plainHTTP: boolean;
  /** PEM file with extra CAs, added to the system roots. */
  caFile?: string;
  insecureSkipVerify: boolean;
  maxConcurrency: number;
}

export interface TransportDeps {
  clock: Clock;
  env: ProxyEnv;
  requestTimeoutMs: number;
  observer?: RegistryObserver;
  logger?: RegistryLogger;
  /** Reads the CA file; injectable for tests. */
  readFile?: (path: string) => string;
}

export type Headers = Record<string, string | string[] | undefined>;

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST';
  /** Absolute URL. */
  url: string;
  headers?: Record<string, string>;
  body?: string;
  operation: Operation;
  /** Larger bodies are refused (RegistryError), read no further. */
  maxBytes: number;
  /** Epoch ms (same clock as deps.clock). */
  deadline?: number;
  signal?: AbortSignal;
  /** Follow 301/302/303/307/308 (bounded), never forwarding Authorization. */
  followRedirects?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  /** The URL that answered (after redirects). */
  url: string;
}

const USER_AGENT = 'pullguard/0.1';
const MAX_REDIRECTS = 5;
const KEEP_ALIVE_MS = 30_000;
const ERROR_BODY_MAX_BYTES = 64 * 1024;

export function header(headers: Headers, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function headerList(headers: Headers, name: string): string[] {
  const v = headers[name.toLowerCase()];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** One endpoint's HTTP stack. Cheap to keep; `close()` releases its sockets. */
export class Transport {
  readonly settings: EndpointSettings;
  readonly baseUrl: string;
  readonly #deps: TransportDeps;
  readonly #tls: TlsSettings | RegistryError;
  #direct: Dispatcher | undefined;
  readonly #proxied = new Map<string, Dispatcher>();
  #closed = false;

  constructor(settings: EndpointSettings, deps: TransportDeps) {
    this.settings = settings;
    this.baseUrl = `${settings.plainHTTP ? 'http' : 'https'}://${settings.host}`;
    this.#deps = deps;
    this.#tls = loadTls(settings, deps.readFile ?? ((p) => readFileSync(p, 'utf8')));
  }

  #dispatcherFor(url: URL): { dispatcher: Dispatcher; proxy?: { host: string; port: number } } | RegistryError {
    if (this.#tls instanceof RegistryError) return this.#tls;
    const connect = { ...this.#tls, timeout: this.#deps.requestTimeoutMs };
    const common = { connections: this.settings.maxConcurrency, keepAliveTimeout: KEEP_ALIVE_MS, keepAliveMaxTimeout: KEEP_ALIVE_MS };
    const proxy = proxyFor(url, this.#deps.env);
    if (!proxy) {
      this.#direct ??= new Agent({ ...common, connect });
      return { dispatcher: this.#direct };
    }
    const key = proxy.href;
    let d = this.#proxied.get(key);
    if (!d) {
      // requestTls: the tunnelled TLS session to the registry still verifies against our CA bundle.
      d = new ProxyAgent({ ...common, uri: proxy.href, requestTls: connect, proxyTls: { timeout: this.#deps.requestTimeoutMs } });
      this.#proxied.set(key, d);
    }
    const port = proxy.port ? Number(proxy.port) : proxy.protocol === 'https:' ? 443 : 80;
    return { dispatcher: d, proxy: { host: proxy.hostname, port } };
  }

  /** Sends one request (following redirects when asked). Never throws. */
  async send(req: HttpRequest): Promise<Result<HttpResponse>> {
    let url = req.url;
    let method = req.method;
    let headers = { ...(req.headers ?? {}) };
    let body = req.body;
    for (let hop = 0; ; hop++) {
      let res = await this.#sendOnce({ ...req, url, method, headers, ...(body === undefined ? {} : { body }) });
      // One retry when an idempotent request hit a connection the server had closed (stale keep-alive).
      if (!res.ok && res.error.unreachable === 'reset' && method !== 'POST' && !this.#expired(req.deadline)) {
        res = await this.#sendOnce({ ...req, url, method, headers, ...(body === undefined ? {} : { body }) });
      }
      if (!res.ok || !req.followRedirects) return res;
      const r = res.value;
      const location = header(r.headers, 'location');
      if (![301, 302, 303, 307, 308].includes(r.status) || !location) return res;
      if (hop >= MAX_REDIRECTS) {
        return err(new RegistryError(`too many redirects (more than ${MAX_REDIRECTS})`, { reason: 'RegistryError', status: r.status, url, method, operation: req.operation }));
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        return err(new RegistryError('redirect to an invalid location', { reason: 'RegistryError', status: r.status, url, method, operation: req.operation }));
      }
      if (next.protocol !== 'https:' && next.protocol !== 'http:') {
        return err(new RegistryError(`redirect to unsupported scheme ${next.protocol}`, { reason: 'RegistryError', status: r.status, url, method, operation: req.operation }));
      }
      // Never forward credentials across a redirect: storage backends get presigned URLs, not our tokens.
      headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
      if (r.status === 303 && method === 'POST') {
        method = 'GET';
        body = undefined;
      }
      this.#deps.logger?.debug({ from: redactUrl(url), to: redactUrl(next.href), status: r.status }, 'following registry redirect');
      url = next.href;
    }
  }

  #expired(deadline: number | undefined): boolean {
    return deadline !== undefined && deadline - this.#deps.clock() <= 0;
  }

  async #sendOnce(req: HttpRequest): Promise<Result<HttpResponse>> {
    const started = performance.now();
    const target = safeUrl(req.url);
    const host = target?.host ?? 'invalid';
    const report = (status: number | undefined, error: string | undefined): void => {
      const e: RequestEvent = { host, method: req.method, operation: req.operation, durationMs: performance.now() - started };
      if (status !== undefined) e.status = status;
      if (error !== undefined) e.error = error;
      safeCall(() => this.#deps.observer?.request?.(e));
      this.#deps.logger?.debug({ ...e, url: redactUrl(req.url) }, 'registry request');
    };
    const fail = (error: RegistryError): Result<HttpResponse> => {
      report(error.status, error.errorCode ?? error.reason);
      return err(error);
    };
    const base = { url: req.url, method: req.method, operation: req.operation };
    if (!target) return fail(new RegistryError('invalid request URL', { reason: 'RegistryError', ...base }));
    if (this.#closed) return fail(new RegistryError('registry client is closed', { reason: 'RegistryError', ...base }));
    const remaining = Math.min(this.#deps.requestTimeoutMs, req.deadline === undefined ? Infinity : req.deadline - this.#deps.clock());
    if (remaining <= 0 || req.signal?.aborted) {
      return fail(new RegistryError('deadline exceeded before the request was sent', { reason: 'RegistryTimeout', ...base, errorCode: 'DEADLINE' }));
    }
    const chosen = this.#dispatcherFor(target);
    if (chosen instanceof RegistryError) return fail(chosen);

    const timeout = AbortSignal.timeout(Math.max(1, Math.ceil(remaining)));
    const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...(req.headers ?? {}) };
    let status: number | undefined;
    try {
      const res = await request(target, {
        dispatcher: chosen.dispatcher,
        method: req.method,
        headers,
        ...(req.body === undefined ? {} : { body: req.body }),
        signal,
        // undici closes the connection after a HEAD unless told otherwise; HEAD is our most frequent request.
        reset: false,
        headersTimeout: remaining,
        bodyTimeout: remaining,
      });
      status = res.statusCode;
      this.#reportRateLimit(host, res.headers);
      const declared = Number(header(res.headers, 'content-length'));
      if (Number.isFinite(declared) && declared > req.maxBytes && req.method !== 'HEAD' && status >= 200 && status <= 299) {
        res.body.destroy();
        return fail(new RegistryError(`response body of ${declared} bytes exceeds the ${req.maxBytes}-byte limit`, { reason: 'RegistryError', status, ...base, errorCode: 'BODY_TOO_LARGE' }));
      }
      // Error and redirect bodies are only read for their diagnostics: keep the first 64 KiB, drop the rest.
      const success = status >= 200 && status <= 299;
      const cap = success ? req.maxBytes : Math.min(req.maxBytes, ERROR_BODY_MAX_BYTES);
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        if (size + chunk.length > cap) {
          res.body.destroy();
          if (success) {
            return fail(new RegistryError(`response body exceeds the ${req.maxBytes}-byte limit`, { reason: 'RegistryError', status, ...base, errorCode: 'BODY_TOO_LARGE' }));
          }
          chunks.push(chunk.subarray(0, cap - size));
          size = cap;
          break;
        }
        size += chunk.length;
        chunks.push(chunk);
      }
      report(status, undefined);
      return { ok: true, value: { status, headers: res.headers, body: Buffer.concat(chunks, size), url: target.href } };
    } catch (e) {
      const c = classifyNetworkError(e, { ...(chosen.proxy ? { proxy: chosen.proxy } : {}), deadlineExceeded: timeout.aborted || (req.signal?.aborted ?? false) });
      const what = c.reason === 'RegistryTimeout' ? 'request timed out' : c.cause ? `connection failed (${c.cause})` : 'request failed';
      return fail(
        new RegistryError(`${what}${c.code ? ` [${c.code}]` : ''}`, {
          reason: c.reason,
          ...(status === undefined ? {} : { status }),
          ...base,
          ...(c.cause ? { cause: c.cause } : {}),
          ...(c.code ? { errorCode: c.code } : {}),
        }),
      );
    }
  }

  #reportRateLimit(host: string, headers: Headers): void {
    const remaining = parseRateLimitHeader(header(headers, 'ratelimit-remaining'));
    const limit = parseRateLimitHeader(header(headers, 'ratelimit-limit'));
    if (remaining === undefined && limit === undefined) return;
    const e: { host: string; remaining?: number; limit?: number } = { host };
    if (remaining !== undefined) e.remaining = remaining;
    if (limit !== undefined) e.limit = limit;
    safeCall(() => this.#deps.observer?.rateLimit?.(e));
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [this.#direct, ...this.#proxied.values()].filter((d): d is Dispatcher => d !== undefined);
    this.#direct = undefined;
    this.#proxied.clear();
    await Promise.allSettled(all.map((d) => d.close()));
  }
}

function err<T>(error: RegistryError): Result<T> {
  return { ok: false, error };
}

function safeUrl(s: string): URL | undefined {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u : undefined;
  } catch {
    return undefined;
  }
}

/** Observers are someone else's code: their exceptions must not change a resolution. */
function safeCall(f: () => void): void {
  try {
    f();
  } catch {
    // ignored on purpose
  }
}

interface TlsSettings {
  /** Built once per endpoint: parsing a CA bundle costs ~13 ms and ~1 MiB per connection otherwise. */
  secureContext?: SecureContext;
  rejectUnauthorized: boolean;
}

function loadTls(settings: EndpointSettings, readFile: (p: string) => string): TlsSettings | RegistryError {
  const out: TlsSettings = { rejectUnauthorized: !settings.insecureSkipVerify };
  if (!settings.caFile) return out;
  let pem: string;
  try {
    pem = readFile(settings.caFile);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return new RegistryError(`cannot read CA file ${settings.caFile} for ${settings.host}${typeof code === 'string' ? ` (${code})` : ''}`, { reason: 'RegistryError', temporary: false });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    return new RegistryError(`CA file ${settings.caFile} for ${settings.host} holds no PEM certificate`, { reason: 'RegistryError', temporary: false });
  }
  // Node's `ca` replaces the default roots; keep them so redirects to public storage still verify.
  try {
    out.secureContext = createSecureContext({ ca: [...rootCertificates, pem] });
  } catch (e) {
    return new RegistryError(`CA file ${settings.caFile} for ${settings.host} cannot be used: ${(e as Error).message}`, { reason: 'RegistryError', temporary: false });
  }
  return out;
}
