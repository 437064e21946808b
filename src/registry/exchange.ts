// One HTTP exchange with a registry endpoint, the innermost layer of the client: picks the dispatcher, applies
// the deadline and the caller's AbortSignal, caps the body, reports metrics and redacted logs. It knows nothing
// of redirects, retries, auth or manifests; non-2xx statuses are answers, not errors. Every layer is a Sender.
import { request } from 'undici';
import { declaredTooLarge, readCapped } from './body-cap.ts';
import type { Dispatchers } from './dispatcher.ts';
import { RegistryError, classifyNetworkError, parseRateLimitHeader, redactUrl, tlsAdvice, type Operation } from './errors.ts';

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
  /** A platform check was skipped to keep the registry's pull budget (Docker Hub ratelimit-remaining). */
  pullBudgetLow?(e: { host: string; remaining: number; reserve: number }): void;
}

export interface RegistryLogger {
  debug(o: object, msg: string): void;
  warn(o: object, msg: string): void;
}

export type Clock = () => number;

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

/** Every layer of the client is one: it sends a request and never throws. */
export interface Sender {
  send(req: HttpRequest): Promise<Result<HttpResponse>>;
}

export interface ExchangeDeps {
  clock: Clock;
  requestTimeoutMs: number;
  observer?: RegistryObserver;
  logger?: RegistryLogger;
}

const USER_AGENT = 'pullguard/0.1';

export function header(headers: Headers, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function headerList(headers: Headers, name: string): string[] {
  const v = headers[name.toLowerCase()];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

export function err<T>(error: RegistryError): Result<T> {
  return { ok: false, error };
}

/** Observers are someone else's code: their exceptions must not change a resolution. */
export function safeCall(f: () => void): void {
  try {
    f();
  } catch {
    // ignored on purpose
  }
}

export class Exchange implements Sender {
  readonly #dispatchers: Dispatchers;
  readonly #deps: ExchangeDeps;
  #closed = false;

  constructor(dispatchers: Dispatchers, deps: ExchangeDeps) {
    this.#dispatchers = dispatchers;
    this.#deps = deps;
  }

  close(): void {
    this.#closed = true;
  }

  async send(req: HttpRequest): Promise<Result<HttpResponse>> {
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
    const chosen = this.#dispatchers.for(target);
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
      if (declaredTooLarge(header(res.headers, 'content-length'), req.maxBytes, req.method, status)) {
        res.body.destroy();
        return fail(new RegistryError(`response body of ${header(res.headers, 'content-length')} bytes exceeds the ${req.maxBytes}-byte limit`, { reason: 'RegistryError', status, ...base, errorCode: 'BODY_TOO_LARGE' }));
      }
      const body = await readCapped(res.body, req.maxBytes, status >= 200 && status <= 299);
      if (!body.ok) return fail(new RegistryError(`response body exceeds the ${req.maxBytes}-byte limit`, { reason: 'RegistryError', status, ...base, errorCode: 'BODY_TOO_LARGE' }));
      report(status, undefined);
      return { ok: true, value: { status, headers: res.headers, body: body.body, url: target.href } };
    } catch (e) {
      const c = classifyNetworkError(e, { ...(chosen.proxy ? { proxy: chosen.proxy } : {}), deadlineExceeded: timeout.aborted || (req.signal?.aborted ?? false) });
      const what = c.reason === 'RegistryTimeout' ? 'request timed out' : c.cause ? `connection failed (${c.cause})` : 'request failed';
      // A TLS failure that configuration fixes says which setting (unknown CA → ca:, wrong name, plain HTTP port).
      const advice = c.cause === 'tls' ? tlsAdvice(c.code, target.host) : undefined;
      return fail(
        new RegistryError(`${what}${c.code ? ` [${c.code}]` : ''}${advice ? `: ${advice}` : ''}`, {
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
}

function safeUrl(s: string): URL | undefined {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u : undefined;
  } catch {
    return undefined;
  }
}
