// What the nodes' kubelet and container runtime versions decide, each rule from the runtime's own source. Pure
// functions of the facts a Node reports (status.nodeInfo.containerRuntimeVersion, kubeletVersion).
import type { NodeInfo } from '../cluster/types.ts';
import { containerdDefaultSpec, formatPlatform, indexEntryMatches, type IndexMatcher, type Platform } from '../reference/platform.ts';

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

/**
 * The ways a node's runtime may pick an index entry (src/reference/platform.ts IndexMatcher), from its version:
 * - containerd 1.x: the CRI plugin pulls with client.Pull and the client's default `platforms.Default()`
 *   (pkg/cri/server/image_pull.go and client.go, v1.6/v1.7): `containerd`.
 * - containerd 2.0 and later: the CRI plugin pulls through the transfer service (the default since
 *   containerd/containerd#8515, in 2.0) unless `use_local_image_pull` is set (or forced by an option the transfer
 *   service lacks: internal/cri/config CheckLocalImagePullConfigs);
 *   the transfer service fetches only `platforms.Ordered(DefaultSpec())`, the local pull `platforms.Only`
 *   (internal/cri/server/images/image_pull.go, core/transfer/image/imagestore.go, v2.1/v2.2). The Node does not
 *   report that setting: either.
 * - CRI-O: containers/image's table: `cri-o`. Before its variant matcher (containers/image#854, March 2020)
 *   containers/image compared os and architecture only; CRI-O 1.17 vendored v5.1 (cri-o/cri-o#3050), 1.20 v5.10
 *   (cri-o/cri-o#4531): an older CRI-O may be either, so any of them.
 * - anything else, or no version: any of them.
 */
export function indexMatchers(runtime: RuntimeVersion | undefined): readonly IndexMatcher[] {
  if (runtime?.name === 'containerd') return runtime.major < 2 ? CONTAINERD_1 : CONTAINERD_2;
  if (runtime?.name === 'cri-o') return runtime.major > 1 || (runtime.major === 1 && runtime.minor >= CRI_O_VARIANT_MATCHER_MINOR) ? CRI_O : ANY_RUNTIME;
  return ANY_RUNTIME;
}

/** The first CRI-O 1.x minor known to vendor containers/image with the variant matcher (cri-o/cri-o#4531). */
const CRI_O_VARIANT_MATCHER_MINOR = 20;

const CONTAINERD_1: readonly IndexMatcher[] = ['containerd'];
const CONTAINERD_2: readonly IndexMatcher[] = ['containerd', 'containerd-strict'];
const CRI_O: readonly IndexMatcher[] = ['cri-o'];
const ANY_RUNTIME: readonly IndexMatcher[] = ['containerd', 'containerd-strict', 'cri-o'];

/** Eligible nodes grouped by what decides their pick: platform and the runtime's ways of matching. */
interface IndexPicker {
  platform: Platform;
  matchers: readonly IndexMatcher[];
  runtimes: string[];
}

/**
 * What the eligible nodes' runtimes do with an index offering `offered`:
 * - `match`: the runtime of some node picks an entry whatever its configuration (the pod may land there);
 * - `uncertain`: no node certainly does, but some may (containerd 2.x takes 386 on amd64 only with
 *   use_local_image_pull; a runtime the Node does not name; CRI-O taking an entry without a platform);
 * - `mismatch`: no node's runtime takes any entry.
 * `platformless` counts the OCI index's entries without a platform, which CRI-O takes when nothing matches.
 * A `match` names in `without` the CRI-O nodes that take nothing although platforms.Only would (the registry's own
 * answer names the nodes platforms.Only fails on): pods scheduled there fail to pull.
 */
export type IndexDecision =
  | { verdict: 'match'; without?: { platforms: Platform[]; runtimes: string[] } }
  | { verdict: 'uncertain'; platforms: Platform[]; runtimes: string[]; reasons: string[] }
  | { verdict: 'mismatch'; runtimes: string[] };

export function decideIndexPlatform(nodes: readonly NodeInfo[], offered: readonly Platform[], platformless = 0): IndexDecision {
  const pickers = pickersOf(nodes);
  // A node whose platform is unknown could run anything (eligibility.ts platformsOf): nothing to decide.
  if (pickers === undefined || pickers.length === 0) return { verdict: 'match' };
  // The same groups of nodes (one array per eligible set) meet the same index (one array per cached resolution)
  // on every review of a warm image: decided once. Neither array is modified once made.
  if (!Array.isArray(offered)) return decidePickers(pickers, offered, platformless);
  let byOffered = decisions.get(pickers);
  if (!byOffered) {
    byOffered = new WeakMap();
    decisions.set(pickers, byOffered);
  }
  let byPlatformless = byOffered.get(offered);
  if (!byPlatformless) {
    byPlatformless = new Map();
    byOffered.set(offered, byPlatformless);
  }
  let decision = byPlatformless.get(platformless);
  if (!decision) {
    decision = decidePickers(pickers, offered, platformless);
    if (byPlatformless.size < 8) byPlatformless.set(platformless, decision);
  }
  return decision;
}

const decisions = new WeakMap<readonly IndexPicker[], WeakMap<readonly Platform[], Map<number, IndexDecision>>>();

