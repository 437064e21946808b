// Words for people: one long line per problem for the denial message, the audit annotations and the logs. The
// wording of each reason is in reasons.ts; warnings (the short form) are in warnings.ts.
import { reasonRow } from './reasons.ts';
import type { Finding } from './finding.ts';
import { plain, quote } from './text.ts';

export { formatPlatform } from './text.ts';
export { shortWarning, WARNING_MAX_CHARS, WARNING_TARGET_CHARS } from './warnings.ts';

/** `container "app" (spec.containers[0].image)` — the exact place to edit. */
export function where(f: Finding): string {
  const t = f.target;
  const noun = t.field === 'volumes' ? 'image volume' : t.field === 'initContainers' ? 'init container' : t.field === 'ephemeralContainers' ? 'ephemeral container' : 'container';
  return `${noun} ${quote(t.containerName, 63)} (${plain(t.fieldPath, 200)})`;
}

/** The full explanation: place (unless `place: false`), image as written, reason, what happened, fix. */
export function explain(f: Finding, opts: { place?: boolean } = {}): string {
  const r = f.resolution;
  const head = opts.place === false ? `image ${quote(r.image)}` : `${where(f)}: image ${quote(r.image)}`;
  return plain(`${head}: ${r.reason}: ${explainBody(f)}`);
}

/** What happened and the fix, without the place or the image (for the CLI, which prints those itself). */
export function explainBody(f: Finding): string {
  const row = reasonRow(f.resolution.reason);
  const tail = row.fix(f);
  return plain(`${row.what(f)}${tail ? ` ${tail}` : ''}`);
}
