// Where an image's answer gets its verdict: the registry reports outcomes only, and the one table (reasons.ts)
// says what each means. Pod-level reasons (check.ts) are built here too, so every verdict comes from the table.
import type { Resolution as RegistryResolution } from '../registry/index.ts';
import type { ReasonCode, Resolution } from './finding.ts';
import { verdictOf } from './reasons.ts';

/** The registry's answer with the verdict of its outcome. */
export function classify(r: RegistryResolution): Resolution {
  const { definite, ...evidence } = r;
  void definite; // a cache concern (src/registry/resolution-cache.ts); the verdict says the rest
  return { ...evidence, verdict: verdictOf(r.reason) };
}

/** An answer decided here (or standing in for the registry's, e.g. at the deadline), with its verdict. */
export function resolution(reason: ReasonCode, image: string, fields: Omit<Partial<Resolution>, 'verdict' | 'reason' | 'image'> = {}): Resolution {
  return { credentialsTried: [], ...fields, verdict: verdictOf(reason), reason, image };
}
