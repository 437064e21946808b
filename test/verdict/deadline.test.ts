// Waiting no longer than the deadline: the answer when it comes in time, the fallback when it does not, the
// error when it fails, and no timer left behind either way.
import t from 'tap';
import { allAtHand, asAsync, atHandBeforeDeadline, beforeDeadline, shareOfTimeLeft, whenAtHand } from '../../src/verdict/deadline.ts';

const activeTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

t.test('an answer in time is passed on, and its timer is cleared', async (t) => {
  const before = activeTimers();
  t.equal(await beforeDeadline(Promise.resolve('ok'), Date.now() + 60_000, () => 'late'), 'ok');
  t.equal(activeTimers(), before, 'no timer left for the next minute');
});

t.test('an answer that does not come by the deadline gets the fallback', async (t) => {
  const never = new Promise<string>(() => {});
  const started = Date.now();
  t.equal(await beforeDeadline(never, started + 30, () => 'late'), 'late');
  t.ok(Date.now() - started >= 25, 'not before the deadline');
});

t.test('a failure in time is passed on as a rejection, and its timer is cleared', async (t) => {
  const before = activeTimers();
  await t.rejects(beforeDeadline(Promise.reject(new Error('boom')), Date.now() + 60_000, () => 'late'), /boom/);
  t.equal(activeTimers(), before);
});

t.test('a deadline already behind answers the fallback at once, without waiting for the work', async (t) => {
  t.equal(await beforeDeadline(new Promise<string>(() => {}), Date.now() - 1, () => 'late'), 'late');
  t.equal(shareOfTimeLeft(100, 0.5, () => 200), 200, 'no time left: the share ends now');
  t.equal(shareOfTimeLeft(300, 0.25, () => 100), 150);
});

t.test('an answer at hand is taken as it is (no promise, no timer, nothing asked); none at hand is waited for as before', async (t) => {
  const before = activeTimers();
  let asked = 0;
  const ask = (): Promise<string> => {
    asked++;
    return new Promise<string>(() => {});
  };
  t.equal(atHandBeforeDeadline('cached', ask, Date.now() + 60_000, () => 'late'), 'cached', 'the value itself, not a promise of it');
  t.equal(asked, 0, 'nothing asked');
  t.equal(activeTimers(), before, 'no timer');
  t.equal(atHandBeforeDeadline('cached', ask, Date.now() - 1, () => 'late'), 'late', 'past the deadline: late, as beforeDeadline answers');
  const waited = atHandBeforeDeadline(undefined, ask, Date.now() + 30, () => 'late');
  t.ok(waited instanceof Promise, 'nothing at hand: asked, and waited for');
  t.equal(asked, 1);
  t.equal(await waited, 'late', 'until the deadline');
  t.equal(await atHandBeforeDeadline(undefined, () => Promise.resolve('read'), Date.now() + 60_000, () => 'late'), 'read');
});

t.test('values at hand are combined at once; a promise among them makes the whole a promise; a throw becomes a rejection', async (t) => {
  t.equal(whenAtHand(2, (v) => v * 3), 6, 'at hand: the result itself');
  const later = whenAtHand(Promise.resolve(2), (v) => v * 3);
  t.ok(later instanceof Promise);
  t.equal(await later, 6);
  t.same(allAtHand([1, 2]), [1, 2], 'all at hand: the array itself');
  const mixed = allAtHand([1, Promise.resolve(2)]);
  t.ok(mixed instanceof Promise, 'one promise among them: a promise of all');
  t.same(await mixed, [1, 2], 'in order');
  t.equal(asAsync(() => 'ok'), 'ok');
  const failed = asAsync((): string => {
    throw new Error('bug');
  });
  t.ok(failed instanceof Promise, 'a throw is not thrown');
  await t.rejects(failed as Promise<string>, /bug/, 'but given as an async function would give it');
});
