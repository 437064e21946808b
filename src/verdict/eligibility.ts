// The nodes a pod may land on, decided as the scheduler's NodeName, NodeUnschedulable, TaintToleration and
// NodeAffinity filters decide, and the distinct platforms of those nodes. Without nodes, the pod's own arch/os
// constraints narrow the platforms to check.
//
// Taints that come and go with node conditions (node.kubernetes.io/not-ready, unreachable, memory-pressure, …) are
// not counted: a node that is briefly not ready is still where the pod may land, and counting them would make
// verdicts flap. Lasting taints (GKE's kubernetes.io/arch=arm64:NoSchedule, dedicated pools) are honoured — for a
// Pod only. A pod template's tolerations are not final: mutating admission adds more when its Pods are created (GKE
// the arm64 toleration for pods that select arm64, ExtendedResourceToleration those of GPU and other extended-resource
// taints, PodTolerationRestriction a namespace's defaults), so against a template taints are not counted, which can
// only count more nodes. A Pod reaching this validating webhook has been through mutating admission already.
import type { NodeInfo, NodeTaint } from '../cluster/types.ts';
import type { Platform } from '../reference/platform.ts';

/** What scheduling reads of a pod spec (workloads' PodSpecView has this shape). */
export interface SchedulingSpec {
  nodeName?: string;
  nodeSelector: Record<string, string>;
  /** The pod's raw `affinity` (only nodeAffinity is read). */
  affinity?: unknown;
  toleratesUnschedulable?: boolean;
  /** The pod's raw `tolerations` (v1 Toleration list). */
  tolerations?: unknown;
  /** A pod template (Deployment etc.): its tolerations are not final, so taints are not counted against it. */
  isTemplate?: boolean;
}

/**
 * The nodes this pod may run on. With `nodeName` the scheduler is bypassed: only that node, cordoned or not, and
 * only if it passes the kubelet's own admission check of nodeSelector and required node affinity. Otherwise every
 * node that is not cordoned (unless tolerated) and matches nodeSelector and required node affinity.
 */
export function eligibleNodes(spec: SchedulingSpec, nodes: NodeInfo[]): NodeInfo[] {
  const byClass = Array.isArray(nodes) && !(typeof spec?.nodeName === 'string' && spec.nodeName !== '') && !namesNodes(spec) ? classesOf(nodes) : undefined;
  if (byClass !== undefined) return eligibleByClass(spec, byClass);
  const list = Array.isArray(nodes) ? nodes.filter(isNode) : [];
  // Matching is per node; an absurd affinity (a 3 MiB request can hold ~100k expressions) would cost
  // expressions × nodes. Past a sane size, do not narrow at all: every node counts, which can only admit more.
  if (selectorSize(spec) * Math.max(1, list.length) > MAX_MATCH_WORK) return list;
  const nodeName = typeof spec?.nodeName === 'string' && spec.nodeName !== '' ? spec.nodeName : undefined;
  // With nodeName the scheduler is bypassed; the kubelet admits the pod and only NoExecute taints evict it.
  if (nodeName !== undefined) return list.filter((n) => n.name === nodeName && matchesNodeAffinity(spec, n) && toleratedBy(spec, n, 'NoExecute'));
  return list.filter((n) => schedulable(spec, n));
}

/**
 * eligibleNodes, remembered per node inventory and scheduling constraints: the inventory hands every review one
 * array until a node changes (cluster/node-inventory.ts), so reviews of one pod spec share one answer, and what is
 * derived from that array (platformsOf, runtime.ts decideIndexPlatform) is derived once. A changed inventory is a
 * new array, whose answers start afresh; the old ones go with it (WeakMap).
 */
export function eligibleNodesRemembered(spec: SchedulingSpec, nodes: NodeInfo[]): NodeInfo[] {
  const key = Array.isArray(nodes) ? schedulingKey(spec) : undefined;
  if (key === undefined) return eligibleNodes(spec, nodes);
  let known = eligibleMemo.get(nodes);
  if (!known) {
    known = new Map();
    eligibleMemo.set(nodes, known);
  }
  let out = known.get(key);
  if (!out) {
    out = eligibleNodes(spec, nodes);
    if (known.size >= MAX_REMEMBERED_SPECS) known.delete(known.keys().next().value as string);
    known.set(key, out);
  }
  return out;
}

