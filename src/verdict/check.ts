// The image check of one pod spec, as the kubelet on its node would pull: the pull secrets it would use (the
// pod's, or for a template its ServiceAccount's), the node-level credentials, the platforms of the nodes it may
// land on, and the pull policy. I/O goes through the injected ClusterReader and RegistryClient only.
import type { ClusterReader, Lookup, NodeInfo } from '../cluster/types.ts';
import { buildKeyring, lookup, matchesRegistryGlob, type Keyring } from '../credentials/keyring.ts';
import type { CredentialEntry } from '../credentials/dockerconfig.ts';
import { credentialsFromSecret } from '../credentials/secret.ts';
import type { CredentialProviders, ProviderOutcome } from '../credentials/provider.ts';
import { parseReference, type Reference } from '../reference/reference.ts';
import type { RegistryClient, ResolveOptions } from '../registry/index.ts';
import { formatPlatform, type Platform } from '../reference/platform.ts';
import { isLoopbackHost, isShortName } from '../registry/index.ts';
import { eligibleNodesRemembered, platformsAllowedBySpec, platformsOf, type SchedulingSpec } from './eligibility.ts';
import { cachedImageRescues, decideIndexPlatform, decideSchema1, mayVerifyCachedCredentials } from './runtime.ts';
import type { Finding, ImageTarget, Resolution, SecretNote } from './finding.ts';
import { classify, resolution } from './classify.ts';
import { allAtHand, asAsync, atHandBeforeDeadline, beforeDeadline as waitUntil, CLUSTER_READS_SHARE, whenAtHand } from './deadline.ts';
import { verdictOf } from './reasons.ts';
import { createResolutionQueue, tooLateToStart, type QueueState } from './resolution-queue.ts';

/** What the check needs to know of a pod spec; workloads' PodSpecView has this shape. */
export interface PodPullSpec extends SchedulingSpec {
  namespace: string;
  /** A pod template (Deployment etc.): the ServiceAccount plugin has not yet copied the SA's secrets in. */
  isTemplate: boolean;
  serviceAccountName: string;
  imagePullSecrets: string[];
  /** The pod's RuntimeClass: its handler (a Wasm shim, Kata...) may run an image of another platform. */
  runtimeClassName?: string;
  /** An image checked on its own (`pullguard resolve`): explanations speak of the image, not of a pod. */
  standalone?: boolean;
}

export interface CheckerOptions {
  /** `peek`, when offered (the resolution cache): a fresh cached answer is taken without queueing. */
  registry: Pick<RegistryClient, 'resolve' | 'peek'>;
  cluster: ClusterReader;
  /** Node-level credentials (the kubelet's config.json), consulted after the pod's secrets. */
  nodeCredentials: CredentialEntry[];
  /** Registries whose credentials the nodes' kubelet credential providers supply. */
  nodeCredentialRegistries: string[];
  /** The nodes' kubelet credential provider plugins, run for the images they match. */
  credentialProviders?: Pick<CredentialProviders, 'matches' | 'provide'>;
  serviceAccountSecrets: boolean;
  /** Candidate platforms when no node inventory is available (empty = any). */
  fallbackPlatforms: Platform[];
  platformsFromNodes: boolean;
  excludeImages: string[];
  excludeRegistries: string[];
  /** A single-manifest image of another platform than every eligible node: deny (default), or warn (binfmt clusters). */
  execFormatError?: 'deny' | 'warn';
  /** The nodes read a registries.conf: a short name as written may resolve elsewhere than its canonical form. */
  shortNamesResolveOnNodes?: boolean;
  clock?: () => number;
  /** Distinct images resolved per review; the rest are not checked (admitted, with a warning). Default 200. */
  imagesPerReview?: number;
  /** Pull secrets read per review; the rest are left unread (an auth failure is then unknown). Default 32. */
  pullSecretsPerReview?: number;
  /** Resolutions in flight across all reviews of this checker; the rest wait, in turn per review. Default 64. */
  resolutionsInFlight?: number;
  onQueueChange?: (s: QueueState) => void;
  /** pullguard runs in a pod (server.inCluster): loopback image hosts are the node's, reached only as configured. */
  inCluster?: { configuredRegistries: readonly string[] };
}

export interface CheckResult {
  findings: Finding[];
  excluded: ImageTarget[];
  /** Beyond the per-review image limit: neither resolved nor judged. */
  notChecked?: ImageTarget[];
  /** Review-level warnings (e.g. how many images were not checked). */
  notes?: string[];
}

