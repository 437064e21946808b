// The resolver's answer for one image: a verdict, a stable reason code, and the evidence behind it.
// Deciding what to do with it (enforce, warn) and wording it for people lives in src/verdict.

/** allow: the pull will succeed; deny: it certainly fails; unknown: cannot tell (admit and warn). */
export type Verdict = 'allow' | 'deny' | 'unknown';

/**
 * Stable, documented reason codes. Never rename one: users alert and filter on them.
 * Each maps to exactly one verdict (REASON_VERDICT).
 */
export type ReasonCode =
  | 'Resolved'
  | 'InvalidReference'
  | 'TagNotFound'
  | 'DigestNotFound'
  | 'RepositoryNotFound'
  | 'AuthRequired'
  | 'CredentialsRejected'
  | 'AccessDenied'
  | 'PlatformMismatch'
  | 'ExecFormatError'
  | 'UnsupportedManifest'
  | 'Schema1Deprecated'
  | 'InvalidPullSecret'
  | 'RegistryBlocked'
  | 'AmbiguousShortName'
  | 'CachedOnNodes'
  | 'NeverPull'
  | 'NodeCredentialsAssumed'
  | 'CredentialProviderUnavailable'
  | 'SecretsUnreadable'
  | 'NodeLoopbackRegistry'
  | 'RateLimited'
  | 'PullBudgetLow'
  | 'RegistryUnreachable'
  | 'RegistryTimeout'
  | 'RegistryError';

export const REASON_VERDICT: Readonly<Record<ReasonCode, Verdict>> = {
  Resolved: 'allow',
  InvalidReference: 'deny',
  TagNotFound: 'deny',
  DigestNotFound: 'deny',
  RepositoryNotFound: 'deny',
  AuthRequired: 'deny',
  CredentialsRejected: 'deny',
  AccessDenied: 'deny',
  PlatformMismatch: 'deny',
  // A single-manifest image for another platform than every eligible node: it pulls, then cannot start.
  // Clusters that emulate other architectures (binfmt) set platforms.execFormatError: warn (verdict unknown).
  ExecFormatError: 'deny',
  UnsupportedManifest: 'deny',
  // A Docker schema 1 image that some eligible node's runtime still converts (containerd 1.x, CRI-O), or with no
  // node inventory to tell.
  Schema1Deprecated: 'unknown',
  // A pull secret of the pod is malformed: the kubelet's keyring fails, and with it every pull of the pod.
  InvalidPullSecret: 'deny',
  // The nodes' registries.conf / hosts.toml refuses the pull before any registry is asked.
  RegistryBlocked: 'deny',
  // CRI-O, short-name-mode enforcing: a short name with several search registries and no alias fails.
  AmbiguousShortName: 'deny',
  // The registry would refuse the pull, but an eligible node has the image and the policy lets it use it.
  CachedOnNodes: 'unknown',
  // imagePullPolicy: Never: the kubelet does not pull; we cannot know the node's cache for certain.
  NeverPull: 'unknown',
  // A registry whose credentials come from a kubelet credential provider (ECR/GCR/ACR) said 401 to us.
  NodeCredentialsAssumed: 'unknown',
  // The registry wants credentials that a kubelet credential provider plugin supplies, and it gave pullguard none.
  CredentialProviderUnavailable: 'unknown',
  // The registry wants credentials, and a pull secret the kubelet would use could not be read by pullguard.
  SecretsUnreadable: 'unknown',
  // pullguard runs in a pod and the image names the node's loopback, which it cannot reach (no request made).
  NodeLoopbackRegistry: 'unknown',
  RateLimited: 'unknown',
  // The reference resolved; its platform was not read because the registry's pull budget is at the reserve.
  PullBudgetLow: 'unknown',
  RegistryUnreachable: 'unknown',
  RegistryTimeout: 'unknown',
  RegistryError: 'unknown',
};

/** Why a registry could not be reached, when reason is RegistryUnreachable. */
export type UnreachableCause = 'dns' | 'refused' | 'reset' | 'tls' | 'proxy' | 'network';

/** The platform value type lives with the other shared value types in src/reference. */
export type { Platform } from '../reference/platform.ts';
import type { Platform } from '../reference/platform.ts';

/** One credential the kubelet could use for an image, already matched to it; data only, never logged. */
export interface PullCredential {
  /** Where it came from, safe to show: `secret demo/regcred`, `docker-config /etc/pullguard/config.json`. */
  source: string;
  /** The keyring key it matched under, e.g. `registry.example.com/team`. */
  key: string;
  username?: string;
  password?: string;
  /** OAuth2 refresh token (docker config `identitytoken`): exchanged by POST to the realm. */
  identityToken?: string;
  /** A bearer token to send as is (docker config `registrytoken`). */
  registryToken?: string;
}

export interface Resolution {
  verdict: Verdict;
  reason: ReasonCode;
  /** The image as written in the spec. */
  image: string;
  /** The normalised reference, e.g. `docker.io/library/nginx:latest`; absent when it does not parse. */
  reference?: string;
  /** Manifest (or index) digest, when the reference resolved. */
  digest?: string;
  mediaType?: string;
  /** The platforms the image offers (from the index, or the config blob of a single manifest). */
  platforms?: Platform[];
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

export function resolution(reason: ReasonCode, image: string, fields: Omit<Partial<Resolution>, 'verdict' | 'reason' | 'image'> = {}): Resolution {
  return { credentialsTried: [], ...fields, verdict: REASON_VERDICT[reason], reason, image };
}
