// No retry storm on 429: once a registry says "too many requests", every question for that registry is
// answered `RateLimited` (unknown: admit and warn) without a request until its Retry-After has passed.
// Sits between the resolution cache and the client, so cached answers are still served during a back-off.
import type { Reference } from '../reference/reference.ts';
import { resolution, type Resolution } from './resolution.ts';
import type { ResolveOptionsLike, Resolver } from './resolution-cache.ts';

export interface BackoffOptions {
  /** Back-off when the registry gives no Retry-After. */
  defaultMs: number;
  /** Never back off longer than this, whatever the registry says. */
  maxMs: number;
  clock?: () => number;
}

export interface BackoffResolver<O extends ResolveOptionsLike> extends Resolver<O> {
  /** Registries in back-off now, with the epoch ms it ends. */
  backingOff(): Map<string, number>;
}

export function withRateLimitBackoff<O extends ResolveOptionsLike>(inner: Resolver<O>, opts: BackoffOptions): BackoffResolver<O> {
  const clock = opts.clock ?? Date.now;
  const until = new Map<string, number>();
  return {
    backingOff() {
      const now = clock();
      for (const [k, v] of until) if (v <= now) until.delete(k);
      return new Map(until);
    },
    async resolve(ref: Reference, o: O): Promise<Resolution> {
      const end = until.get(ref.registry);
      const now = clock();
      if (end !== undefined) {
        if (end > now) {
          return resolution('RateLimited', ref.canonical, {
            reference: ref.canonical,
            retryAfterSeconds: Math.ceil((end - now) / 1000),
            detail: `backing off from ${ref.registry} after a 429, for ${Math.ceil((end - now) / 1000)} s more; no request sent`,
          });
        }
        until.delete(ref.registry);
      }
      const r = await inner.resolve(ref, o);
      if (r.reason === 'RateLimited') {
        const wait = Math.min(opts.maxMs, r.retryAfterSeconds !== undefined ? r.retryAfterSeconds * 1000 : opts.defaultMs);
        if (wait > 0) until.set(ref.registry, clock() + wait);
      }
      return r;
    },
    close: () => inner.close(),
  };
}
