// Size caps on response bodies: a success body larger than the caller's limit is refused (read no further),
// an error or redirect body is only read for its diagnostics, so it is cut at 64 KiB and kept.

export const ERROR_BODY_MAX_BYTES = 64 * 1024;

/** Whether a declared Content-Length already exceeds the limit for a success answer (checked before reading). */
export function declaredTooLarge(contentLength: string | undefined, maxBytes: number, method: string, status: number): boolean {
  const declared = Number(contentLength);
  return Number.isFinite(declared) && declared > maxBytes && method !== 'HEAD' && status >= 200 && status <= 299;
}

/**
 * Collects a body chunk by chunk up to the cap: success bodies over `maxBytes` are refused (`add` says
 * 'tooLarge'), others are truncated to 64 KiB (`add` says 'full': read no further, keep what was read).
 */
export class CappedBody {
  readonly #cap: number;
  readonly #success: boolean;
  readonly #chunks: Buffer[] = [];
  #size = 0;

  constructor(maxBytes: number, success: boolean) {
    this.#success = success;
    this.#cap = success ? maxBytes : Math.min(maxBytes, ERROR_BODY_MAX_BYTES);
  }

  add(chunk: Buffer): 'more' | 'full' | 'tooLarge' {
    if (this.#size + chunk.length > this.#cap) {
      if (this.#success) return 'tooLarge';
      this.#chunks.push(chunk.subarray(0, this.#cap - this.#size));
      this.#size = this.#cap;
      return 'full';
    }
    this.#size += chunk.length;
    this.#chunks.push(chunk);
    return 'more';
  }

  /** A copy: the chunks are views of the socket's reads, which a cached answer must not keep alive. */
  body(): Buffer {
    return Buffer.concat(this.#chunks, this.#size);
  }
}
