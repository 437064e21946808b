import t from 'tap';
import { parseReference, type Reference } from '../../src/reference/reference.ts';
import { cacheKey, credentialIdentity, withResolutionCache, type ResolveOptionsLike } from '../../src/registry/resolution-cache.ts';
import { resolution, type Resolution, type RegistryOutcome } from '../../src/registry/resolution.ts';

function ref(s: string): Reference {
  const p = parseReference(s);
  if (!p.ok) throw new Error(p.error.message);
  return p.reference;
}

/** A resolver that counts calls and answers what the test says, optionally only when released. */
function fakeResolver(answer: (r: Reference) => RegistryOutcome) {
  const calls: string[] = [];
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  return {
    calls,
    hold() {
      gate = new Promise((r) => (release = r));
    },
    open() {
      release?.();
    },
    async resolve(r: Reference, _o: ResolveOptionsLike): Promise<Resolution> {
      calls.push(r.canonical);
      if (gate) await gate;
      return resolution(answer(r), r.canonical, { reference: r.canonical });
    },
    async close() {},
  };
}

const none: ResolveOptionsLike = { platforms: [], credentials: [] };
const opts = { digestTtlMs: 100_000, tagTtlMs: 1000, negativeTtlMs: 100, maxEntries: 100, maxBytes: 1_000_000 };

t.test('concurrent identical lookups share one registry request', async (t) => {
  const inner = fakeResolver(() => 'Resolved');
  const events: string[] = [];
  const cache = withResolutionCache(inner, { ...opts, onEvent: (e) => events.push(e) });
  inner.hold();
  const all = Array.from({ length: 500 }, () => cache.resolve(ref('nginx:1.25'), none));
  inner.open();
  const results = await Promise.all(all);
  t.equal(inner.calls.length, 1, 'one request for 500 lookups');
  t.ok(results.every((r) => r.reason === 'Resolved'));
  t.equal(events.filter((e) => e === 'coalesced').length, 499);
});

t.test('tags expire after the tag TTL, digests after the digest TTL, negatives sooner', async (t) => {
  let now = 0;
  const inner = fakeResolver((r) => (r.tag === 'missing' ? 'TagNotFound' : 'Resolved'));
  const cache = withResolutionCache(inner, { ...opts, clock: () => now });
  const digest = `nginx@sha256:${'a'.repeat(64)}`;
  await cache.resolve(ref('nginx:1.25'), none);
  await cache.resolve(ref(digest), none);
  await cache.resolve(ref('nginx:missing'), none);
  t.equal(inner.calls.length, 3);
  now = 50;
  await Promise.all([cache.resolve(ref('nginx:1.25'), none), cache.resolve(ref(digest), none), cache.resolve(ref('nginx:missing'), none)]);
  t.equal(inner.calls.length, 3, 'all three cached within the shortest TTL');
  now = 500;
  await cache.resolve(ref('nginx:missing'), none);
  await cache.resolve(ref('nginx:1.25'), none);
  t.equal(inner.calls.length, 4, 'the negative expired, the tag did not');
  now = 5000;
  await cache.resolve(ref('nginx:1.25'), none);
  await cache.resolve(ref(digest), none);
  t.equal(inner.calls.length, 5, 'the tag expired, the digest did not');
});

t.test('unknown answers are never cached', async (t) => {
  const inner = fakeResolver(() => 'RegistryTimeout');
  const cache = withResolutionCache(inner, opts);
  await cache.resolve(ref('nginx'), none);
  await cache.resolve(ref('nginx'), none);
  t.equal(inner.calls.length, 2);
  t.equal(cache.size, 0);
});

t.test('different credentials or platforms are different questions', async (t) => {
  const inner = fakeResolver(() => 'Resolved');
  const cache = withResolutionCache(inner, opts);
  const a = { source: 'secret a', key: 'docker.io', username: 'u', password: 'p1' };
  const b = { ...a, password: 'p2' };
  await cache.resolve(ref('nginx'), { platforms: [], credentials: [a] });
  await cache.resolve(ref('nginx'), { platforms: [], credentials: [b] });
  await cache.resolve(ref('nginx'), { platforms: [{ os: 'linux', architecture: 'arm64' }], credentials: [a] });
  await cache.resolve(ref('nginx'), { platforms: [], credentials: [a] });
  t.equal(inner.calls.length, 3);
  t.notMatch(cacheKey(ref('nginx'), { platforms: [], credentials: [a] }), /p1/, 'no secret in the key');
  t.not(credentialIdentity(a), credentialIdentity(b));
});