const eligibleMemo = new WeakMap<NodeInfo[], Map<string, NodeInfo[]>>();
/** Distinct scheduling constraints remembered per inventory (oldest dropped first), and the longest remembered. */
const MAX_REMEMBERED_SPECS = 256;
const MAX_SCHEDULING_KEY_CHARS = 4096;

/**
 * Everything eligibleNodes reads of the spec, as JSON (the spec is parsed JSON or YAML); undefined when it is too
 * large to keep (an absurd affinity is matched afresh each time) or cannot be written (then it is not remembered).
 */
function schedulingKey(spec: SchedulingSpec): string | undefined {
  if (typeof spec !== 'object' || spec === null) return undefined;
  // Most pods set no constraint at all: a fixed key (no JSON starts with `-`) for each of the two flags.
  if (spec.nodeName === undefined && spec.affinity === undefined && spec.tolerations === undefined && noKeys(spec.nodeSelector)) {
    return `-${spec.toleratesUnschedulable === true ? 'u' : ''}${spec.isTemplate === true ? 't' : ''}`;
  }
  try {
    const key = JSON.stringify([spec.nodeName ?? null, spec.nodeSelector ?? null, spec.affinity ?? null, spec.toleratesUnschedulable === true, spec.tolerations ?? null, spec.isTemplate === true]);
    return key.length <= MAX_SCHEDULING_KEY_CHARS ? key : undefined;
  } catch {
    return undefined;
  }
}

/** No selector at all: absent, null, or an object without own properties (as eligibleNodes reads it). */
function noKeys(selector: unknown): boolean {
  if (selector === undefined || selector === null) return true;
  if (!isObj(selector)) return false;
  for (const key in selector) if (Object.hasOwn(selector, key)) return false;
  return true;
}

/** The scheduler's filters for one node, nodeName aside. */
function schedulable(spec: SchedulingSpec, n: NodeInfo): boolean {
  return (n.unschedulable !== true || spec?.toleratesUnschedulable === true) && toleratedBy(spec, n) && matchesNodeAffinity(spec, n);
}

/** The node's taints against the pod's tolerations; a template's tolerations are not final: every taint passes. */
function toleratedBy(spec: SchedulingSpec, n: NodeInfo, only?: NodeTaint['effect']): boolean {
  return spec?.isTemplate === true || toleratesTaints(spec?.tolerations, n, only);
}

/**
 * Nodes of one pool differ only in their name: decide once per equivalence class, and hand out one array per set
 * of admitted classes, so a review costs O(classes), not O(nodes).
 */
function eligibleByClass(spec: SchedulingSpec, classes: NodeClasses): NodeInfo[] {
  if (selectorSize(spec) * Math.max(1, classes.reps.length) > MAX_MATCH_WORK) return classes.all;
  const admitted: number[] = [];
  classes.reps.forEach((rep, i) => {
    if (schedulable(spec, rep)) admitted.push(i);
  });
  const key = admitted.join(',');
  let out = classes.results.get(key);
  if (!out) {
    const set = new Set(admitted);
    out = classes.all.filter((n) => set.has(classes.of.get(n) ?? -1));
    if (classes.results.size < MAX_CACHED_RESULTS) classes.results.set(key, out);
  }
  return out;
}

const MAX_CACHED_RESULTS = 256;

/** Labels that are one node's own: they do not make two nodes of a pool different for scheduling. */
const NODE_IDENTITY_LABELS = new Set(['kubernetes.io/hostname']);
/** Below this many nodes, matching each node is cheaper than building classes. */
const CLASS_MIN_NODES = 64;

interface NodeClasses {
  all: NodeInfo[];
  reps: NodeInfo[];
  of: Map<NodeInfo, number>;
  /** Eligible nodes by the admitted classes (`0,3`), shared by the reviews that admit the same classes. */
  results: Map<string, NodeInfo[]>;
}

// Built once per inventory snapshot (the inventory hands every review the same array until a node changes); an
// array seen once (a list built for one call) is matched node by node, which is cheaper than grouping it.
const classCache = new WeakMap<NodeInfo[], NodeClasses>();
const seenOnce = new WeakSet<NodeInfo[]>();

