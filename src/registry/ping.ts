// GET /v2/ on an endpoint to learn how it wants to be authenticated (go-containerregistry ping.go).
// Answers are cached per endpoint for a few minutes; concurrent pings of one endpoint share one request.
import { parseChallenges, type Challenge } from './challenge.ts';
import { abandoned } from './errors.ts';
import { Singleflight } from './singleflight.ts';
import { headerList, type Clock, type Result, type Transport } from './transport.ts';

export interface PingResult {
  status: number;
  /** Empty when the registry answered 200 (no auth) or something unexpected. */
  challenges: Challenge[];
}

const PING_TTL_MS = 5 * 60_000;
const PING_MAX_BYTES = 64 * 1024;
const MAX_ENTRIES = 1024;

export class PingCache {
  readonly #clock: Clock;
  readonly #entries = new Map<string, { at: number; result: PingResult }>();
  readonly #inflight = new Singleflight<Result<PingResult>>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** `apiRoot`: the API root path when it is not `/v2` (hosts.toml override_path). */
  async ping(transport: Transport, ctx: { deadline?: number; signal?: AbortSignal }, apiRoot = '/v2'): Promise<Result<PingResult>> {
    const key = transport.baseUrl + apiRoot;
    const cached = this.#entries.get(key);
    if (cached && this.#clock() - cached.at < PING_TTL_MS) return { ok: true, value: cached.result };
    // A caller with a signal stops waiting when it fires; the ping is aborted only when no caller waits.
    if (!ctx.signal) return this.#inflight.do(key, () => this.#doPing(transport, ctx, key));
    return this.#inflight.share(key, (signal) => this.#doPing(transport, { ...ctx, signal }, key), { signal: ctx.signal, gaveUp: () => ({ ok: false, error: abandoned('ping') }) }).promise;
  }

  async #doPing(transport: Transport, ctx: { deadline?: number; signal?: AbortSignal }, key: string): Promise<Result<PingResult>> {
    const res = await transport.send({
      method: 'GET',
      url: `${key}/`,
      operation: 'ping',
      maxBytes: PING_MAX_BYTES,
      ...(ctx.deadline === undefined ? {} : { deadline: ctx.deadline }),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    if (!res.ok) return res;
    const { status, headers } = res.value;
    const result: PingResult = { status, challenges: status === 401 ? parseChallenges(headerList(headers, 'www-authenticate')) : [] };
    // Only definite answers are remembered; a 5xx or 429 is asked again next time.
    if (status === 200 || status === 401) {
      this.#entries.delete(key);
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value as string);
      this.#entries.set(key, { at: this.#clock(), result });
    }
    return { ok: true, value: result };
  }

  /** Forget an endpoint's answer (e.g. a request later met a challenge the ping did not announce). */
  forget(transport: Transport, apiRoot = '/v2'): void {
    this.#entries.delete(transport.baseUrl + apiRoot);
  }
}