export const DEFAULT_IMAGES_PER_REVIEW = 200;
/** Pull secrets read per review (a pod may list thousands, each an API-server read): limits.pullSecretsPerReview. */
export const DEFAULT_PULL_SECRETS_PER_REVIEW = 32;
export const DEFAULT_RESOLUTIONS_IN_FLIGHT = 64;

export interface Checker {
  /**
   * `signal`: the caller stopped waiting (the webhook answered). The review's work ends at the deadline, at the
   * signal, or when the check returns, whichever comes first: its registry requests are aborted (unless another
   * review shares them), its credential plugins killed and its queued lookups never started.
   */
  check(spec: PodPullSpec, targets: ImageTarget[], deadline: number, signal?: AbortSignal): Promise<CheckResult>;
}

/** `*` matches any run of characters; everything else literally. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${body}$`);
}

const AUTH_REASONS = new Set(['AuthRequired', 'CredentialsRejected', 'AccessDenied']);

/**
 * An image a credential provider matches: a refusal proves nothing certain. When the provider gave nothing (slow,
 * failed, service-account-token mode) we pulled without its credentials; when it answered, it answered with
 * pullguard's identity (IRSA, Workload Identity...), not the node's. A repository the registry hides from us
 * without the provider's credentials is no proof either. What a registry that let us in says (a missing tag, a
 * missing repository) still stands: it is the same for every identity.
 */
export function withProviderGap(r: Resolution, provided: ProviderOutcome | undefined): Resolution {
  if (!provided || provided.matched.length === 0) return r;
  const gap = provided.unavailable.length > 0;
  if (!AUTH_REASONS.has(r.reason) && !(gap && r.reason === 'RepositoryNotFound')) return r;
  const parts = provided.unavailable.map((u) => `credential provider ${u.provider} ${u.why}`);
  if (AUTH_REASONS.has(r.reason) && provided.entries.length > 0) {
    const answered = provided.matched.filter((m) => !provided.unavailable.some((u) => u.provider === m));
    parts.push(`the registry answered ${r.reason} to the credentials of credential provider ${answered.join(', ')}, which pullguard gets with its own identity; the nodes get theirs with their own`);
  }
  return { ...r, reason: 'CredentialProviderUnavailable', verdict: verdictOf('CredentialProviderUnavailable'), detail: parts.join('; ') };
}

/** Manifests that are one image, not an index: containerd pulls them on any node, whatever their platform. */
const SINGLE_MANIFEST_TYPES: ReadonlySet<string> = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);
const INDEX_TYPES: ReadonlySet<string> = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const SCHEMA1_TYPES: ReadonlySet<string> = new Set(['application/vnd.docker.distribution.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v1+prettyjws']);

/**
 * Denials the kubelet never meets when it uses a cached image instead of pulling (policy IfNotPresent). An index
 * with no entry the node's runtime takes is one: the node could not have pulled it for itself, so its copy was
 * pulled while the tag still had its platform, or preloaded. An index-less image of another platform is not: the
 * copy pulled on any node is that same image (ExecFormatError).
 */
const PULL_DENIALS = new Set(['TagNotFound', 'DigestNotFound', 'RepositoryNotFound', 'AuthRequired', 'CredentialsRejected', 'AccessDenied', 'InvalidPullSecret', 'UnsupportedManifest', 'PlatformMismatch']);

/**
 * A pull that would fail is no certain failure when an eligible node already has the image and the policy lets the
 * kubelet use it: the pod may start there. Say so, and keep what the registry said.
 */
export function cachedOnNodes(r: Resolution, nodes: string[], eligible: number, verifying: string[] = []): Resolution {
  if (nodes.length === 0 || !PULL_DENIALS.has(r.reason)) return r;
  const kep2535 = verifying.length > 0
    ? `; the kubelet on ${verifying.slice(0, 3).join(', ')}${verifying.length > 3 ? ', …' : ''} (1.35+, KEP-2535) may verify the pod's credentials before using an image it pulled itself with credentials, but not a preloaded image (NeverVerifyPreloadedImages), which pullguard cannot tell apart`
    : '';
  return {
    ...r,
    reason: 'CachedOnNodes',
    verdict: verdictOf('CachedOnNodes'),
    cachedInsteadOf: r.reason,
    detail: `the registry answer was ${r.reason}${r.registryMessage ? ` (${r.registryMessage})` : ''}, but ${nodes.length} of ${eligible} eligible nodes have the image cached (${nodes.slice(0, 3).join(', ')}${nodes.length > 3 ? ', …' : ''}); pods scheduled elsewhere will fail to pull${kep2535}`,
  };
}

