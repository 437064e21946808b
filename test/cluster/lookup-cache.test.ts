import t from 'tap';
import { createLookupCache } from '../../src/cluster/lookup-cache.ts';
import type { Lookup } from '../../src/cluster/types.ts';

function setup(ttlMs = 1000, maxEntries?: number) {
  let now = 0;
  const cache = createLookupCache<string>({ ttlMs, clock: () => now, ...(maxEntries === undefined ? {} : { maxEntries }) });
  let loads = 0;
  const loader = (answer: Lookup<string>) => () => {
    loads++;
    return Promise.resolve(answer);
  };
  return { cache, loader, loads: () => loads, advance: (ms: number) => (now += ms) };
}

const found = (value: string): Lookup<string> => ({ found: true, value });

t.test('an answer is reused until its TTL has passed', async (t) => {
  const { cache, loader, loads, advance } = setup();
  t.same(await cache.get('k', loader(found('a'))), found('a'));
  advance(999);
  t.same(await cache.get('k', loader(found('b'))), found('a'));
  t.equal(loads(), 1);
  advance(1);
  t.same(await cache.get('k', loader(found('b'))), found('b'));
  t.equal(loads(), 2);
});

t.test('NotFound and Forbidden are cached, Unavailable is not', async (t) => {
  const { cache, loader, loads } = setup();
  for (const reason of ['NotFound', 'Forbidden'] as const) {
    await cache.get(reason, loader({ found: false, reason, message: '' }));
    t.same(await cache.get(reason, loader(found('x'))), { found: false, reason, message: '' }, reason);
  }
  t.equal(loads(), 2);
  await cache.get('u', loader({ found: false, reason: 'Unavailable', message: 'down' }));
  t.same(await cache.get('u', loader(found('up'))), found('up'));
  t.equal(loads(), 4);
});

t.test('concurrent lookups of one key share one load', async (t) => {
  const { cache } = setup();
  let release!: (v: Lookup<string>) => void;
  let loads = 0;
  const load = () => {
    loads++;
    return new Promise<Lookup<string>>((r) => (release = r));
  };
  const all = Promise.all(Array.from({ length: 10 }, () => cache.get('k', load)));
  const other = cache.get('other', () => Promise.resolve(found('o')));
  release(found('shared'));
  t.same(await all, Array.from({ length: 10 }, () => found('shared')));
  t.same(await other, found('o'));
  t.equal(loads, 1);
});

t.test('a load that throws is not cached and does not stay in flight', async (t) => {
  const { cache, loader } = setup();
  await t.rejects(cache.get('k', () => Promise.reject(new Error('bug'))), /bug/);
  t.same(await cache.get('k', loader(found('ok'))), found('ok'));
});

t.test('a TTL of 0 disables caching', async (t) => {
  const { cache, loader, loads } = setup(0);
  await cache.get('k', loader(found('a')));
  await cache.get('k', loader(found('a')));
  t.equal(loads(), 2);
  t.equal(cache.size, 0);
});

t.test('above maxEntries, expired entries go first, then the oldest', async (t) => {
  const { cache, loader, advance } = setup(100, 2);
  await cache.get('old', loader(found('1')));
  advance(100);
  await cache.get('a', loader(found('2')));
  await cache.get('b', loader(found('3')));
  t.equal(cache.size, 2, 'the expired entry was swept');
  await cache.get('c', loader(found('4')));
  t.equal(cache.size, 2);
  let reloaded = false;
  await cache.get('a', () => ((reloaded = true), Promise.resolve(found('2'))));
  t.ok(reloaded, 'the oldest live entry was dropped');
});

t.test('clear drops every entry', async (t) => {
  const { cache, loader, loads } = setup();
  await cache.get('k', loader(found('a')));
  cache.clear();
  await cache.get('k', loader(found('a')));
  t.equal(loads(), 2);
});

t.test('peek gives the fresh answer get would give, without loading; nothing once it expired, while in flight, or for Unavailable', async (t) => {
  const { cache, loader, loads, advance } = setup();
  t.equal(cache.peek('k'), undefined, 'never read');
  let release!: (v: Lookup<string>) => void;
  const inFlight = cache.get('k', () => new Promise((r) => (release = r)));
  t.equal(cache.peek('k'), undefined, 'in flight: nothing at hand yet');
  release(found('a'));
  await inFlight;
  t.same(cache.peek('k'), found('a'));
  t.equal(cache.peek('k'), await cache.get('k', loader(found('b'))), 'the very answer get hands out');
  t.equal(loads(), 0, 'peeking loads nothing');
  advance(1000);
  t.equal(cache.peek('k'), undefined, 'expired: the caller has to read again');
  t.same(await cache.get('k', loader(found('b'))), found('b'));
  t.equal(loads(), 1, 'the expired answer was read again');
  t.same(cache.peek('k'), found('b'));
  await cache.get('u', loader({ found: false, reason: 'Unavailable', message: 'down' }));
  t.equal(cache.peek('u'), undefined, 'an outage is never at hand');
});
