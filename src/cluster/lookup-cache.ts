// A short-lived cache of API lookups with singleflight: concurrent lookups of one key share one request, and an
// answer is reused for ttlMs. Definite answers (found, NotFound, Forbidden) are cached; Unavailable is not, so the
// next review retries at once instead of inheriting an outage.
import type { Lookup } from './types.ts';

export interface LookupCache<T> {
  get(key: string, load: () => Promise<Lookup<T>>): Promise<Lookup<T>>;
  /** The answer `get` would give now without loading: a fresh cached one, else undefined (expired, in flight, none). */
  peek(key: string): Lookup<T> | undefined;
  /** Drops every entry (and with it any secret data held). */
  clear(): void;
  readonly size: number;
}

export interface LookupCacheOptions {
  ttlMs: number;
  /** Milliseconds from any fixed origin; injected so tests can move time. */
  clock: () => number;
  /** Above this many entries, expired ones are swept and then the oldest dropped. */
  maxEntries?: number;
}

export function createLookupCache<T>(opts: LookupCacheOptions): LookupCache<T> {
  const maxEntries = opts.maxEntries ?? 10_000;
  const entries = new Map<string, { value: Lookup<T>; expiresAt: number }>();
  const inflight = new Map<string, Promise<Lookup<T>>>();

  function store(key: string, value: Lookup<T>): void {
    if (opts.ttlMs <= 0 || (!value.found && value.reason === 'Unavailable')) return;
    entries.delete(key); // re-insert so Map order stays oldest-first
    entries.set(key, { value, expiresAt: opts.clock() + opts.ttlMs });
    if (entries.size <= maxEntries) return;
    const now = opts.clock();
    for (const [k, e] of entries) if (e.expiresAt <= now) entries.delete(k);
    for (const k of entries.keys()) {
      if (entries.size <= maxEntries) break;
      entries.delete(k);
    }
  }

  return {
    get(key, load) {
      const cached = entries.get(key);
      if (cached) {
        if (cached.expiresAt > opts.clock()) return Promise.resolve(cached.value);
        entries.delete(key);
      }
      const pending = inflight.get(key);
      if (pending) return pending;
      const request = load().then(
        (value) => {
          inflight.delete(key);
          store(key, value);
          return value;
        },
        (err: unknown) => {
          inflight.delete(key);
          throw err;
        },
      );
      inflight.set(key, request);
      return request;
    },
    peek(key) {
      const cached = entries.get(key);
      return cached !== undefined && cached.expiresAt > opts.clock() ? cached.value : undefined;
    },
    clear() {
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}