/**
 * A loopback registry host names the loopback of the node the kubelet pulls on (containerd's docker.IsLocalhost
 * hosts, core/remotes/docker/config/hosts.go), which a pod's network namespace does not share: pullguard in a pod
 * asks nothing and answers unknown, unless the registry config has an entry saying how to reach that host.
 */
export function nodeLoopback(ref: Reference, image: string, inCluster: CheckerOptions['inCluster']): Resolution | undefined {
  if (!inCluster || !isLoopbackHost(ref.registry)) return undefined;
  const host = ref.registry.toLowerCase();
  if (inCluster.configuredRegistries.some((h) => h.toLowerCase() === host)) return undefined;
  return resolution('NodeLoopbackRegistry', image, { reference: ref.canonical, detail: `${ref.registry} is the node's loopback; pullguard runs in a pod (server.inCluster) and the registry config has no entry for it` });
}

/** A pull secret named by the pod or its ServiceAccount. */
interface SecretName {
  name: string;
  from: SecretNote['from'];
}

/** What reading the pull secrets found: a note per secret (and per problem), and the credentials of those that parse. */
interface SecretsRead {
  notes: SecretNote[];
  entries: CredentialEntry[];
}

/** The platforms an image is checked for, where they came from, and the eligible nodes when known. */
interface PlatformsFound {
  platforms: Platform[];
  source: Finding['platformSource'];
  nodes?: NodeInfo[];
}

/** One reason for every review's end: `end()` runs after each review, and a DOMException per call captures a stack (~8 µs). */
const REVIEW_ENDED = new DOMException('the review ended', 'AbortError');
/** What a review's work asking for the signal after the check returned gets: ended already. */
const ENDED_SIGNAL = AbortSignal.abort(REVIEW_ENDED);

/**
 * The review's end (its deadline, the caller's signal, or the check's return), told to the work it started: the same
 * controller, timer and listener the check always had, only set up when first asked for. The timer aims at the same
 * deadline; the caller's signal is read then and listened to from then on. (A class: its accessors live on the
 * prototype, where an object literal's would be defined afresh per review.)
 */
class ReviewEnd {
  #ended: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #end = (): void => this.#ended?.abort(REVIEW_ENDED);
  readonly #deadline: number;
  readonly #caller: AbortSignal | undefined;
  readonly #clock: () => number;

  constructor(deadline: number, caller: AbortSignal | undefined, clock: () => number) {
    this.#deadline = deadline;
    this.#caller = caller;
    this.#clock = clock;
  }