/** Nodes grouped by everything scheduling reads except their name: labels (without hostname), taints, cordon. */
function classesOf(nodes: NodeInfo[]): NodeClasses | undefined {
  if (nodes.length < CLASS_MIN_NODES) return undefined;
  let classes = classCache.get(nodes);
  if (classes) return classes;
  if (!seenOnce.has(nodes)) {
    seenOnce.add(nodes);
    return undefined;
  }
  classes = { all: nodes.filter(isNode), reps: [], of: new Map(), results: new Map() };
  const byKey = new Map<string, number>();
  for (const n of nodes) {
    if (!isNode(n)) continue;
    const labels = isObj(n.labels) ? Object.entries(n.labels).filter(([k]) => !NODE_IDENTITY_LABELS.has(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : [];
    const key = JSON.stringify([labels, n.taints ?? [], n.unschedulable === true]);
    let i = byKey.get(key);
    if (i === undefined) {
      i = classes.reps.length;
      byKey.set(key, i);
      classes.reps.push(n);
    }
    classes.of.set(n, i);
  }
  classCache.set(nodes, classes);
  return classes;
}

/** The pod's constraints can tell nodes of one class apart: matchFields (metadata.name) or an identity label. */
function namesNodes(spec: SchedulingSpec): boolean {
  const selector = isObj(spec?.nodeSelector) ? spec.nodeSelector : {};
  if (Object.keys(selector).some((k) => NODE_IDENTITY_LABELS.has(k))) return true;
  const affinity = isObj(spec?.affinity) ? spec.affinity : undefined;
  const nodeAffinity = affinity !== undefined && isObj(affinity['nodeAffinity']) ? affinity['nodeAffinity'] : undefined;
  const required = nodeAffinity?.['requiredDuringSchedulingIgnoredDuringExecution'];
  const terms = isObj(required) && Array.isArray(required['nodeSelectorTerms']) ? required['nodeSelectorTerms'] : [];
  return terms.some((term) => {
    if (!isObj(term)) return false;
    if (Array.isArray(term['matchFields']) && term['matchFields'].length > 0) return true;
    const exprs = Array.isArray(term['matchExpressions']) ? term['matchExpressions'] : [];
    return exprs.some((e) => isObj(e) && typeof e['key'] === 'string' && NODE_IDENTITY_LABELS.has(e['key']));
  });
}

/**
 * Taints set by the node lifecycle controller, the kubelet and cloud providers for passing states; the node is
 * still a place the pod may land once they clear (DaemonSet pods and DefaultTolerationSeconds tolerate most).
 */
const TRANSIENT_TAINT_PREFIXES = ['node.kubernetes.io/', 'node.cloudprovider.kubernetes.io/', 'ToBeDeletedByClusterAutoscaler', 'DeletionCandidateOfClusterAutoscaler'];

function transient(taint: NodeTaint): boolean {
  return TRANSIENT_TAINT_PREFIXES.some((p) => taint.key.startsWith(p));
}

/**
 * The scheduler's TaintToleration filter (component-helpers scheduling/corev1 FindMatchingUntoleratedTaint over
 * NoSchedule and NoExecute taints): every lasting taint of the node is tolerated by some toleration of the pod.
 */
export function toleratesTaints(tolerations: unknown, node: NodeInfo, only?: NodeTaint['effect']): boolean {
  const taints = Array.isArray(node.taints) ? node.taints : [];
  if (taints.length === 0) return true;
  const list = Array.isArray(tolerations) ? tolerations : [];
  return taints.every((taint) => !isObj(taint) || transient(taint) || (only !== undefined && taint.effect !== only) || list.some((t) => toleratesTaint(t, taint)));
}

/**
 * k8s.io/api/core/v1 toleration.go ToleratesTaint: the effect matches (or is empty), the key matches (or is empty,
 * which with Exists tolerates everything), and Exists, or Equal (the default) with the same value.
 */
export function toleratesTaint(toleration: unknown, taint: NodeTaint): boolean {
  if (!isObj(toleration)) return false;
  const effect = typeof toleration['effect'] === 'string' ? toleration['effect'] : '';
  const key = typeof toleration['key'] === 'string' ? toleration['key'] : '';
  const operator = typeof toleration['operator'] === 'string' ? toleration['operator'] : '';
  const value = typeof toleration['value'] === 'string' ? toleration['value'] : '';
  if (effect !== '' && effect !== taint.effect) return false;
  if (key !== '' && key !== taint.key) return false;
  if (operator === 'Exists') return true;
  if (operator === '' || operator === 'Equal') return value === (taint.value ?? '');
  // An operator this version does not know (newer API servers add some): assume it tolerates, which can only
  // count more nodes, never deny more.
  return true;
}

const ARCH_LABELS = ['kubernetes.io/arch', 'beta.kubernetes.io/arch'];
const OS_LABELS = ['kubernetes.io/os', 'beta.kubernetes.io/os'];
/** The operating systems Kubernetes nodes run, when a pod pins the architecture but not the OS. */
const NODE_OSES = ['linux', 'windows'];

/** What one way of satisfying the pod's node constraints says about arch and os: allowed and refused values. */
interface PlatformTerm {
  arch?: Set<string>;
  os?: Set<string>;
  notArch: Set<string>;
  notOs: Set<string>;
}

/**
 * Without a node inventory: the platforms the pod's own constraints allow (nodeSelector and required node affinity
 * In/NotIn on kubernetes.io/arch and kubernetes.io/os, beta labels too). With configured platforms, those the pod
 * could run on; without, the os/arch pairs the pod pins. undefined when the pod does not narrow anything (or its
 * constraints cannot be read), so the caller keeps what it had; [] when no configured platform is allowed.
 */
export function platformsAllowedBySpec(spec: SchedulingSpec, configured: Platform[]): Platform[] | undefined {
  const terms = platformTerms(spec);
  if (terms === undefined) return undefined;
  const allows = (p: Platform): boolean =>
    terms.some((t) => (!t.arch || t.arch.has(p.architecture)) && !t.notArch.has(p.architecture) && (!t.os || t.os.has(p.os)) && !t.notOs.has(p.os));
  if (configured.length > 0) return configured.filter(allows);
  const out: Platform[] = [];
  for (const t of terms) {
    // A term that does not pin the architecture allows any platform: nothing to narrow.
    if (!t.arch) return undefined;
    const oses = [...(t.os ?? NODE_OSES)].filter((os) => !t.notOs.has(os));
    for (const architecture of t.arch) {
      if (t.notArch.has(architecture)) continue;
      for (const os of oses) if (!out.some((p) => p.os === os && p.architecture === architecture)) out.push({ os, architecture });
    }
  }
  return out;
}

/** The pod's constraints as ORed terms (one per nodeSelectorTerm, each ANDed with nodeSelector); undefined: none. */
function platformTerms(spec: SchedulingSpec): PlatformTerm[] | undefined {
  if (selectorSize(spec) > MAX_MATCH_WORK) return undefined;
  const base: PlatformTerm = { notArch: new Set(), notOs: new Set() };
  let narrows = false;
  const selector = isObj(spec?.nodeSelector) ? spec.nodeSelector : {};
  for (const [key, value] of Object.entries(selector)) {
    if (typeof value !== 'string') continue;
    if (ARCH_LABELS.includes(key)) base.arch = intersect(base.arch, [value]);
    else if (OS_LABELS.includes(key)) base.os = intersect(base.os, [value]);
    else continue;
    narrows = true;
  }
  const affinity = isObj(spec?.affinity) ? spec.affinity : undefined;
  const nodeAffinity = affinity !== undefined && isObj(affinity['nodeAffinity']) ? affinity['nodeAffinity'] : undefined;
  const required = nodeAffinity?.['requiredDuringSchedulingIgnoredDuringExecution'];
  const rawTerms = isObj(required) && Array.isArray(required['nodeSelectorTerms']) ? required['nodeSelectorTerms'] : undefined;
  if (rawTerms === undefined || rawTerms.length === 0) return narrows ? [base] : undefined;
  const terms: PlatformTerm[] = [];
  for (const raw of rawTerms) {
    const term: PlatformTerm = { ...(base.arch ? { arch: base.arch } : {}), ...(base.os ? { os: base.os } : {}), notArch: new Set(base.notArch), notOs: new Set(base.notOs) };
    const exprs = isObj(raw) && Array.isArray(raw['matchExpressions']) ? raw['matchExpressions'] : [];
    for (const e of exprs) {
      if (!isObj(e) || typeof e['key'] !== 'string' || !Array.isArray(e['values'])) continue;
      const values = e['values'].filter((v): v is string => typeof v === 'string');
      const isArch = ARCH_LABELS.includes(e['key']);
      if (!isArch && !OS_LABELS.includes(e['key'])) continue;
      if (e['operator'] === 'In') {
        if (isArch) term.arch = intersect(term.arch, values);
        else term.os = intersect(term.os, values);
        narrows = true;
      } else if (e['operator'] === 'NotIn') {
        for (const v of values) (isArch ? term.notArch : term.notOs).add(v);
        narrows = true;
      }
    }
    terms.push(term);
  }
  return narrows ? terms : undefined;
}

function intersect(set: Set<string> | undefined, values: string[]): Set<string> {
  return new Set(set === undefined ? values : values.filter((v) => set.has(v)));
}

const MAX_MATCH_WORK = 2_000_000;

/** Label requirements in nodeSelector plus required node affinity (terms, expressions, fields, values). */
function selectorSize(spec: SchedulingSpec): number {
  let n = isObj(spec?.nodeSelector) ? Object.keys(spec.nodeSelector).length : 0;
  const terms = (spec?.affinity as { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: unknown } } } | undefined)
    ?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!Array.isArray(terms)) return n;
  for (const term of terms) {
    n += 1;
    for (const key of ['matchExpressions', 'matchFields']) {
      const exprs = isObj(term) ? term[key] : undefined;
      if (!Array.isArray(exprs)) continue;
      for (const e of exprs) n += 1 + (isObj(e) && Array.isArray(e['values']) ? e['values'].length : 0);
    }
  }
  return n;
}

