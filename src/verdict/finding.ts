// What one image check found, with everything the explanation needs: where the image sits in the object,
// what the registry answered, which secrets were considered and which platforms could run it.
import type { Platform } from '../reference/platform.ts';
import type { RegistryOutcome, Resolution as RegistryResolution } from '../registry/index.ts';

/** allow: the pull will succeed; deny: it certainly fails; unknown: cannot tell (admit and warn). */
export type Verdict = 'allow' | 'deny' | 'unknown';

/**
 * Reasons decided in src/verdict, about the pod rather than the registry's answer (what the registry can find is
 * RegistryOutcome in src/registry/resolution.ts). Never rename one: users alert on them. Each has a row in reasons.ts.
 */
export type PodReason =
  | 'InvalidReference'
  | 'ExecFormatError'
  | 'PlatformFallbackUncertain'
  | 'Schema1Deprecated'
  | 'InvalidPullSecret'
  | 'CachedOnNodes'
  | 'NeverPull'
  | 'CredentialProviderUnavailable'
  | 'SecretsUnreadable'
  | 'NodeLoopbackRegistry';

/** Stable, documented reason codes (README "Reason codes and verdicts"): what the registry found, or the pod. */
export type ReasonCode = RegistryOutcome | PodReason;

/** One image's answer with its verdict: the registry's evidence, the reason, and what the table says it means. */
export interface Resolution extends Omit<RegistryResolution, 'reason' | 'definite'> {
  verdict: Verdict;
  reason: ReasonCode;
  /** Why the nodes' container runtime decided the reason (a CRI-O node takes no fallback entry), when it did. */
  runtimeNote?: string;
  /** The denial an eligible node's cached copy stands in for, when the reason is CachedOnNodes. */
  cachedInsteadOf?: ReasonCode;
}

export type ImageField = 'containers' | 'initContainers' | 'ephemeralContainers' | 'volumes';
export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

/** One image of a pod spec, located by its JSON field path (src/workloads/podspec.ts finds them). */
export interface ImageTarget {
  /** Container name, or volume name for image volumes ('' when the object has none). */
  containerName: string;
  field: ImageField;
  /** The image as written. */
  image: string;
  /** `spec.template.spec.containers[1].image`, `spec.volumes[0].image.reference`. */
  fieldPath: string;
  /** The policy the kubelet applies. */
  pullPolicy: PullPolicy;
  /** True when the field was empty and the API server's default was computed here. */
  pullPolicyDefaulted: boolean;
}

export type SecretStatus = 'ok' | 'NotFound' | 'Forbidden' | 'Unavailable' | 'WrongType' | 'MissingKey' | 'Malformed';

/** A pull secret the kubelet would consult, and what became of it. */
export interface SecretNote {
  name: string;
  namespace: string;
  /** Listed in the pod spec, or inherited from the ServiceAccount. */
  from: 'pod' | 'serviceAccount';
  status: SecretStatus;
  message?: string;
  /** The kubelet cannot parse it: its keyring fails, and every image pull of the pod with it. */
  failsPulls?: boolean;
}

export interface Finding {
  target: ImageTarget;
  resolution: Resolution;
  namespace: string;
  /** Secrets the kubelet would consult for this pod (empty when none are listed). */
  secrets: SecretNote[];
  serviceAccountName: string;
  /** Platforms of the nodes the pod may land on (empty = any). */
  eligiblePlatforms: Platform[];
  platformSource: 'nodes' | 'config' | 'any';
  /** For pullPolicy Never: eligible nodes that report the image in status.images. */
  nodesWithImage?: string[];
  eligibleNodeCount?: number;
  /** An image checked on its own (`pullguard resolve`), not as part of a pod: no pull secrets, no nodes. */
  standalone?: boolean;
}
