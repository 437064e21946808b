// One HTTP exchange with a registry endpoint, the innermost layer of the client: picks the dispatcher, applies
// the deadline and the caller's AbortSignal, caps the body, reports metrics and redacted logs. It knows nothing
// of redirects, retries, auth or manifests; non-2xx statuses are answers, not errors. Every layer is a Sender.
import type { Dispatcher } from 'undici';
import { CappedBody, declaredTooLarge } from './body-cap.ts';
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
  /** pino's: when it says debug is off, no debug record (nor its redacted URL) is built. */
  isLevelEnabled?(level: string): boolean;
}

/** Whether a debug record would be written: a logger that cannot say is asked every time. */
export function debugEnabled(logger: RegistryLogger | undefined): logger is RegistryLogger {
  return logger !== undefined && (logger.isLevelEnabled?.('debug') ?? true);
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
      // Redacting the URL costs more than the rest of the report: only for a record that is written.
      const logger = this.#deps.logger;
      if (debugEnabled(logger)) logger.debug({ ...e, url: redactUrl(req.url) }, 'registry request');
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

    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...(req.headers ?? {}) };
    const got = await dispatchOnce(chosen.dispatcher, target, req, headers, Math.max(1, Math.ceil(remaining)));
    const status = got.status;
    if (status !== undefined && got.headers) this.#reportRateLimit(host, got.headers);
    if (got.kind === 'tooLarge') {
      const declared = got.declared === undefined ? 'response body' : `response body of ${got.declared} bytes`;
      return fail(new RegistryError(`${declared} exceeds the ${req.maxBytes}-byte limit`, { reason: 'RegistryError', status, ...base, errorCode: 'BODY_TOO_LARGE' }));
    }
    if (got.kind === 'answer') {
      report(got.status, undefined);
      return { ok: true, value: { status: got.status, headers: got.headers, body: got.body, url: target.href } };
    }
    const c = classifyNetworkError(got.error, { ...(chosen.proxy ? { proxy: chosen.proxy } : {}), deadlineExceeded: got.deadline });
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

type Dispatched =
  | { kind: 'answer'; status: number; headers: Headers; body: Buffer }
  | { kind: 'tooLarge'; status: number; headers: Headers; declared?: string }
  | { kind: 'failed'; error: unknown; deadline: boolean; status?: number; headers?: Headers };

/** Our deadline, as undici's abort reason (a shared object: no stack captured per timed-out request). */
const DEADLINE_REACHED = Object.freeze(Object.assign(new Error('the request deadline was reached'), { name: 'TimeoutError', code: 'ETIMEDOUT' }));

/**
 * One request through undici's dispatch API, its body collected under the cap: no response stream, async
 * resource or composite AbortSignal per request (request() and AbortSignal.timeout/any cost ~0.3 ms of CPU per
 * exchange, about a third of a small request's, on the cold path). The deadline is one timer; the caller's
 * signal aborts it too. Never rejects.
 */
function dispatchOnce(dispatcher: Dispatcher, target: URL, req: HttpRequest, headers: Record<string, string>, timeoutMs: number): Promise<Dispatched> {
  return new Promise<Dispatched>((resolve) => {
    let controller: Dispatcher.DispatchController | undefined;
    let stopped: Error | undefined;
    let settled = false;
    let status: number | undefined;
    let answerHeaders: Headers | undefined;
    let body: CappedBody | undefined;
    const signal = req.signal;
    const settle = (d: Dispatched): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(d);
    };
    // Aborted before undici started the request (queued for a connection): it is aborted when it starts.
    // Settled first: undici calls onResponseError from within abort().
    const stop = (reason: Error, then: Dispatched): void => {
      stopped ??= reason;
      settle(then);
      controller?.abort(reason);
    };
    const deadline = (reason: Error): void => stop(reason, { kind: 'failed', error: reason, deadline: true, ...(status === undefined ? {} : { status }) });
    const onAbort = (): void => deadline(signal?.reason instanceof Error ? signal.reason : DEADLINE_REACHED);
    const timer = setTimeout(deadline, Math.min(timeoutMs, 2 ** 31 - 1), DEADLINE_REACHED);
    timer.unref();
    // Removed by settle(), whichever way the request ends; no `{ once: true }` (options cost a validation per call).
    signal?.addEventListener('abort', onAbort);
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (stopped !== undefined) c.abort(stopped);
      },
      onResponseStart(_c, statusCode, h) {
        // 1xx: informational, the answer follows.
        if (statusCode < 200) return;
        status = statusCode;
        answerHeaders = h as Headers;
        const declared = header(answerHeaders, 'content-length');
        if (declaredTooLarge(declared, req.maxBytes, req.method, statusCode)) {
          stop(BODY_TOO_LARGE, { kind: 'tooLarge', status: statusCode, headers: answerHeaders, ...(declared === undefined ? {} : { declared }) });
          return;
        }
        body = new CappedBody(req.maxBytes, statusCode >= 200 && statusCode <= 299);
      },
      onResponseData(_c, chunk) {
        if (settled || !body) return;
        const added = body.add(chunk);
        if (added === 'tooLarge') stop(BODY_TOO_LARGE, { kind: 'tooLarge', status: status!, headers: answerHeaders! });
        else if (added === 'full') stop(BODY_TOO_LARGE, { kind: 'answer', status: status!, headers: answerHeaders!, body: body.body() });
      },
      onResponseEnd() {
        if (status === undefined) settle({ kind: 'failed', error: new Error('the response ended without a status'), deadline: false });
        else settle({ kind: 'answer', status, headers: answerHeaders!, body: body?.body() ?? Buffer.alloc(0) });
      },
      onResponseError(_c, error) {
        settle({ kind: 'failed', error, deadline: false, ...(status === undefined ? {} : { status }), ...(answerHeaders ? { headers: answerHeaders } : {}) });
      },
    };
    if (signal?.aborted) {
      onAbort();
      return;
    }
    try {
      dispatcher.dispatch({
        origin: target.origin,
        path: target.search ? `${target.pathname}${target.search}` : target.pathname,
        method: req.method,
        headers,
        ...(req.body === undefined ? {} : { body: req.body }),
        // undici closes the connection after a HEAD unless told otherwise; HEAD is our most frequent request.
        reset: false,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      }, handler);
    } catch (error) {
      settle({ kind: 'failed', error, deadline: false });
    }
  });
}

/** Why a body over its cap is cut off (the connection is closed; the answer is ours to give). */
const BODY_TOO_LARGE = Object.freeze(Object.assign(new Error('response body over its cap'), { code: 'BODY_TOO_LARGE' }));
