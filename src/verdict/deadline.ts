// The review's deadline budget, and waiting for I/O no longer than it: whatever has not answered by its share of
// the time gets a fallback value.
//
// One review has until `deadline` (the API server's timeout less a margin and the answer reserve, src/admission/
// server.ts). Within it:
// - the namespace label read (mode resolution, src/verdict/review.ts) may take NAMESPACE_READ_SHARE of the time left;
// - the check's API server reads (pull secrets, the ServiceAccount, nodes; src/verdict/check.ts) together may take
//   CLUSTER_READS_SHARE of the time left when the check starts;
// - the registry gets everything up to the deadline; an image still unresolved then is RegistryTimeout (unknown).

/** Share of the time left that reading the namespace's mode label may take: a slow API server leaves the check ¾. */
export const NAMESPACE_READ_SHARE = 1 / 4;
/** Share of the time left that the check's API server reads may take: the registry keeps at least half. */
export const CLUSTER_READS_SHARE = 1 / 2;

/** The instant `share` of the time from now to `deadline` has passed (now, when the deadline is behind us). */
export function shareOfTimeLeft(deadline: number, share: number, clock: () => number = Date.now): number {
  const now = clock();
  return now + Math.max(0, deadline - now) * share;
}

/** `p`, or `late()` if the deadline (epoch ms on `clock`) comes first; the work behind `p` carries on unobserved. */
export function beforeDeadline<T>(p: Promise<T>, deadline: number, late: () => T, clock: () => number = Date.now): Promise<T> {
  const left = deadline - clock();
  if (left <= 0) return Promise.resolve(late());
  // One promise and one timer (not race + finally: four promises), since every review waits here several times.
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => resolve(late()), left);
    p.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err as Error);
      },
    );
  });
}

/**
 * beforeDeadline for an answer that may be at hand already (`atHand`, e.g. a fresh cached lookup): taken as it
 * is, with no promise and no timer, unless the deadline has passed, where beforeDeadline would answer `late()` too.
 * Otherwise `ask()` is waited for as beforeDeadline waits.
 */
export function atHandBeforeDeadline<T>(atHand: T | undefined, ask: () => Promise<T>, deadline: number, late: () => T, clock: () => number = Date.now): T | Promise<T> {
  if (atHand === undefined) return beforeDeadline(ask(), deadline, late, clock);
  return deadline - clock() > 0 ? atHand : late();
}

/** `then(value)` now when `value` is at hand (not a promise), else once it settles. `T` is never itself a promise. */
export function whenAtHand<T, U>(value: T | Promise<T>, then: (value: T) => U | Promise<U>): U | Promise<U> {
  return value instanceof Promise ? value.then(then) : then(value);
}

/** The values as an array now when every one is at hand, else Promise.all of them. */
export function allAtHand<T>(values: readonly (T | Promise<T>)[]): T[] | Promise<T[]> {
  return values.some((v) => v instanceof Promise) ? Promise.all(values) : (values as T[]);
}

/**
 * What an async function running `make` would give: its value, or its exception as a rejected promise rather than a
 * throw, so that a list of such values still has every member made and every failure observed (allAtHand).
 */
export function asAsync<T>(make: () => T | Promise<T>): T | Promise<T> {
  try {
    return make();
  } catch (err) {
    return Promise.reject(err as Error);
  }
}
