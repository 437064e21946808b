// What the nodes' kubelet and container runtime versions decide, each rule from the runtime's own source. Pure
// functions of the facts a Node reports (status.nodeInfo.containerRuntimeVersion, kubeletVersion).
import type { NodeInfo } from '../cluster/types.ts';

export interface RuntimeVersion {
  /** `containerd`, `cri-o`, `docker`, or whatever the node reports before `://`. */
  name: string;
  major: number;
  minor: number;
  patch: number;
}

/** `containerd://1.7.22`, `cri-o://1.31.1`, `containerd://2.1.0-rc.1+unknown`; undefined when unreadable. */
export function parseRuntimeVersion(s: string | undefined): RuntimeVersion | undefined {
  if (typeof s !== 'string') return undefined;
  const m = /^([a-z0-9.-]+):\/\/v?(\d{1,6})\.(\d{1,6})(?:\.(\d{1,6}))?/i.exec(s.trim());
  if (!m) return undefined;
  return { name: (m[1] ?? '').toLowerCase(), major: Number(m[2]), minor: Number(m[3]), patch: Number(m[4] ?? 0) };
}

/** `v1.35.2`, `v1.34.0-eks-1234`; [major, minor] or undefined. */
export function parseKubeletVersion(s: string | undefined): [number, number] | undefined {
  if (typeof s !== 'string') return undefined;
  const m = /^v?(\d{1,6})\.(\d{1,6})(?:\.|$|-|\+)/.exec(s.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** How a node's runtime treats a Docker schema 1 manifest. */
export type Schema1Support = 'converts' | 'refuses' | 'unknown';

/**
 * - containerd 1.x: the CRI plugin pulls with containerd.WithSchema1Conversion (pkg/cri/server/image_pull.go,
 *   v1.6/v1.7), so schema 1 images are converted and run.
 * - containerd 2.0: "Pulling Schema 1 images have been deprecated and disabled by default since containerd v2.0"
 *   unless CONTAINERD_ENABLE_DEPRECATED_PULL_SCHEMA_1_IMAGE=1 is set on the daemon (docs/containerd-2.0.md), which
 *   the Node does not report: unknown.
 * - containerd 2.1 and later: removed ("will be completely removed in containerd v2.1", the same message).
 * - CRI-O pulls through containers/image, which still reads schema 1 (manifest/docker_schema1.go).
 * - anything else (cri-dockerd, unknown runtimes, unreadable versions): unknown.
 */
export function schema1Support(runtime: RuntimeVersion | undefined): Schema1Support {
  if (!runtime) return 'unknown';
  if (runtime.name === 'containerd') {
    if (runtime.major < 2) return 'converts';
    return runtime.major === 2 && runtime.minor === 0 ? 'unknown' : 'refuses';
  }
  if (runtime.name === 'cri-o') return 'converts';
  return 'unknown';
}

/** What a schema 1 image means for a pod: every eligible node refuses it, some may pull it, or nobody knows. */
export type Schema1Decision = { verdict: 'deny'; runtimes: string[] } | { verdict: 'deprecated'; runtimes: string[] } | { verdict: 'unknown' };

/**
 * Deny only when every eligible node runs a runtime that refuses schema 1 (containerd 2.1 or later); when some may pull it, admit with a
 * deprecation warning; without a node inventory, unknown.
 */
export function decideSchema1(nodes: readonly NodeInfo[] | undefined): Schema1Decision {
  if (!nodes || nodes.length === 0) return { verdict: 'unknown' };
  const runtimes = [...new Set(nodes.map((n) => n.containerRuntimeVersion ?? 'unknown runtime'))];
  const refusing = nodes.every((n) => schema1Support(parseRuntimeVersion(n.containerRuntimeVersion)) === 'refuses');
  return { verdict: refusing ? 'deny' : 'deprecated', runtimes };
}

/**
 * KEP-2535 (feature gate KubeletEnsureSecretPulledImages: alpha 1.33–1.34, beta and on by default from 1.35;
 * kubelet imagePullCredentialsVerificationPolicy defaults to NeverVerifyPreloadedImages): an image the kubelet
 * pulled with credentials is used by another pod only after that pod's own credentials are verified against the
 * registry. But under the default policy an image that was preloaded, or pulled anonymously or with the node's
 * credentials, is still used without any check, and status.images does not say which an image is. So a cached
 * image may still rescue failing credentials on every kubelet: pullguard only says the kubelet may verify them.
 */
export const ENSURE_SECRET_PULLED_IMAGES_DEFAULT_ON: readonly [number, number] = [1, 35];

export function verifiesCachedImageCredentials(node: NodeInfo): boolean {
  const v = parseKubeletVersion(node.kubeletVersion);
  if (!v) return false;
  const [major, minor] = ENSURE_SECRET_PULLED_IMAGES_DEFAULT_ON;
  return v[0] > major || (v[0] === major && v[1] >= minor);
}

/** Registry refusals that are about the pod's credentials rather than the image's existence. */
const CREDENTIAL_DENIALS: ReadonlySet<string> = new Set(['AuthRequired', 'CredentialsRejected', 'AccessDenied', 'InvalidPullSecret']);

/**
 * Whether a node's cached copy can still start the pod when the registry answered `reason`: always may, since a
 * preloaded (or anonymously or node-credential pulled) image is used unverified under NeverVerifyPreloadedImages.
 */
export function cachedImageRescues(_reason: string, _node: NodeInfo): boolean {
  return true;
}

/** A credential refusal on a KEP-2535 kubelet: its cached copy rescues the pod only if the kubelet did not pull it itself with credentials. */
export function mayVerifyCachedCredentials(reason: string, node: NodeInfo): boolean {
  return CREDENTIAL_DENIALS.has(reason) && verifiesCachedImageCredentials(node);
}
