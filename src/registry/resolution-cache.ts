// The resolution cache: one registry question per distinct (image, credentials, platforms) however many reviews
// ask it. Concurrent identical lookups share one in-flight request (singleflight); answers are kept by how
// long they stay true: digests are immutable (long), tags move (short), certain negatives shorter still so a
// freshly pushed tag is seen quickly, and `unknown` is never kept. Memory is bounded by entries and bytes (LRU).
import type { Reference } from '../reference/reference.ts';
import { resolution, type PullCredential, type Resolution } from './resolution.ts';
import { credentialIdentity } from './auth.ts';
import { Singleflight } from './singleflight.ts';
import { isShortName } from './registries-conf.ts';

export interface ResolveOptionsLike {
  platforms: { os: string; architecture: string; variant?: string; osVersion?: string }[];
  credentials: PullCredential[];
  nodeCredentials?: boolean;
  deadline?: number;
  /**
   * The caller's abort (its review's deadline): the caller then gets RegistryTimeout, and the shared lookup is
   * aborted only when every caller waiting for it has given up.
   */
  signal?: AbortSignal;
  /** The image as written: a short name may resolve elsewhere on CRI-O nodes (registries.conf). */
  image?: string;
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
  /** Sources of the credentials of the caller whose question filled the entry, in order. */
  sources: string[];
  expires: number;
  bytes: number;
}

/**
 * The same credentials can come from different secrets (another namespace's copy): the key holds their identity,
 * and an answer handed to another caller names that caller's own secrets, position for position.
 */
function forCaller(r: Resolution, sources: string[], caller: PullCredential[]): Resolution {
  if (sources.length === 0) return r;
  const rename = new Map<string, string>();
  sources.forEach((s, i) => {
    const mine = caller[i]?.source;
    if (mine !== undefined && mine !== s) rename.set(s, mine);
  });
  if (rename.size === 0) return r;
  const map = (s: string) => rename.get(s) ?? s;
  return {
    ...r,
    credentialsTried: r.credentialsTried.map(map),
    ...(r.credentialUsed !== undefined ? { credentialUsed: map(r.credentialUsed) } : {}),
  };
}

/** A credential's identity for cache keys: the same hash the token cache uses, so no secret is held in a key. */
export { credentialIdentity };

/** `list.sort()`, without the copy V8's sort makes for the one or two platforms of a typical key. */
function sortedStrings(list: string[]): string[] {
  if (list.length === 2 && list[1]! < list[0]!) return [list[1]!, list[0]!];
  return list.length > 2 ? list.sort() : list;
}

export function cacheKey(ref: Reference, opts: ResolveOptionsLike): string {
  // osVersion too: Windows matching compares it, so pods pinned to different builds are different questions.
  const platforms = sortedStrings(opts.platforms.map((p) => `${p.os}(${p.osVersion ?? ''})/${p.architecture}/${p.variant ?? ''}`)).join(',');
  const creds = opts.credentials.map(credentialIdentity).join(',');
  // A short name (no registry as written) is its own entry: registries.conf may send it to another registry.
  const short = opts.image !== undefined && isShortName(opts.image.trim()) ? `|short:${opts.image.trim().replace(/@.*$/, '').replace(/:[^/]*$/, '')}` : '';
  return `${ref.name}|${ref.digest ?? `:${ref.tag ?? 'latest'}`}|${platforms}|${creds}|${opts.nodeCredentials ? 'n' : ''}${short}`;
}

export interface CachingResolver<O extends ResolveOptionsLike> extends Resolver<O> {
  /**
   * What resolve() would answer now from a fresh entry, at once (counted as a hit, as resolve counts it); undefined
   * when it would ask the registry (no entry, an expired one, or options it cannot key). Nothing is asked.
   */
  peek(ref: Reference, opts: O): Resolution | undefined;
  readonly size: number;
  readonly bytes: number;
  clear(): void;
}

export function withResolutionCache<O extends ResolveOptionsLike>(inner: Resolver<O>, opts: ResolutionCacheOptions): CachingResolver<O> {
  const clock = opts.clock ?? Date.now;
  const entries = new Map<string, Entry>();
  const inflight = new Singleflight<{ value: Resolution; sources: string[] }>();
  let bytes = 0;
  // Bumped by clear(): an answer asked for before it (the node files changed meanwhile) is neither stored nor joined.
  let generation = 0;
  const emit = opts.onEvent ?? (() => {});

  function ttl(ref: Reference, r: Resolution): number {
    // Temporary answers (timeouts, rate limits, 5xx) are asked again; a definite refusal is cached briefly.
    if (!r.definite) return 0;
    if (r.reason !== 'Resolved') return opts.negativeTtlMs;
    return ref.digest ? opts.digestTtlMs : opts.tagTtlMs;
  }

  function remove(key: string): void {
    const e = entries.get(key);
    if (!e) return;
    entries.delete(key);
    bytes -= e.bytes;
  }

  function store(key: string, ref: Reference, r: Resolution, sources: string[]): void {
    const life = ttl(ref, r);
    if (life <= 0) return;
    const size = key.length * 2 + JSON.stringify(r).length * 2 + 64;
    if (size > opts.maxBytes) return;
    remove(key);
    entries.set(key, { value: r, sources, expires: clock() + life, bytes: size });
    bytes += size;
    while (entries.size > opts.maxEntries || bytes > opts.maxBytes) {
      const oldest = entries.keys().next().value as string;
      remove(oldest);
      emit('eviction');
    }
  }

  /** A fresh entry handed to a caller: the hit counted, its LRU position refreshed, the caller's secrets named. */
  function served(key: string, hit: Entry, o: O): Resolution {
    entries.delete(key);
    entries.set(key, hit);
    emit('hit');
    return forCaller(hit.value, hit.sources, o.credentials);
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
      generation++;
    },
    peek(ref, o) {
      let key: string;
      try {
        key = cacheKey(ref, o);
      } catch {
        return undefined; // resolve() turns the same failure into its answer
      }
      const hit = entries.get(key);
      return hit !== undefined && hit.expires > clock() ? served(key, hit, o) : undefined;
    },
    async resolve(ref, o) {
      const key = cacheKey(ref, o);
      const hit = entries.get(key);
      if (hit) {
        if (hit.expires > clock()) return served(key, hit, o);
        remove(key);
        emit('expired');
      }
      const sources = o.credentials.map((c) => c.source);
      const asked = generation;
      const gaveUp = () => ({ value: resolution('RegistryTimeout', o.image ?? ref.canonical, { reference: ref.canonical, detail: 'the review deadline was reached before the registry answered' }), sources });
      const { promise, joined } = inflight.share(`${asked}|${key}`, async (signal) => {
        // Shared across reviews: the lookup runs while any of them waits (the signal fires when none does), not
        // until the first one's deadline.
        const { deadline: _first, signal: _own, ...shared } = o;
        const value = await inner.resolve(ref, (o.signal ? { ...shared, signal } : o) as O);
        // An aborted lookup is unknown for the reviews that gave up; whatever it came to is no answer to keep.
        if (asked === generation && !signal.aborted) store(key, ref, value, sources);
        return { value, sources };
      }, o.signal ? { signal: o.signal, gaveUp } : undefined);
      emit(joined ? 'coalesced' : 'miss');
      return joined ? promise.then((r) => forCaller(r.value, r.sources, o.credentials)) : promise.then((r) => r.value);
    },
    close: () => inner.close(),
  };
}
