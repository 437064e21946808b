// The resolver's answer for one image: a registry outcome (definite or temporary) and the evidence behind it.
// The verdict it means, deciding what to do with it (enforce, warn) and wording it for people live in src/verdict.

/**
 * What the registry client can find out about an image: the stable reason codes it produces (never rename one: users
 * alert and filter on them). The verdict each means is decided in src/verdict/reasons.ts, one row per code.
 */
export type RegistryOutcome =
  | 'Resolved'
  | 'TagNotFound'
  | 'DigestNotFound'
  | 'RepositoryNotFound'
  | 'AuthRequired'
  | 'CredentialsRejected'
  | 'AccessDenied'
  | 'PlatformMismatch'
  | 'UnsupportedManifest'
  | 'RegistryBlocked'
  | 'AmbiguousShortName'
  | 'NodeCredentialsAssumed'
  | 'RateLimited'
  | 'PullBudgetLow'
  | 'RegistryUnreachable'
  | 'RegistryTimeout'
  | 'RegistryError';

// Definite answers about the image: cached, and a refusal among them is certain. Any other outcome (the registry
// was down, slow, limiting, or we could not see) is temporary: asked again, never cached. Listing definite ones
// makes the safe default: an outcome added without thought here is treated as temporary.
const DEFINITE: ReadonlySet<RegistryOutcome> = new Set<RegistryOutcome>([
  'Resolved',
  'TagNotFound',
  'DigestNotFound',
  'RepositoryNotFound',
  'AuthRequired',
  'CredentialsRejected',
  'AccessDenied',
  'PlatformMismatch',
  'UnsupportedManifest',
  'RegistryBlocked',
  // AmbiguousShortName is not here: whether CRI-O enforces short names is in crio.conf, which pullguard cannot read.
]);

/** A definite answer about the image (cacheable; a refusal that is certain), not a temporary one. */
export function isDefinite(outcome: RegistryOutcome): boolean {
  return DEFINITE.has(outcome);
}

/** Why a registry could not be reached, when reason is RegistryUnreachable. */
export type UnreachableCause = 'dns' | 'refused' | 'reset' | 'tls' | 'proxy' | 'network';

/** The platform value type lives with the other shared value types in src/reference. */
export type { Platform } from '../reference/platform.ts';
import type { Platform } from '../reference/platform.ts';

/** One credential the kubelet could use for an image (src/credentials parses and matches them); data only, never logged. */
export interface PullCredential {
  /** Where it came from, safe to show: `secret demo/regcred`, `docker-config /etc/pullguard/config.json`. */
  source: string;
  /** Its registry key: as written in the docker config, then the keyring key it matched under, e.g. `registry.example.com/team`. */
  key: string;
  username?: string;
  password?: string;
  /** OAuth2 refresh token (docker config `identitytoken`): exchanged by POST to the realm. */
  identityToken?: string;
  /** A bearer token to send as is (docker config `registrytoken`). */
  registryToken?: string;
}

export interface Resolution {
  reason: RegistryOutcome;
  /** A definite answer about the image (cacheable), not a temporary one such as a timeout or a rate limit. */
  definite: boolean;
  /** The image as written in the spec. */
  image: string;
  /** The normalised reference, e.g. `docker.io/library/nginx:latest`; absent when it does not parse. */
  reference?: string;
  /** Manifest (or index) digest, when the reference resolved. */
  digest?: string;
  mediaType?: string;
  /** The platforms the image offers (from the index, or the config blob of a single manifest). */
  platforms?: Platform[];
  /** OCI index entries without a platform (their configs' platforms are among `platforms`, up to a few). */
  platformless?: number;
  /** The platform that was matched against the candidates. */
  matchedPlatform?: Platform;
  /** Closest existing tags, for TagNotFound. */
  suggestions?: string[];
  /** What the registry said, e.g. `404 MANIFEST_UNKNOWN: manifest unknown`. */
  registryMessage?: string;
  status?: number;
  cause?: UnreachableCause;
  /** Sources of the credentials tried, in order, ending with `anonymous` when that was tried. */
  credentialsTried: string[];
  /** Source of the credential that worked (or `anonymous`). */
  credentialUsed?: string;
  /** For RateLimited (and some 503s): the registry's Retry-After, in seconds. */
  retryAfterSeconds?: number;
  /** For a loopback registry without configuration: the scheme that answered (HTTPS first, then HTTP). */
  scheme?: 'https' | 'http';
  /** Free-form technical detail for logs (never secrets). */
  detail?: string;
}

export function resolution(reason: RegistryOutcome, image: string, fields: Omit<Partial<Resolution>, 'reason' | 'definite' | 'image'> = {}): Resolution {
  return { credentialsTried: [], ...fields, reason, definite: isDefinite(reason), image };
}