function decidePickers(pickers: readonly IndexPicker[], offered: readonly Platform[], platformless: number): IndexDecision {
  const uncertain: IndexPicker[] = [];
  const none: IndexPicker[] = [];
  const reasons = new Set<string>();
  let matched = false;
  for (const picker of pickers) {
    const exact = picker.matchers.map((m) => offered.some((o) => indexEntryMatches(m, m === 'containerd-strict' ? containerdDefaultSpec(picker.platform) : picker.platform, o)));
    if (exact.every(Boolean)) {
      matched = true;
      continue;
    }
    // CRI-O's pick of an entry without a platform is a pull that succeeds; whether it runs there is its config's question.
    const takesPlatformless = picker.matchers.map((m, i) => exact[i] !== true && m === 'cri-o' && platformless > 0);
    if (!exact.some(Boolean) && !takesPlatformless.some(Boolean)) {
      if (!picker.matchers.includes('containerd') && offered.some((o) => indexEntryMatches('containerd', picker.platform, o))) none.push(picker);
      continue;
    }
    picker.matchers.forEach((m, i) => {
      if (exact[i] !== true) reasons.add(takesPlatformless[i] === true ? PLATFORMLESS : WHY_NOT[m]);
    });
    uncertain.push(picker);
  }
  if (matched) return none.length > 0 ? { verdict: 'match', without: { platforms: none.map((p) => p.platform), runtimes: [...new Set(none.flatMap((p) => p.runtimes))] } } : { verdict: 'match' };
  const runtimes = [...new Set(pickers.flatMap((p) => p.runtimes))];
  if (uncertain.length === 0) return { verdict: 'mismatch', runtimes };
  return { verdict: 'uncertain', platforms: uncertain.map((p) => p.platform), runtimes: [...new Set(uncertain.flatMap((p) => p.runtimes))], reasons: [...reasons] };
}

const PLATFORMLESS = 'CRI-O takes an index entry without a platform when no entry matches (containers/image oci_index.go), whatever that entry is built for';
const WHY_NOT: Record<IndexMatcher, string> = {
  containerd: 'containerd\'s platforms.Only does not take it',
  'containerd-strict': 'containerd 2.x pulls through its transfer service by default, which takes only the node\'s own platform (no 386 on amd64, no arm/v6 on arm/v7, no 32-bit arm on arm64) unless use_local_image_pull = true, which the Node does not report',
  'cri-o': 'CRI-O (containers/image) takes only the node\'s exact os/architecture/variant, arm variants aside',
};

// Eligible-node arrays are shared between reviews (eligibility.ts eligibleByClass): group each once.
const pickerCache = new WeakMap<readonly NodeInfo[], IndexPicker[] | undefined>();

function pickersOf(nodes: readonly NodeInfo[]): IndexPicker[] | undefined {
  if (pickerCache.has(nodes)) return pickerCache.get(nodes);
  const byKey = new Map<string, IndexPicker>();
  let unknown = false;
  for (const n of nodes) {
    const fact = pickerFact(n);
    if (fact === undefined) continue;
    if (fact === 'unknown') {
      unknown = true;
      break;
    }
    const picker = byKey.get(fact.key);
    if (picker) {
      if (!picker.runtimes.includes(fact.runtime) && picker.runtimes.length < MAX_RUNTIMES_NAMED) picker.runtimes.push(fact.runtime);
    } else byKey.set(fact.key, { platform: fact.platform, matchers: fact.matchers, runtimes: [fact.runtime] });
  }
  const out = unknown ? undefined : [...byKey.values()];
  pickerCache.set(nodes, out);
  return out;
}

interface PickerFact {
  key: string;
  platform: Platform;
  matchers: readonly IndexMatcher[];
  runtime: string;
}

// A node's facts outlive reviews and snapshots (the inventory projects each Node once): read each node once.
const factCache = new WeakMap<NodeInfo, PickerFact | 'unknown' | undefined>();
const matchersByRuntime = new Map<string, readonly IndexMatcher[]>();

function pickerFact(n: NodeInfo): PickerFact | 'unknown' | undefined {
  if (typeof n !== 'object' || n === null) return undefined;
  if (factCache.has(n)) return factCache.get(n);
  let fact: PickerFact | 'unknown';
  const p: unknown = n.platform;
  // No platform, or half of one: any platform, as eligibility.ts platformsOf takes it (never a narrower verdict).
  if (typeof p !== 'object' || p === null) fact = 'unknown';
  else {
    const { os, architecture, variant, osVersion } = p as Partial<Platform>;
    if (typeof os !== 'string' || typeof architecture !== 'string' || os === '' || architecture === '') fact = 'unknown';
    else {
      const platform: Platform = { os, architecture, ...(typeof variant === 'string' && variant !== '' ? { variant } : {}), ...(typeof osVersion === 'string' && osVersion !== '' ? { osVersion } : {}) };
      const runtime = typeof n.containerRuntimeVersion === 'string' && n.containerRuntimeVersion !== '' ? n.containerRuntimeVersion : 'an unreported runtime';
      let matchers = matchersByRuntime.get(runtime);
      if (!matchers) {
        matchers = indexMatchers(parseRuntimeVersion(n.containerRuntimeVersion));
        if (matchersByRuntime.size < 1024) matchersByRuntime.set(runtime, matchers);
      }
      fact = { key: `${formatPlatform(platform)}(${platform.osVersion ?? ''})|${matchers.join(',')}`, platform, matchers, runtime };
    }
  }
  factCache.set(n, fact);
  return fact;
}

/** Runtime versions named per platform in an explanation (a cluster mid-upgrade has a few, not hundreds). */
const MAX_RUNTIMES_NAMED = 4;
