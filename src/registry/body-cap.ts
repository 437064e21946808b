// Size caps on response bodies: a success body larger than the caller's limit is refused (read no further),
// an error or redirect body is only read for its diagnostics, so it is cut at 64 KiB and kept.
import type { Readable } from 'node:stream';

export const ERROR_BODY_MAX_BYTES = 64 * 1024;

export type CappedBody = { ok: true; body: Buffer } | { ok: false; tooLarge: true };

/** Whether a declared Content-Length already exceeds the limit for a success answer (checked before reading). */
export function declaredTooLarge(contentLength: string | undefined, maxBytes: number, method: string, status: number): boolean {
  const declared = Number(contentLength);
  return Number.isFinite(declared) && declared > maxBytes && method !== 'HEAD' && status >= 200 && status <= 299;
}

/** Reads at most the cap: success bodies over `maxBytes` are refused, others are truncated to 64 KiB. */
export async function readCapped(body: Readable, maxBytes: number, success: boolean): Promise<CappedBody> {
  const cap = success ? maxBytes : Math.min(maxBytes, ERROR_BODY_MAX_BYTES);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size + chunk.length > cap) {
      body.destroy();
      if (success) return { ok: false, tooLarge: true };
      chunks.push(chunk.subarray(0, cap - size));
      size = cap;
      break;
    }
    size += chunk.length;
    chunks.push(chunk);
  }
  return { ok: true, body: Buffer.concat(chunks, size) };
}
