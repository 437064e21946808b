// Singleflight (Go's x/sync/singleflight): concurrent callers asking for the same key share one in-flight
// promise; the key is forgotten as soon as it settles, so a later caller asks again. The one copy in src/registry.

export class Singleflight<V> {
  readonly #inflight = new Map<string, Promise<V>>();

  /** Runs `work` unless a call for `key` is already in flight; `joined` says whether this caller shared one. */
  run(key: string, work: () => Promise<V>): { promise: Promise<V>; joined: boolean } {
    const pending = this.#inflight.get(key);
    if (pending) return { promise: pending, joined: true };
    const promise = work().finally(() => {
      if (this.#inflight.get(key) === promise) this.#inflight.delete(key);
    });
    this.#inflight.set(key, promise);
    return { promise, joined: false };
  }

  /** The shared promise for `key` (or a new one). */
  do(key: string, work: () => Promise<V>): Promise<V> {
    return this.run(key, work).promise;
  }

  /** Whether a call for `key` is in flight (joining it costs nothing). */
  has(key: string): boolean {
    return this.#inflight.has(key);
  }

  get size(): number {
    return this.#inflight.size;
  }
}
