// The platforms an image offers, by endpoint + repository + digest: content-addressed, so never stale. Concurrent
// lookups of one digest share one read (one manifest GET, one config blob GET), however many tags point at it.
import type { Result } from './exchange.ts';
import type { Platform } from './resolution.ts';
import { abandoned } from './errors.ts';
import { Singleflight } from './singleflight.ts';

export interface OfferedPlatforms {
  /** Undefined: the image config does not state a platform. */
  offered?: Platform[];
  nested: boolean;
  /** Index entries without a platform that were not inspected. */
  skipped?: number;
  /** OCI index entries without a platform, inspected or not: CRI-O takes one when no entry matches (c/image oci_index.go). */
  platformless?: number;
  /** Why the image cannot be run at all (an OCI artifact): no platform applies. */
  unsupported?: string;
}

const MAX_ENTRIES = 2048;

export class PlatformCache {
  readonly #entries = new Map<string, OfferedPlatforms>();
  readonly #reads = new Singleflight<Result<OfferedPlatforms>>();

  get(key: string): OfferedPlatforms | undefined {
    return this.#entries.get(key);
  }

  /** Whether a read of `key` is already in flight (joining it costs no request). */
  reading(key: string): boolean {
    return this.#reads.has(key);
  }

  /** `signal`: the caller's; it stops waiting when it fires, and the read is aborted when no caller waits. */
  async read(key: string, work: (signal?: AbortSignal) => Promise<Result<OfferedPlatforms>>, signal?: AbortSignal): Promise<Result<OfferedPlatforms>> {
    const cached = this.#entries.get(key);
    if (cached) return { ok: true, value: cached };
    const got = signal
      ? await this.#reads.share(key, async (shared) => {
        const r = await work(shared);
        // Aborted part-way, a read may list fewer platforms than the image has: never an answer to keep.
        return shared.aborted ? { ok: false, error: abandoned('manifest') } : r;
      }, { signal, gaveUp: () => ({ ok: false, error: abandoned('manifest') }) }).promise
      : await this.#reads.do(key, () => work());
    if (got.ok) this.keep(key, got.value);
    return got;
  }

  /** Keeps what a read found (also one done without `read`: an index in hand needs no request). */
  keep(key: string, value: OfferedPlatforms): void {
    // Only definite platform lists are kept; an artifact or a config without a platform is asked again.
    if (value.offered === undefined || value.unsupported) return;
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(key, value);
  }
}
