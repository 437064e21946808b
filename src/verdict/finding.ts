// What one image check found, with everything the explanation needs: where the image sits in the object,
// what the registry answered, which secrets were considered and which platforms could run it.
import type { Platform } from '../reference/platform.ts';
import type { Resolution } from '../registry/index.ts';

/** One image of a pod spec, located by its JSON field path. */
export interface ImageTarget {
  containerName: string;
  field: 'containers' | 'initContainers' | 'ephemeralContainers' | 'volumes';
  image: string;
  fieldPath: string;
  pullPolicy: 'Always' | 'IfNotPresent' | 'Never';
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