/**
 * The scheduler's RequiredNodeAffinity.Match: every nodeSelector label equal, and when required node affinity is
 * set, at least one of its nodeSelectorTerms matching.
 */
export function matchesNodeAffinity(spec: SchedulingSpec, node: NodeInfo): boolean {
  const labels = isObj(node.labels) ? node.labels : {};
  const selector = isObj(spec?.nodeSelector) ? spec.nodeSelector : {};
  for (const [k, v] of Object.entries(selector)) {
    if (typeof v !== 'string') continue;
    if (!Object.hasOwn(labels, k) || labels[k] !== v) return false;
  }
  const affinity = isObj(spec?.affinity) ? spec.affinity : undefined;
  const nodeAffinity = affinity !== undefined && isObj(affinity['nodeAffinity']) ? affinity['nodeAffinity'] : undefined;
  const required = nodeAffinity?.['requiredDuringSchedulingIgnoredDuringExecution'];
  if (required === undefined || required === null) return true;
  return matchesNodeSelector(required, node);
}

/**
 * A v1.NodeSelector against a node (component-helpers nodeaffinity.LazyErrorNodeSelector): the terms are ORed;
 * an empty term, or a term that does not parse (unknown operator, wrong value count, non-integer Gt/Lt, invalid
 * key or value), matches nothing. A selector with no terms matches no node.
 */
