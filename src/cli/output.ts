// How `resolve` and `check` print results: human text or JSON, and the exit code they share.
import type { Finding } from '../verdict/finding.ts';
import { explainBody, formatPlatform } from '../verdict/explain.ts';
import { grammatical, isDigest, isTag, plain } from '../verdict/text.ts';

export const EXIT_OK = 0;
export const EXIT_DENY = 1;
export const EXIT_UNKNOWN = 2;
export const EXIT_USAGE = 3;

export const EXIT_CODES_TEXT = `Exit codes: 0 every image pulls, 1 some image cannot be pulled, 2 none cannot be pulled but some could
not be checked (registry down, rate limited, ...), 3 usage or configuration error.
`;

export function exitCode(findings: Finding[]): number {
  if (findings.some((f) => f.resolution.verdict === 'deny')) return EXIT_DENY;
  if (findings.some((f) => f.resolution.verdict === 'unknown')) return EXIT_UNKNOWN;
  return EXIT_OK;
}

export interface JsonResult {
  image: string;
  reference: string | null;
  verdict: 'allow' | 'deny' | 'unknown';
  reason: string;
  message: string;
  digest: string | null;
  platforms?: string[];
  suggestions?: string[];
  registryMessage?: string;
  credentialsTried: string[];
  credentialUsed?: string;
}

export function toJson(f: Finding): JsonResult {
  const r = f.resolution;
  return {
    image: r.image,
    reference: r.reference ?? null,
    verdict: r.verdict,
    reason: r.reason,
    message: explainBody(f),
    digest: r.digest ?? null,
    ...(r.platforms ? { platforms: r.platforms.map(formatPlatform) } : {}),
    // Registry text is data even in JSON: only tags that are tags, the message on one plain line.
    ...(r.suggestions?.some(isTag) ? { suggestions: r.suggestions.filter(isTag) } : {}),
    ...(r.registryMessage ? { registryMessage: plain(r.registryMessage) } : {}),
    credentialsTried: r.credentialsTried,
    ...(r.credentialUsed ? { credentialUsed: r.credentialUsed } : {}),
  };
}

/** The verdict as a person scanning CI output reads it, padded so the images line up. */
export function verdictMark(f: Finding): string {
  return f.resolution.verdict.toUpperCase().padEnd(7);
}

const INDENT = ' '.repeat(8);

/** One block per image: verdict and reason, the normalised reference, the digest, the explanation with the fix. */
export function formatHuman(f: Finding, heading?: string): string {
  const r = f.resolution;
  const lines = [`${verdictMark(f)} ${plain(heading ?? r.image)}  ${r.reason}`];
  if (r.reference && r.reference !== r.image) lines.push(`${INDENT}reference: ${plain(r.reference)}`);
  // The digest comes from the registry: shown only when it is one (src/verdict/text.ts).
  if (r.digest) lines.push(`${INDENT}digest:    ${grammatical(r.digest, isDigest)}`);
  if (r.verdict !== 'allow') lines.push(`${INDENT}${explainBody(f)}`);
  else if (r.matchedPlatform) lines.push(`${INDENT}platform:  ${formatPlatform(r.matchedPlatform)}`);
  return lines.join('\n');
}
