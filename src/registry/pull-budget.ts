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

  /** Takes `pulls` from the budget unless that would go below the reserve; false (and what is left) when not. */
  take(host: string, reserve: number, pulls = 1): { ok: true } | { ok: false; remaining: number } {
    const known = this.#hosts.get(host);
    if (!known) return { ok: true };
    if (known.estimate - pulls < reserve) return { ok: false, remaining: known.estimate };
    known.estimate -= pulls;
    return { ok: true };
  }
}