export function matchesNodeSelector(selector: unknown, node: NodeInfo): boolean {
  if (!isObj(selector)) return false;
  const terms = selector['nodeSelectorTerms'];
  if (!Array.isArray(terms)) return false;
  return terms.some((term) => matchesTerm(term, node));
}

function matchesTerm(term: unknown, node: NodeInfo): boolean {
  if (!isObj(term)) return false;
  const expressions = listOrEmpty(term['matchExpressions']);
  const fields = listOrEmpty(term['matchFields']);
  if (expressions === undefined || fields === undefined) return false;
  if (expressions.length === 0 && fields.length === 0) return false;
  const labelReqs = expressions.map(labelRequirement);
  const fieldReqs = fields.map(fieldRequirement);
  if (labelReqs.includes(undefined) || fieldReqs.includes(undefined)) return false; // parse error: no match
  const labels = isObj(node.labels) ? node.labels : {};
  const nodeFields: Record<string, string> = { 'metadata.name': typeof node.name === 'string' ? node.name : '' };
  return labelReqs.every((r) => r !== undefined && r(labels)) && fieldReqs.every((r) => r !== undefined && r(nodeFields));
}

type Matcher = (set: Record<string, unknown>) => boolean;

/** labels.NewRequirement + Requirement.Matches for one NodeSelectorRequirement; undefined when it does not parse. */
function labelRequirement(expr: unknown): Matcher | undefined {
  if (!isObj(expr)) return undefined;
  const key = expr['key'];
  const operator = expr['operator'];
  const values = stringList(expr['values']);
  if (typeof key !== 'string' || !isQualifiedName(key) || typeof operator !== 'string' || values === undefined) return undefined;
  if (!values.every(isLabelValue)) return undefined;
  const has = (set: Record<string, unknown>): boolean => Object.hasOwn(set, key) && typeof set[key] === 'string';
  switch (operator) {
    case 'In':
      if (values.length === 0) return undefined;
      return (set) => has(set) && values.includes(set[key] as string);
    case 'NotIn':
      if (values.length === 0) return undefined;
      return (set) => !has(set) || !values.includes(set[key] as string);
    case 'Exists':
      if (values.length !== 0) return undefined;
      return has;
    case 'DoesNotExist':
      if (values.length !== 0) return undefined;
      return (set) => !has(set);
    case 'Gt':
    case 'Lt': {
      const bound = values.length === 1 ? parseInt64(values[0] ?? '') : undefined;
      if (bound === undefined) return undefined;
      return (set) => {
        if (!has(set)) return false;
        const v = parseInt64(set[key] as string);
        if (v === undefined) return false;
        return operator === 'Gt' ? v > bound : v < bound;
      };
    }
    default:
      return undefined;
  }
}

