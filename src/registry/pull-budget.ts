// Docker Hub's pull budget: every manifest GET counts as a pull, HEADs do not, and each answer says how many are
// left (`ratelimit-remaining`). A platform check needs GETs; when the budget is at or below the reserve, the check
// is skipped (unknown) so the nodes keep the pulls they need. Concurrent checks draw on one running estimate, so a
// burst of new tags cannot spend past the reserve between two answers.

/** Observations older than this are replaced, not merged: the window moves and the budget refills. */
const FRESH_MS = 60_000;
const MAX_HOSTS = 1024;

export class PullBudget {
  readonly #clock: () => number;
  readonly #hosts = new Map<string, { estimate: number; at: number }>();
  /** Per host, once a manifest answer told: true when it announces a pull budget (its GETs are counted). */
  readonly #metered = new Map<string, boolean>();
  /** The first manifest HEAD to a host, which the others wait for before they decide whether to GET at once. */
  readonly #probes = new Map<string, Promise<void>>();

  constructor(clock: () => number) {
    this.#clock = clock;
  }

  /** Records what an answer said is left. */
  observe(host: string, remaining: number): void {
    const now = this.#clock();
    const known = this.#hosts.get(host);
    const estimate = known && now - known.at < FRESH_MS ? Math.min(known.estimate, remaining) : remaining;
    this.#hosts.delete(host);
    if (this.#hosts.size >= MAX_HOSTS) this.#hosts.delete(this.#hosts.keys().next().value as string);
    this.#hosts.set(host, { estimate, at: now });
  }

  /**
   * Whether a manifest GET to `host` may spend a pull: true when an answer from it announced a budget, false when
   * one did not, undefined before any answer.
   */
  metered(host: string): boolean | undefined {
    return this.#metered.get(host);
  }

  /** The manifest HEAD that is learning whether `host` is metered, if one is in flight: wait for it, then ask again. */
  probing(host: string): Promise<void> | undefined {
    return this.#probes.get(host);
  }

  /** The caller is about to HEAD a manifest on a host not heard from: others wait for it; call the result when it answered. */
  probe(host: string): () => void {
    if (this.#metered.has(host) || this.#probes.has(host)) return () => {};
    let finish!: () => void;
    this.#probes.set(host, new Promise<void>((resolve) => (finish = resolve)));
    return () => {
      this.#probes.delete(host);
      finish();
    };
  }

  /** Records whether a manifest answer from `host` carried a pull budget (`ratelimit-remaining`). */
  heard(host: string, remaining: number | undefined): void {
    // Once metered, always metered: an answer without the header (an error, a proxy) does not lift it.
    if (this.#metered.get(host) === true) return;
    this.#metered.delete(host);
    if (this.#metered.size >= MAX_HOSTS) this.#metered.delete(this.#metered.keys().next().value as string);
    this.#metered.set(host, remaining !== undefined);
  }

  /** Takes `pulls` from the budget unless that would go below the reserve; false (and what is left) when not. */
  take(host: string, reserve: number, pulls = 1): { ok: true } | { ok: false; remaining: number } {
    const known = this.#hosts.get(host);
    if (!known) return { ok: true };
    if (known.estimate - pulls < reserve) return { ok: false, remaining: known.estimate };
    known.estimate -= pulls;
    return { ok: true };
  }
}