  /** Made on first use: a review answered from caches starts nothing to abort, and pays no controller or timer. */
  get signal(): AbortSignal {
    if (this.#ended) return this.#ended.signal;
    if (this.#closed) return ENDED_SIGNAL;
    this.#ended = new AbortController();
    // Capped: a longer delay overflows setTimeout, which then fires at once.
    this.#timer = setTimeout(this.#end, Math.min(2 ** 31 - 1, Math.max(0, this.#deadline - this.#clock())));
    this.#caller?.addEventListener('abort', this.#end, { once: true });
    if (this.#caller?.aborted) this.#end();
    return this.#ended.signal;
  }

  /** Whether the signal is (or, not made yet, would be) aborted; asking does not make it. */
  get aborted(): boolean {
    return this.#ended ? this.#ended.signal.aborted : this.#closed || this.#caller?.aborted === true;
  }

  /** The check returned: abort what it started; a signal asked for later is ended already. */
  close(): void {
    this.#closed = true;
    if (!this.#ended) return;
    clearTimeout(this.#timer);
    this.#caller?.removeEventListener('abort', this.#end);
    this.#end();
  }
}

export function createChecker(opts: CheckerOptions): Checker {
  const clock = opts.clock ?? Date.now;
  const imageExclusions = opts.excludeImages.map(globToRegExp);
  const imagesPerReview = opts.imagesPerReview ?? DEFAULT_IMAGES_PER_REVIEW;
  const pullSecretsPerReview = opts.pullSecretsPerReview ?? DEFAULT_PULL_SECRETS_PER_REVIEW;
  const queue = createResolutionQueue(opts.resolutionsInFlight ?? DEFAULT_RESOLUTIONS_IN_FLIGHT, { clock, ...(opts.onQueueChange ? { onChange: opts.onQueueChange } : {}) });

  function excluded(target: ImageTarget, ref: Reference | undefined): boolean {
    if (imageExclusions.some((re) => re.test(target.image) || (ref !== undefined && re.test(ref.canonical)))) return true;
    return ref !== undefined && opts.excludeRegistries.some((p) => matchesRegistryGlob(p, ref.registry));
  }

  // A pod without pull secrets (the most common) gets the node credentials alone: the same keyring every time.
  const nodeOnlyKeyring = buildKeyring([], opts.nodeCredentials);

  const beforeDeadline = <T>(p: Promise<T>, deadline: number, late: () => T): Promise<T> => waitUntil(p, deadline, late, clock);
  // A cluster answer at hand (fresh in the reader's cache) is taken without a promise and a timer.
  const atHand = <T>(now: T | undefined, ask: () => Promise<T>, deadline: number, late: () => T): T | Promise<T> => atHandBeforeDeadline(now, ask, deadline, late, clock);

  const lateRead = (what: string) => (): Lookup<never> => ({ found: false, reason: 'Unavailable', message: `the API server did not answer in time reading ${what}` });

  /**
   * The pull secrets the kubelet would use (the pod's, or for a template its ServiceAccount's) and what reading them
   * found; at once, without a promise, when every answer is at hand.
   */
  function readSecrets(spec: PodPullSpec, deadline: number): SecretsRead | Promise<SecretsRead> {
    const names = spec.imagePullSecrets.map((name): SecretName => ({ name, from: 'pod' }));
    if (!(spec.isTemplate && names.length === 0 && opts.serviceAccountSecrets)) return readNamedSecrets(spec, names, [], deadline);
    const saName = spec.serviceAccountName || 'default';
    const sa = atHand(opts.cluster.peekServiceAccountPullSecrets?.(spec.namespace, saName), () => opts.cluster.getServiceAccountPullSecrets(spec.namespace, saName), deadline, lateRead(`service account ${spec.namespace}/${saName}`));
    return whenAtHand(sa, (got) => {
      if (got.found) return readNamedSecrets(spec, got.value.map((name): SecretName => ({ name, from: 'serviceAccount' })), [], deadline);
      const notes: SecretNote[] = got.reason !== 'NotFound' ? [{ name: `ServiceAccount ${saName}`, namespace: spec.namespace, from: 'serviceAccount', status: got.reason, message: got.message }] : [];
      return readNamedSecrets(spec, [], notes, deadline);
    });
  }

  function readNamedSecrets(spec: PodPullSpec, names: SecretName[], notes: SecretNote[], deadline: number): SecretsRead | Promise<SecretsRead> {
    const seen = new Set<string>();
    const unique = names.length === 0 ? names : names.filter((n) => !seen.has(n.name) && seen.add(n.name));
    // Bounded API-server reads per review. Secrets left unread make an auth failure unknown (SecretsUnreadable).
    if (unique.length > pullSecretsPerReview) {
      const more = unique.splice(pullSecretsPerReview);
      notes.push({ name: `${more.length} more pull secrets`, namespace: spec.namespace, from: more[0]!.from, status: 'Unavailable', message: `not read: pullguard reads at most ${pullSecretsPerReview} pull secrets per pod (limits.pullSecretsPerReview)` });
    }
    // Read in parallel, used in the listed order: the kubelet merges them into one keyring in that order.
    const reads = unique.map((n) => asAsync(() => atHand(opts.cluster.peekSecret?.(spec.namespace, n.name), () => opts.cluster.getSecret(spec.namespace, n.name), deadline, lateRead(`secret ${spec.namespace}/${n.name}`))));
    return whenAtHand(allAtHand(reads), (read) => {
      const entries: CredentialEntry[] = [];
      unique.forEach(({ name, from }, i) => {
        const got = read[i]!;
        if (!got.found) {
          notes.push({ name, namespace: spec.namespace, from, status: got.reason, message: got.message });
          return;
        }
        const parsed = credentialsFromSecret(got.value);
        if (!parsed.ok) {
          notes.push({ name, namespace: spec.namespace, from, status: parsed.problem, message: parsed.message, ...(parsed.kubelet === 'failsPulls' ? { failsPulls: true } : {}) });
          return;
        }
        notes.push({ name, namespace: spec.namespace, from, status: 'ok' });
        entries.push(...parsed.entries);
      });
      return { notes, entries };
    });
  }

  /** The platforms to check and the eligible nodes; at once, without a promise, when the node inventory is at hand. */
  function platformsFor(spec: PodPullSpec, deadline: number): PlatformsFound | Promise<PlatformsFound> {
    if (!opts.platformsFromNodes || !opts.cluster.connected) return configuredPlatformsFor(spec);
    const listed = atHand<NodeInfo[] | 'late'>(opts.cluster.peekNodes?.(), () => opts.cluster.listNodes(), deadline, () => 'late');
    return whenAtHand(listed, (nodes): PlatformsFound => {
      // Connected, but the inventory is late: the configured fallback may be narrower than the cluster; any platform.
      if (nodes === 'late') return { platforms: [], source: 'any' };
      if (nodes.length === 0) return configuredPlatformsFor(spec);
      const eligible = eligibleNodesRemembered(spec, nodes);
      // No node matches at all: the pod would stay Pending, which is not a pull problem; check any platform.
      if (eligible.length === 0) return { platforms: [], source: 'any', nodes: [] };
      const platforms = platformsOf(eligible);
      return { platforms, source: platforms.length > 0 ? 'nodes' : 'any', nodes: eligible };
    });
  }

  /** No nodes to read: the pod's own arch/os constraints narrow the configured platforms (or name them). */
  function configuredPlatformsFor(spec: PodPullSpec): PlatformsFound {
    const allowed = platformsAllowedBySpec(spec, opts.fallbackPlatforms);
    if (allowed !== undefined) return allowed.length > 0 ? { platforms: allowed, source: 'config' } : { platforms: [], source: 'any' };
    return opts.fallbackPlatforms.length > 0 ? { platforms: opts.fallbackPlatforms, source: 'config' } : { platforms: [], source: 'any' };
  }

  /**
   * What the registry's answer means on the nodes: an index-less image of another platform pulls but cannot
   * start; an image volume is mounted, not executed, and may hold an OCI artifact; schema 1 depends on the runtime.
   */
  function onTheNodes(r: Resolution, target: ImageTarget, nodes: NodeInfo[] | undefined, spec: PodPullSpec): Resolution {
    const single = r.mediaType !== undefined && SINGLE_MANIFEST_TYPES.has(r.mediaType);
    if (target.field === 'volumes' && single && (r.reason === 'PlatformMismatch' || r.reason === 'UnsupportedManifest')) {
      const what = r.reason === 'PlatformMismatch' ? 'an image of another platform' : 'an OCI artifact';
      return { ...r, reason: 'Resolved', verdict: verdictOf('Resolved'), detail: `${what}: an image volume is mounted, not run, so its platform is not checked` };
    }
    if (r.reason === 'PlatformMismatch' && single) {
      // Not run by runc on the node's CPU: a Wasm image (os wasi/wasm...) for a runwasi or Spin shim, or any image
      // under a RuntimeClass whose handler pullguard cannot judge. Unknown, like execFormatError: warn.
      const foreignOs = (r.platforms ?? []).find((p) => !['linux', 'windows'].includes(p.os.toLowerCase()));
      const why = foreignOs !== undefined
        ? `the image is for ${foreignOs.os}, which a RuntimeClass handler (e.g. a runwasi or Spin shim) runs, not the node's CPU; pullguard cannot tell whether it starts`
        : spec.runtimeClassName !== undefined
          ? `the pod sets runtimeClassName ${spec.runtimeClassName}, whose handler may run images of other platforms; pullguard cannot tell whether it starts`
          : undefined;
      if (why !== undefined) return { ...r, reason: 'ExecFormatError', verdict: 'unknown', detail: r.detail ? `${r.detail}; ${why}` : why };
      return { ...r, reason: 'ExecFormatError', verdict: opts.execFormatError === 'warn' ? 'unknown' : verdictOf('ExecFormatError') };
    }
    if ((r.reason === 'Resolved' || r.reason === 'PlatformMismatch') && r.mediaType !== undefined && INDEX_TYPES.has(r.mediaType) && r.platforms && nodes && nodes.length > 0) {
      // The registry matched the index as containerd's platforms.Only does; each node's runtime may take less.
      const decision = decideIndexPlatform(nodes, r.platforms, r.platformless);
      if (decision.verdict === 'mismatch' && r.reason === 'Resolved') {
        const runtimeNote = `The eligible nodes run ${decision.runtimes.join(', ')}: CRI-O (containers/image) takes only an entry for the node's exact os/architecture/variant, arm variants aside, so no 386 entry on amd64 and no 32-bit arm entry on arm64`;
        return { ...r, reason: 'PlatformMismatch', verdict: verdictOf('PlatformMismatch'), detail: runtimeNote, runtimeNote };
      }
      if (decision.verdict === 'match' && decision.without && r.reason === 'Resolved') {
        const note = `no entry that nodes running ${decision.without.runtimes.join(', ')} on ${decision.without.platforms.map(formatPlatform).join(', ')} take (CRI-O takes no 386 on amd64, no 32-bit arm on arm64; the pod may be scheduled there)`;
        return { ...r, detail: r.detail ? `${r.detail}; ${note}` : note };
      }
      if (decision.verdict === 'uncertain' || (decision.verdict === 'match' && r.reason === 'PlatformMismatch')) {
        const why = decision.verdict === 'uncertain' ? `${decision.reasons.join('; ')} (nodes running ${decision.runtimes.join(', ')} on ${decision.platforms.map(formatPlatform).join(', ')})` : 'some eligible node\'s runtime may take an entry of this index';
        return { ...r, reason: 'PlatformFallbackUncertain', verdict: verdictOf('PlatformFallbackUncertain'), detail: why };
      }
    }
    if (r.reason === 'UnsupportedManifest' && r.mediaType !== undefined && SCHEMA1_TYPES.has(r.mediaType)) {
      const decision = decideSchema1(nodes);
      if (decision.verdict === 'deny') return { ...r, detail: `every eligible node runs a runtime that refuses schema 1 (${decision.runtimes.join(', ')})` };
      const detail = decision.verdict === 'deprecated'
        ? `Eligible nodes run ${decision.runtimes.join(', ')}; containerd 1.x and CRI-O still convert schema 1, containerd 2.0 refuses it unless CONTAINERD_ENABLE_DEPRECATED_PULL_SCHEMA_1_IMAGE=1 and 2.1 removed it`
        : 'Without the nodes\' runtime versions pullguard cannot tell: containerd 1.x and CRI-O still convert schema 1, containerd 2.0 refuses it unless CONTAINERD_ENABLE_DEPRECATED_PULL_SCHEMA_1_IMAGE=1 and 2.1 removed it';
      return { ...r, reason: 'Schema1Deprecated', verdict: verdictOf('Schema1Deprecated'), detail };
    }
    return r;
  }

  function withDeadline(p: Promise<Resolution>, image: string, reference: string, deadline: number): Promise<Resolution> {
    return beforeDeadline(p, deadline, () => resolution('RegistryTimeout', image, { reference, detail: 'the review deadline was reached before the registry answered' }));
  }

  // Node facts persist across reviews (the inventory projects each Node once): index each node's images once.
  const imageSets = new WeakMap<NodeInfo, Set<string>>();
  function imagesOf(n: NodeInfo): Set<string> {
    let set = imageSets.get(n);
    if (!set) {
      set = new Set(Array.isArray(n.images) ? n.images : []);
      imageSets.set(n, set);
    }
    return set;
  }

  // The same few registries come back on every review: remember the answer (bounded).
  const nodeCredentialMemo = new Map<string, boolean>();
  function usesNodeCredentials(ref: Reference): boolean {
    const key = `${ref.registry}/${ref.repository}`;
    let hit = nodeCredentialMemo.get(key);
    if (hit === undefined) {
      hit = opts.nodeCredentialRegistries.some((g) => matchesRegistryGlob(g, ref.registry, ref.repository));
      if (nodeCredentialMemo.size >= 10_000) nodeCredentialMemo.clear();
      nodeCredentialMemo.set(key, hit);
    }
    return hit;
  }

  /** Eligible nodes that report this image in status.images (by any of its spellings). */
  function nodesHoldingImage(target: ImageTarget, ref: Reference, nodes: NodeInfo[] | undefined): NodeInfo[] | undefined {
    const names = [...new Set([target.image, ref.canonical, ref.digest ? `${ref.name}@${ref.digest}` : `${ref.name}:${ref.tag ?? 'latest'}`])];
    return nodes?.filter((n) => {
      const held = imagesOf(n);
      return names.some((name) => held.has(name));
    });
  }

  function nodesWithImage(target: ImageTarget, ref: Reference, nodes: NodeInfo[] | undefined): string[] | undefined {
    return nodesHoldingImage(target, ref, nodes)?.map((n) => n.name);
  }

  /** Nodes whose cached copy still starts the pod after the registry said `reason` (KEP-2535 on new kubelets). */
  function rescuing(reason: string, holding: NodeInfo[]): string[] {
    return holding.filter((n) => cachedImageRescues(reason, n)).map((n) => n.name);
  }

  /** Of those, nodes whose kubelet may still verify the pod's credentials (KEP-2535): said in the detail. */
  function verifying(reason: string, holding: NodeInfo[]): string[] {
    return holding.filter((n) => mayVerifyCachedCredentials(reason, n)).map((n) => n.name);
  }

  function neverPull(target: ImageTarget, ref: Reference, nodes: NodeInfo[] | undefined): Partial<Finding> & { resolution: Resolution } {
    const withImage = nodesWithImage(target, ref, nodes);
    return {
      resolution: resolution('NeverPull', target.image, { reference: ref.canonical }),
      ...(nodes ? { nodesWithImage: withImage ?? [], eligibleNodeCount: nodes.length } : {}),
    };
  }

  return {
    async check(spec, targets, deadline, signal) {
      const ended = new ReviewEnd(deadline, signal, clock);
      try {
        return await checkWithin(spec, targets, deadline, ended);
      } finally {
        ended.close();
      }
    },
  };

  async function checkWithin(spec: PodPullSpec, targets: ImageTarget[], deadline: number, ended: ReviewEnd): Promise<CheckResult> {
    {
      const parsed = targets.map((t) => ({ target: t, parsed: parseReference(t.image) }));
      const included: typeof parsed = [];
      const excludedTargets: ImageTarget[] = [];
      // One pass (not `filter(!includes)`, which is quadratic: 20,000 images stalled the event loop for seconds).
      for (const p of parsed) {
        if (excluded(p.target, p.parsed.ok ? p.parsed.reference : undefined)) excludedTargets.push(p.target);
        else included.push(p);
      }
      // Bounded work per review: the first `imagesPerReview` distinct images that need the registry are resolved;
      // every other one is left unchecked and said so (a 20,000-image review otherwise takes the pod's memory).
      const distinct = new Set<string>();
      const notChecked: ImageTarget[] = [];
      const toCheck = included.filter((p) => {
        if (!p.parsed.ok || p.target.pullPolicy === 'Never') return true;
        const canonical = p.parsed.reference.canonical;
        if (distinct.has(canonical)) return true;
        if (distinct.size >= imagesPerReview) {
          notChecked.push(p.target);
          return false;
        }
        distinct.add(canonical);
        return true;
      });
      const skipped = notChecked.length > 0 ? {
        notChecked,
        notes: [`pullguard: ${notChecked.length} of ${included.length} images were not checked (at most ${imagesPerReview} distinct images per review, limits.imagesPerReview); they are admitted unchecked`],
      } : {};
      if (toCheck.length === 0) return { findings: [], excluded: excludedTargets, ...skipped };

      // The API server gets at most half the time left, so a slow one still leaves the registry time to answer.
      const clusterDeadline = clock() + Math.max(0, deadline - clock()) * CLUSTER_READS_SHARE;
            // Credential provider plugins run alongside the API server reads, within the same half of the time.
      const provided = new Map<string, Promise<ProviderOutcome>>();
      const providers = opts.credentialProviders;
      if (providers) {
        for (const { target, parsed: p } of toCheck) {
          if (!p.ok || target.pullPolicy === 'Never') continue;
          const key = `${p.reference.registry}/${p.reference.repository}`;
          if (!provided.has(key) && providers.matches(p.reference)) provided.set(key, providers.provide(p.reference, clusterDeadline, ended.signal));
        }
      }
      // Both at once, without a promise, when every cluster answer is at hand.
      const cluster = allAtHand<SecretsRead | PlatformsFound>([asAsync(() => readSecrets(spec, clusterDeadline)), asAsync(() => platformsFor(spec, clusterDeadline))]);
      const [secrets, platforms] = (cluster instanceof Promise ? await cluster : cluster) as [SecretsRead, PlatformsFound];
      const keyring = secrets.entries.length === 0 ? nodeOnlyKeyring : buildKeyring(secrets.entries, opts.nodeCredentials);
      const unreadable = secrets.notes.filter((n) => n.status === 'Unavailable' || n.status === 'Forbidden');
      const fatal = secrets.notes.find((n) => n.failsPulls);
      const base = { namespace: spec.namespace, secrets: secrets.notes, serviceAccountName: spec.serviceAccountName || 'default', eligiblePlatforms: platforms.platforms, platformSource: platforms.source, ...(spec.standalone ? { standalone: true } : {}) };

      // One registry question per distinct image in this review; the client coalesces across reviews.
      const byImage = new Map<string, Resolution | Promise<Resolution>>();
      const findings = allAtHand(toCheck.map(({ target, parsed: p }) => asAsync((): Finding | Promise<Finding> => {
        if (!p.ok) {
          return { ...base, target, resolution: resolution('InvalidReference', target.image, { detail: p.error.message }) };
        }
        const ref = p.reference;
        if (target.pullPolicy === 'Never') return { ...base, target, ...neverPull(target, ref, platforms.nodes) };
        // Which nodes hold the image matters only to qualify a denial: looked up then, not for every image.
        const qualify = (r: Resolution): Resolution => {
          if (!PULL_DENIALS.has(r.reason) || target.pullPolicy === 'Always') return r;
          const holding = nodesHoldingImage(target, ref, platforms.nodes) ?? [];
          return cachedOnNodes(r, rescuing(r.reason, holding), platforms.nodes?.length ?? 0, verifying(r.reason, holding));
        };
        if (fatal) {
          const r = resolution('InvalidPullSecret', target.image, { reference: ref.canonical, detail: fatal.message ?? `secret ${fatal.name} is malformed` });
          return { ...base, target, resolution: qualify(r) };
        }
        const onNode = nodeLoopback(ref, target.image, opts.inCluster);
        if (onNode) return { ...base, target, resolution: onNode };
        // A short name as written may go elsewhere than its canonical form on CRI-O nodes (registries.conf).
        const imageKey = opts.shortNamesResolveOnNodes && isShortName(target.image.trim()) ? `${ref.canonical}|short:${target.image.trim().replace(/@.*$/, '').replace(/:[^/]*$/, '')}` : ref.canonical;
        let pending = byImage.get(imageKey);
        if (!pending) {
          const fromProviders = provided.get(`${ref.registry}/${ref.repository}`);
          // Patterns are written like a credential provider's matchImages, which may carry a path. An image a
          // configured provider matches is checked with that provider's credentials instead of assumed.
          const nodeCredentials = fromProviders === undefined && usesNodeCredentials(ref);
          // The signal only for a question that is asked: a peek aborts nothing.
          // A keyring without entries (no secrets, no node credentials) finds nothing: an anonymous pull.
          const optionsWith = (ring: Keyring, signal?: AbortSignal): ResolveOptions => ({ platforms: platforms.platforms, credentials: ring.entries.length === 0 ? [] : lookup(ring, ref), deadline, ...(signal ? { signal } : {}), nodeCredentials, ...(opts.shortNamesResolveOnNodes ? { image: target.image } : {}) });
          const resolveWith = async (): Promise<Resolution> => {
            const outcome = await fromProviders;
            // The kubelet's order (kuberuntime_image.go, master): pod secrets, then the node's docker config,
            // then the provider plugins' auth merged into one keyring (plugins.go externalCredentialProviderKeyring).
            const ring = outcome && outcome.entries.length > 0 ? buildKeyring(secrets.entries, opts.nodeCredentials, outcome.entries) : keyring;
            // Through the fair queue. The review's end goes down to undici as an AbortSignal; a lookup shared with
            // other reviews is aborted only when all of them have ended; work not yet started then is dropped.
            const r = await queue.run(
              byImage,
              deadline,
              () => opts.registry.resolve(ref, optionsWith(ring, ended.signal)).then(classify),
              () => resolution('RegistryTimeout', target.image, { reference: ref.canonical, detail: 'the review deadline was reached before a resolution slot was free (limits.resolutionsInFlight)' }),
              ended.signal,
            );
            return withProviderGap(r, outcome);
          };
          // A fresh cached answer (what resolve() would hand out at once) needs no resolution slot and no deadline
          // timer: the same entry, the same classify. Only while the queue would still start work for this review.
          const atHand = fromProviders === undefined && opts.registry.peek !== undefined && !tooLateToStart(deadline, clock, ended) ? opts.registry.peek(ref, optionsWith(keyring)) : undefined;
          pending = atHand !== undefined ? classify(atHand) : withDeadline(resolveWith(), target.image, ref.canonical, deadline);
          byImage.set(imageKey, pending);
        }
        // An answer at hand (peeked) makes the finding at once; the review awaits only what is asked.
        return whenAtHand(pending, (answer): Finding => {
          let r = onTheNodes({ ...answer, image: target.image }, target, platforms.nodes, spec);
          // A secret the kubelet would use could not be read: an auth failure here proves nothing, nor does a missing
          // repository asked for with another credential (GitLab, Harbor, GHCR answer 404 for a repository hidden
          // from the account asking; asked anonymously, a private repository is a 401, not a 404).
          const hiddenFromAccount = r.reason === 'RepositoryNotFound' && r.credentialsTried.some((c) => c !== 'anonymous');
          if ((AUTH_REASONS.has(r.reason) || hiddenFromAccount) && unreadable.length > 0) {
            const hidden = r.reason === 'RepositoryNotFound' ? 'the registry answered RepositoryNotFound, which registries also answer for a repository hidden from the account asking; ' : '';
            r = { ...r, reason: 'SecretsUnreadable', verdict: verdictOf('SecretsUnreadable'), detail: hidden + unreadable.map((n) => `${n.name}: ${n.message ?? n.status}`).join('; ') };
          }
          return { ...base, target, resolution: qualify(r) };
        });
      })));
      return { findings: findings instanceof Promise ? await findings : findings, excluded: excludedTargets, ...skipped };
    }
  }
}