/** Field requirements: In / NotIn with exactly one value; a node only has the field `metadata.name`. */
function fieldRequirement(expr: unknown): Matcher | undefined {
  if (!isObj(expr)) return undefined;
  const key = expr['key'];
  const operator = expr['operator'];
  const values = stringList(expr['values']);
  if (typeof key !== 'string' || values === undefined || values.length !== 1) return undefined;
  const value = values[0] ?? '';
  const fieldOf = (set: Record<string, unknown>): string => (Object.hasOwn(set, key) && typeof set[key] === 'string' ? (set[key] as string) : '');
  if (operator === 'In') return (set) => fieldOf(set) === value;
  if (operator === 'NotIn') return (set) => fieldOf(set) !== value;
  return undefined;
}

/** Go's strconv.ParseInt(s, 10, 64). */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const v = BigInt(s);
  return v >= -(2n ** 63n) && v <= 2n ** 63n - 1n ? v : undefined;
}

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** apimachinery IsQualifiedName: `[prefix/]name`, prefix a DNS subdomain (≤253), name ≤63. */
function isQualifiedName(key: string): boolean {
  const parts = key.split('/');
  if (parts.length > 2) return false;
  const name = parts.at(-1) ?? '';
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) return false;
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) return false;
  }
  return true;
}

/** apimachinery IsValidLabelValue: empty, or ≤63 alphanumerics with `-_.` inside. */
function isLabelValue(v: string): boolean {
  return v === '' || (v.length <= 63 && LABEL_NAME.test(v));
}

/**
 * The distinct platforms of these nodes, in first-seen order. A node whose os or architecture is unknown could run
 * anything as far as we know: then the answer is [] (any platform), never a narrower list.
 */
export function platformsOf(nodes: NodeInfo[]): Platform[] {
  if (!Array.isArray(nodes)) return [];
  let cached = platformsCache.get(nodes);
  if (!cached) {
    cached = distinctPlatforms(nodes);
    platformsCache.set(nodes, cached);
  }
  return cached;
}

// Eligible-node arrays are shared between reviews (eligibleByClass), and so are their platforms.
const platformsCache = new WeakMap<NodeInfo[], Platform[]>();

function distinctPlatforms(nodes: NodeInfo[]): Platform[] {
  const seen = new Set<string>();
  const out: Platform[] = [];
  for (const node of Array.isArray(nodes) ? nodes : []) {
    if (!isNode(node)) continue;
    const p: unknown = node.platform;
    if (!isObj(p) || typeof p.os !== 'string' || typeof p.architecture !== 'string' || p.os === '' || p.architecture === '') return [];
    const platform: Platform = { os: p.os, architecture: p.architecture };
    if (typeof p.variant === 'string' && p.variant !== '') platform.variant = p.variant;
    if (typeof p.osVersion === 'string' && p.osVersion !== '') platform.osVersion = p.osVersion;
    const id = `${platform.os}/${platform.architecture}/${platform.variant ?? ''}/${platform.osVersion ?? ''}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(platform);
  }
  return out;
}

function isNode(n: unknown): n is NodeInfo {
  return isObj(n) && typeof n['name'] === 'string';
}

function listOrEmpty(v: unknown): unknown[] | undefined {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : undefined;
}

function stringList(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return undefined;
  return v as string[];
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
