// One audit run asks each distinct registry question once: (image, credentials, platforms) as the resolution cache
// keys it, plus the credentials' sources so every answer names the caller's own secrets. Unlike the shared cache it
// keeps `unknown` answers for the run too: a registry that is down is asked once, not once per workload. Optionally
// paced: new questions are spaced evenly, so a continuous audit spreads its registry traffic over its interval.
import type { Reference } from '../reference/reference.ts';
import { cacheKey, type RegistryClient, type Resolution } from '../registry/index.ts';

type Resolve = Pick<RegistryClient, 'resolve'>;

export interface RunQuestions extends Pick<RegistryClient, 'resolve' | 'close'> {
  /** Distinct questions asked of the registry layer in this run. */
  readonly asked: number;
  /** Questions answered from this run's memo. */
  readonly reused: number;
}

/** Spaces calls `spacingMs` apart; `stop()` releases every waiter at once (the run is over). */
export interface Pacer {
  slot(): Promise<void>;
  stop(): void;
}

export function createPacer(spacingMs: number, clock: () => number = Date.now): Pacer {
  let next = 0;
  const stopped = new AbortController();
  return {
    slot() {
      if (spacingMs <= 0 || stopped.signal.aborted) return Promise.resolve();
      const now = clock();
      const at = Math.max(now, next);
      next = at + spacingMs;
      if (at <= now) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, at - now);
        function done() {
          clearTimeout(timer);
          stopped.signal.removeEventListener('abort', done);
          resolve();
        }
        stopped.signal.addEventListener('abort', done, { once: true });
      });
    },
    stop() {
      stopped.abort();
    },
  };
}

export function runQuestions(registry: Resolve, pacer?: Pacer): RunQuestions {
  const answers = new Map<string, Promise<Resolution>>();
  let asked = 0;
  let reused = 0;
  return {
    get asked() {
      return asked;
    },
    get reused() {
      return reused;
    },
    resolve(ref: Reference, opts) {
      const key = `${cacheKey(ref, opts)}|${opts.credentials.map((c) => c.source).join(',')}`;
      const known = answers.get(key);
      if (known) {
        reused++;
        return known;
      }
      asked++;
      const answer = (pacer ? pacer.slot() : Promise.resolve()).then(() => registry.resolve(ref, opts));
      answers.set(key, answer);
      return answer;
    },
    /** The registry client underneath belongs to the runtime, which closes it. */
    close: () => Promise.resolve(),
  };
}
