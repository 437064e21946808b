// The load generator: keep-alive HTTPS to one target through an undici Pool with `concurrency` reviews in flight,
// bounded by count and by time. It records each review's latency (request sent → whole answer read) and checks
// that each answer is an AdmissionReview for the uid that was sent, so a fast wrong answer never counts.
import { Pool } from 'undici';

export interface Review {
  uid: string;
  body: string;
}

export interface LoadOptions {
  pool: Pool;
  count: number;
  concurrency: number;
  /** Stop starting new reviews after this long. */
  maxMs: number;
  review(i: number): Review;
  /** Asked before each review: a reason to stop early (e.g. the server's RSS passed a cap), or undefined. */
  stopReason?: () => string | undefined;
  /** Default WEBHOOK_PATH. */
  path?: string;
}

export interface LoadResult {
  /** Reviews sent (≤ count when the time bound hit first). */
  sent: number;
  /** Answered 200 with an AdmissionReview for the right uid. */
  ok: number;
  allowed: number;
  denied: number;
  /** Anything else: status, body, uid or transport failure. */
  failures: number;
  firstFailure?: string;
  latenciesMs: number[];
  wallMs: number;
  /** Why fewer than `count` reviews were sent. */
  stoppedEarly?: string;
}

export interface LatencyStats {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export const WEBHOOK_PATH = '/validate?timeout=10s';

export function openPool(origin: string, ca: string, connections: number): Pool {
  return new Pool(origin, { connections, pipelining: 1, connect: { ca }, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 });
}

/** Nearest-rank percentiles (sorts a copy). */
export function latencyStats(samples: readonly number[]): LatencyStats {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!);
  let sum = 0;
  for (const x of sorted) sum += x;
  return { count: sorted.length, mean: sorted.length ? sum / sorted.length : NaN, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}

export function median(samples: readonly number[]): number {
  return latencyStats(samples).p50;
}

interface Answer {
  kind?: unknown;
  response?: { uid?: unknown; allowed?: unknown };
}

/** Sends one review and checks the answer; the latency covers sending it and reading the whole answer. */
export async function sendReview(pool: Pool, review: Review, path: string = WEBHOOK_PATH): Promise<{ ms: number; allowed?: boolean; failure?: string }> {
  const started = performance.now();
  try {
    const res = await pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: review.body });
    const text = await res.body.text();
    const ms = performance.now() - started;
    if (res.statusCode !== 200) return { ms, failure: `status ${res.statusCode}: ${text.slice(0, 300)}` };
    const answer = JSON.parse(text) as Answer;
    if (answer.kind !== 'AdmissionReview' || answer.response?.uid !== review.uid || typeof answer.response.allowed !== 'boolean') {
      return { ms, failure: `not the AdmissionReview for ${review.uid}: ${text.slice(0, 300)}` };
    }
    return { ms, allowed: answer.response.allowed };
  } catch (err) {
    return { ms: performance.now() - started, failure: `request failed: ${(err as Error).message}` };
  }
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const result: LoadResult = { sent: 0, ok: 0, allowed: 0, denied: 0, failures: 0, latenciesMs: [], wallMs: 0 };
  const started = performance.now();
  const stopAt = started + opts.maxMs;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < opts.count && result.stoppedEarly === undefined) {
      if (performance.now() >= stopAt) {
        result.stoppedEarly = `time bound of ${opts.maxMs} ms reached`;
        break;
      }
      const reason = opts.stopReason?.();
      if (reason !== undefined) {
        result.stoppedEarly = reason;
        break;
      }
      const review = opts.review(next++);
      result.sent++;
      const r = await sendReview(opts.pool, review, opts.path);
      result.latenciesMs.push(r.ms);
      if (r.failure !== undefined) {
        result.failures++;
        result.firstFailure ??= r.failure;
      } else {
        result.ok++;
        if (r.allowed) result.allowed++;
        else result.denied++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, opts.count)) }, worker));
  result.wallMs = performance.now() - started;
  return result;
}
