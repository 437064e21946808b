// Singleflight (Go's x/sync/singleflight): concurrent callers asking for the same key share one in-flight
// promise; the key is forgotten as soon as it settles, so a later caller asks again. The one copy in src/registry.
//
// Callers may bring an AbortSignal (their review's deadline): a caller whose signal aborts stops waiting and gets
// its own fallback, and the shared work is aborted (its signal fires) only when every caller has given up, so one
// review's deadline never cancels an answer another review still waits for. A caller without a signal waits for
// good. Work whose callers all gave up is forgotten at once: the next caller starts afresh.

export interface Waiter<V> {
  /** This caller's own abort (its review's deadline). */
  signal?: AbortSignal;
  /** What this caller gets when its signal aborts before the shared work settles. */
  gaveUp: () => V;
}

interface Flight<V> {
  promise: Promise<V>;
  controller: AbortController;
  /** Callers still waiting; the work is aborted when this reaches 0 before it settles. */
  waiters: number;
  settled: boolean;
}

export class Singleflight<V> {
  readonly #inflight = new Map<string, Flight<V>>();

  /** Runs `work` unless a call for `key` is already in flight; `joined` says whether this caller shared one. */
  run(key: string, work: (signal: AbortSignal) => Promise<V>): { promise: Promise<V>; joined: boolean } {
    return this.share(key, work);
  }

  /** The shared promise for `key` (or a new one). */
  do(key: string, work: (signal: AbortSignal) => Promise<V>): Promise<V> {
    return this.run(key, work).promise;
  }

  /**
   * Like run(), with this caller's abort: the caller gets `waiter.gaveUp()` when its signal aborts first, and the
   * work's signal fires once no caller waits any more.
   */
  share(key: string, work: (signal: AbortSignal) => Promise<V>, waiter?: Waiter<V>): { promise: Promise<V>; joined: boolean } {
    const signal = waiter?.signal;
    const pending = this.#inflight.get(key);
    if (signal?.aborted) return { promise: Promise.resolve(waiter!.gaveUp()), joined: pending !== undefined };
    let flight: Flight<V>;
    let joined = false;
    if (pending) {
      flight = pending;
      joined = true;
    } else {
      const controller = new AbortController();
      const f: Flight<V> = { promise: undefined as unknown as Promise<V>, controller, waiters: 0, settled: false };
      let started: Promise<V>;
      try {
        started = work(controller.signal);
      } catch (e) {
        started = Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
      f.promise = started.finally(() => {
        f.settled = true;
        if (this.#inflight.get(key) === f) this.#inflight.delete(key);
      });
      // Every caller may have given up: a rejection then has no one to go to.
      f.promise.catch(() => {});
      this.#inflight.set(key, f);
      flight = f;
    }
    flight.waiters++;
    if (!signal) return { promise: flight.promise, joined };
    const promise = new Promise<V>((resolve, reject) => {
      const leave = (): void => {
        signal.removeEventListener('abort', leave);
        flight.waiters--;
        if (flight.waiters === 0 && !flight.settled) {
          if (this.#inflight.get(key) === flight) this.#inflight.delete(key);
          flight.controller.abort(signal.reason);
        }
        resolve(waiter!.gaveUp());
      };
      // No `{ once: true }`: options cost EventTarget a validation per call (~3× an add without them), and every
      // path removes the listener itself (a signal aborts once).
      signal.addEventListener('abort', leave);
      flight.promise.then(
        (v) => {
          signal.removeEventListener('abort', leave);
          resolve(v);
        },
        (e: unknown) => {
          signal.removeEventListener('abort', leave);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
    return { promise, joined };
  }

  /** Whether a call for `key` is in flight (joining it costs nothing). */
  has(key: string): boolean {
    return this.#inflight.has(key);
  }

  get size(): number {
    return this.#inflight.size;
  }
}
