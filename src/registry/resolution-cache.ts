// The resolution cache: one registry question per distinct (image, credentials, platforms) however many reviews
// ask it. Concurrent identical lookups share one in-flight request (singleflight); answers are kept by how
// long they stay true: digests are immutable (long), tags move (short), certain negatives shorter still so a
// freshly pushed tag is seen quickly, and `unknown` is never kept. Memory is bounded by entries and bytes (LRU).
import { createHash } from 'node:crypto';
import type { Reference } from '../reference/reference.ts';
import type { PullCredential, Resolution } from './resolution.ts';

export interface ResolveOptionsLike {
  platforms: { os: string; architecture: string; variant?: string }[];
  credentials: PullCredential[];
  nodeCredentials?: boolean;
  deadline?: number;
}

export interface Resolver<O extends ResolveOptionsLike> {
  resolve(ref: Reference, opts: O): Promise<Resolution>;
  close(): Promise<void>;
}

export interface ResolutionCacheOptions {
  digestTtlMs: number;
  tagTtlMs: number;
  negativeTtlMs: number;
  maxEntries: number;
  maxBytes: number;
  clock?: () => number;
  onEvent?: (event: 'hit' | 'miss' | 'coalesced' | 'eviction' | 'expired') => void;
}

interface Entry {
  value: Resolution;
  expires: number;
  bytes: number;
}

/** A credential's identity for cache keys: a hash, so no secret is ever held in a key. */
export function credentialIdentity(c: PullCredential): string {
  return createHash('sha256')
    .update(JSON.stringify([c.key, c.username ?? '', c.password ?? '', c.identityToken ?? '', c.registryToken ?? '']))
    .digest('base64url')
    .slice(0, 22);
}

export function cacheKey(ref: Reference, opts: ResolveOptionsLike): string {
  const platforms = opts.platforms.map((p) => `${p.os}/${p.architecture}/${p.variant ?? ''}`).sort().join(',');
  const creds = opts.credentials.map(credentialIdentity).join(',');
  return `${ref.name}|${ref.digest ?? `:${ref.tag ?? 'latest'}`}|${platforms}|${creds}|${opts.nodeCredentials ? 'n' : ''}`;
}

export interface CachingResolver<O extends ResolveOptionsLike> extends Resolver<O> {
  readonly size: number;
  readonly bytes: number;
  clear(): void;
}

export function withResolutionCache<O extends ResolveOptionsLike>(inner: Resolver<O>, opts: ResolutionCacheOptions): CachingResolver<O> {
  const clock = opts.clock ?? Date.now;
  const entries = new Map<string, Entry>();
  const inflight = new Map<string, Promise<Resolution>>();
  let bytes = 0;
  const emit = opts.onEvent ?? (() => {});

  function ttl(ref: Reference, r: Resolution): number {
    if (r.verdict === 'unknown') return 0;
    if (r.verdict === 'deny') return opts.negativeTtlMs;
    return ref.digest ? opts.digestTtlMs : opts.tagTtlMs;
  }

  function remove(key: string): void {
    const e = entries.get(key);
    if (!e) return;
    entries.delete(key);
    bytes -= e.bytes;
  }

  function store(key: string, ref: Reference, r: Resolution): void {
    const life = ttl(ref, r);
    if (life <= 0) return;
    const size = key.length * 2 + JSON.stringify(r).length * 2 + 64;
    if (size > opts.maxBytes) return;
    remove(key);
    entries.set(key, { value: r, expires: clock() + life, bytes: size });
    bytes += size;
    while (entries.size > opts.maxEntries || bytes > opts.maxBytes) {
      const oldest = entries.keys().next().value as string;
      remove(oldest);
      emit('eviction');
    }
  }

  return {
    get size() {
      return entries.size;
    },
    get bytes() {
      return bytes;
    },
    clear() {
      entries.clear();
      bytes = 0;
    },
    async resolve(ref, o) {
      const key = cacheKey(ref, o);
      const hit = entries.get(key);
      if (hit) {
        if (hit.expires > clock()) {
          // Refresh LRU position.
          entries.delete(key);
          entries.set(key, hit);
          emit('hit');
          return hit.value;
        }
        remove(key);
        emit('expired');
      }
      const running = inflight.get(key);
      if (running) {
        emit('coalesced');
        return running;
      }
      emit('miss');
      const p = inner.resolve(ref, o).then((r) => {
        store(key, ref, r);
        return r;
      }).finally(() => inflight.delete(key));
      inflight.set(key, p);
      return p;
    },
    close: () => inner.close(),
  };
}