t.test('memory is bounded by entry count and bytes, evicting the least recently used', async (t) => {
  const inner = fakeResolver(() => 'Resolved');
  const events: string[] = [];
  const cache = withResolutionCache(inner, { ...opts, maxEntries: 10, onEvent: (e) => events.push(e) });
  for (let i = 0; i < 30; i++) await cache.resolve(ref(`img${i}:1`), none);
  t.equal(cache.size, 10);
  t.equal(events.filter((e) => e === 'eviction').length, 20);
  const small = withResolutionCache(fakeResolver(() => 'Resolved'), { ...opts, maxBytes: 4000 });
  for (let i = 0; i < 100; i++) await small.resolve(ref(`img${i}:1`), none);
  t.ok(small.bytes <= 4000, `bytes ${small.bytes} within 4000`);
  t.ok(small.size > 0 && small.size < 100);
});

t.test('an answer shared with another caller names that caller\'s own secrets', async (t) => {
  const inner = {
    async resolve(r: Reference, o: ResolveOptionsLike): Promise<Resolution> {
      return resolution('CredentialsRejected', r.canonical, { credentialsTried: [...o.credentials.map((c) => c.source), 'anonymous'] });
    },
    async close() {},
  };
  const cache = withResolutionCache(inner, opts);
  const same = { key: '127.0.0.1:5000', username: 'u', password: 'p' };
  const a = await cache.resolve(ref('127.0.0.1:5000/x:1'), { platforms: [], credentials: [{ ...same, source: 'secret demo/a' }] });
  const b = await cache.resolve(ref('127.0.0.1:5000/x:1'), { platforms: [], credentials: [{ ...same, source: 'secret other/b' }] });
  t.same(a.credentialsTried, ['secret demo/a', 'anonymous']);
  t.same(b.credentialsTried, ['secret other/b', 'anonymous'], 'a cache hit is renamed for the caller');
  const c = cache.peek(ref('127.0.0.1:5000/x:1'), { platforms: [], credentials: [{ ...same, source: 'secret third/c' }] });
  t.same(c?.credentialsTried, ['secret third/c', 'anonymous'], 'and so is a peeked one');
});

t.test('platforms differing only in the Windows osVersion are different questions', async (t) => {
  const win = (osVersion: string) => ({ os: 'windows', architecture: 'amd64', osVersion });
  const k2019 = cacheKey(ref('app'), { platforms: [win('10.0.17763')], credentials: [] });
  const k2022 = cacheKey(ref('app'), { platforms: [win('10.0.20348')], credentials: [] });
  const unknown = cacheKey(ref('app'), { platforms: [{ os: 'windows', architecture: 'amd64' }], credentials: [] });
  t.not(k2019, k2022, 'a 2019-pinned pod does not share the answer of a 2022-pinned one');
  t.not(k2019, unknown, 'nor with a pod of unknown build');
  const inner = fakeResolver(() => 'Resolved');
  const cache = withResolutionCache(inner, opts);
  await cache.resolve(ref('app'), { platforms: [win('10.0.17763')], credentials: [] });
  await cache.resolve(ref('app'), { platforms: [win('10.0.20348')], credentials: [] });
  t.equal(inner.calls.length, 2, 'each pin is asked of the registry');
});

t.test('after clear() (the node files changed), an answer asked for before it is neither stored nor joined', async (t) => {
  let answer: RegistryOutcome = 'TagNotFound';
  const inner = fakeResolver(() => answer);
  // The answer is fixed when the question is asked (the files of that moment), not when it is released.
  const cache = withResolutionCache({ ...inner, resolve: (r: Reference, o: ResolveOptionsLike) => { const a = answer; return inner.resolve(r, o).then((x) => ({ ...x, reason: a, definite: true })); } }, opts);
  inner.hold();
  const before = cache.resolve(ref('nginx:1.25'), none);
  cache.clear();
  // The new files (say, a mirror that has the tag) answer the questions asked from now on.
  answer = 'Resolved';
  const after = cache.resolve(ref('nginx:1.25'), none);
  inner.open();
  t.equal((await before).reason, 'TagNotFound', 'the question asked before the reload gets its own answer');
  t.equal((await after).reason, 'Resolved', 'a question asked after it does not join the old one');
  t.equal(inner.calls.length, 2, 'asked again under the new files');
  const cached = await cache.resolve(ref('nginx:1.25'), none);
  t.equal(cached.reason, 'Resolved', 'the old "not found" was not stored over the new answer');
  t.equal(inner.calls.length, 2, 'and the new answer is the one cached');
});

