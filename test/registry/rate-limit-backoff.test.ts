import t from 'tap';
import { parseReference, type Reference } from '../../src/reference/reference.ts';
import { withRateLimitBackoff } from '../../src/registry/rate-limit-backoff.ts';
import { resolution, type Resolution } from '../../src/registry/resolution.ts';
import { verdictOf } from '../../src/verdict/reasons.ts';

function ref(s: string): Reference {
  const p = parseReference(s);
  if (!p.ok) throw new Error(p.error.message);
  return p.reference;
}

t.test('after a 429 a registry gets no request until its Retry-After has passed; others are unaffected', async (t) => {
  let now = 1_000_000;
  const calls: string[] = [];
  let limited = true;
  const inner = {
    async resolve(r: Reference): Promise<Resolution> {
      calls.push(r.canonical);
      if (r.registry === 'docker.io' && limited) return resolution('RateLimited', r.canonical, { retryAfterSeconds: 30 });
      return resolution('Resolved', r.canonical);
    },
    async close() {},
  };
  const b = withRateLimitBackoff(inner, { defaultMs: 60_000, maxMs: 600_000, clock: () => now });
  const none = { platforms: [], credentials: [] };
  t.equal((await b.resolve(ref('nginx:1'), none)).reason, 'RateLimited');
  t.same([...b.backingOff()], [['docker.io', now + 30_000]], 'docker.io backs off for its Retry-After');
  const during = await Promise.all(Array.from({ length: 50 }, (_, i) => b.resolve(ref(`img${i}:1`), none)));
  t.ok(during.every((r) => r.reason === 'RateLimited' && verdictOf(r.reason) === 'unknown'), 'answered unknown during the back-off');
  t.equal(calls.length, 1, 'no request sent during the back-off');
  t.equal((await b.resolve(ref('quay.io/x/y:1'), none)).reason, 'Resolved', 'another registry still asked');
  now += 31_000;
  limited = false;
  t.equal((await b.resolve(ref('nginx:1'), none)).reason, 'Resolved', 'asked again after Retry-After');
  t.equal(b.backingOff().size, 0);
});

t.test('without Retry-After the default applies, capped by the maximum', async (t) => {
  const now = 0;
  const inner = { resolve: async (r: Reference) => resolution('RateLimited', r.canonical, { retryAfterSeconds: 86_400 }), close: async () => {} };
  const b = withRateLimitBackoff(inner, { defaultMs: 1000, maxMs: 5000, clock: () => now });
  await b.resolve(ref('nginx'), { platforms: [], credentials: [] });
  t.equal(b.backingOff().get('docker.io'), 5000, 'a day-long Retry-After is capped');
});