t.test('a shared lookup goes on while one caller waits, is aborted when every caller has given up, and is then not cached', async (t) => {
  const seen: { signal: AbortSignal | undefined; deadline: number | undefined }[] = [];
  let release: (() => void) | undefined;
  const inner = {
    async resolve(r: Reference, o: ResolveOptionsLike): Promise<Resolution> {
      seen.push({ signal: o.signal, deadline: o.deadline });
      await new Promise<void>((resolve) => (release = resolve));
      // What an aborted lookup may come to: a definite-looking answer must still not be kept.
      return resolution('TagNotFound', r.canonical, { reference: r.canonical });
    },
    async close() {},
  };
  const cache = withResolutionCache(inner, opts);
  const [a, b] = [new AbortController(), new AbortController()];
  const first = cache.resolve(ref('nginx:gone'), { ...none, deadline: Date.now() + 10, signal: a.signal });
  const second = cache.resolve(ref('nginx:gone'), { ...none, deadline: Date.now() + 10_000, signal: b.signal });
  t.equal(seen.length, 1, 'one lookup for both');
  t.equal(seen[0]?.deadline, undefined, 'the shared lookup is not bound to the first caller\'s deadline');
  a.abort();
  const mine = await first;
  t.equal(mine.reason, 'RegistryTimeout', 'the caller that gave up gets unknown');
  t.equal(mine.definite, false, 'and not a definite one');
  t.equal(seen[0]?.signal?.aborted, false, 'the lookup goes on for the other caller');
  release?.();
  t.equal((await second).reason, 'TagNotFound', 'the other caller gets the answer');
  t.equal(cache.size, 1, 'an answer someone waited for is kept');

  cache.clear();
  const [c, d] = [new AbortController(), new AbortController()];
  const third = cache.resolve(ref('nginx:gone'), { ...none, signal: c.signal });
  const fourth = cache.resolve(ref('nginx:gone'), { ...none, signal: d.signal });
  c.abort();
  t.equal(seen[1]?.signal?.aborted, false);
  d.abort();
  t.equal(seen[1]?.signal?.aborted, true, 'aborted once no caller waits');
  t.same([(await third).reason, (await fourth).reason], ['RegistryTimeout', 'RegistryTimeout']);
  release?.();
  await new Promise((r) => setImmediate(r));
  t.equal(cache.size, 0, 'what the aborted lookup came to is not cached');
  const fifth = cache.resolve(ref('nginx:gone'), none);
  t.equal(seen.length, 3, 'the next caller asks afresh rather than joining the aborted lookup');
  release?.();
  t.equal((await fifth).reason, 'TagNotFound');
});

t.test('peek hands out what resolve would from a fresh entry, counted as a hit, and asks nothing otherwise', async (t) => {
  let now = 0;
  const inner = fakeResolver(() => 'Resolved');
  const events: string[] = [];
  const cache = withResolutionCache(inner, { ...opts, clock: () => now, onEvent: (e) => events.push(e) });
  t.equal(cache.peek(ref('nginx:1.25'), none), undefined, 'no entry: nothing at hand');
  t.same(events, [], 'and nothing counted');
  const asked = await cache.resolve(ref('nginx:1.25'), none);
  t.equal(inner.calls.length, 1);
  const peeked = cache.peek(ref('nginx:1.25'), none);
  t.same(peeked, asked, 'the same answer');
  t.same(peeked, await cache.resolve(ref('nginx:1.25'), none), 'as a cached resolve gives');
  t.same(events, ['miss', 'hit', 'hit'], 'a peek is a hit like any other');
  t.equal(cache.peek(ref('nginx:1.25'), { platforms: [{ os: 'linux', architecture: 'arm64' }], credentials: [] }), undefined, 'another question is another entry');
  now = 1000;
  t.equal(cache.peek(ref('nginx:1.25'), none), undefined, 'expired: nothing at hand');
  t.equal(inner.calls.length, 1, 'peeking asked nothing');
  await cache.resolve(ref('nginx:1.25'), none);
  t.equal(inner.calls.length, 2, 'resolve asks again');
  t.equal(cache.peek(ref('nginx:1.25'), { platforms: null, credentials: [] } as unknown as ResolveOptionsLike), undefined, 'options it cannot key: nothing, and no throw');
});

t.test('the platforms of a question are one key in any order, however many', async (t) => {
  const p = (architecture: string, variant?: string) => ({ os: 'linux', architecture, ...(variant ? { variant } : {}) });
  const key = (platforms: ResolveOptionsLike['platforms']) => cacheKey(ref('nginx:1'), { platforms, credentials: [] });
  t.equal(key([p('amd64'), p('arm64')]), key([p('arm64'), p('amd64')]), 'two');
  t.equal(key([p('arm', 'v7'), p('amd64'), p('arm64')]), key([p('arm64'), p('arm', 'v7'), p('amd64')]), 'three');
  t.not(key([p('amd64')]), key([p('arm64')]), 'one is itself');
  t.not(key([p('amd64'), p('arm64')]), key([p('amd64'), p('amd64')]), 'two different from two alike');
});
