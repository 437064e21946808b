// The nodes a pod may land on, decided as the scheduler's NodeName, NodeUnschedulable and NodeAffinity filters
// decide (nodeSelector, then required node affinity), and the distinct platforms of those nodes.
//
// Taints are ignored on purpose: tolerating a taint cannot make an image's platform runnable, so it never turns
// a deny into an allow, and taints change often (autoscalers, maintenance), so counting them would make verdicts
// flap. The one taint that is honoured is the cordon (`spec.unschedulable`), as the scheduler does.
import type { NodeInfo } from '../cluster/types.ts';
import type { Platform } from '../registry/index.ts';

/** What scheduling reads of a pod spec (workloads' PodSpecView has this shape). */
export interface SchedulingSpec {
  nodeName?: string;
  nodeSelector: Record<string, string>;
  /** The pod's raw `affinity` (only nodeAffinity is read). */
  affinity?: unknown;
  toleratesUnschedulable?: boolean;
}

/**
 * The nodes this pod may run on. With `nodeName` the scheduler is bypassed: only that node, cordoned or not, and
 * only if it passes the kubelet's own admission check of nodeSelector and required node affinity. Otherwise every
 * node that is not cordoned (unless tolerated) and matches nodeSelector and required node affinity.
 */
export function eligibleNodes(spec: SchedulingSpec, nodes: NodeInfo[]): NodeInfo[] {
  const list = Array.isArray(nodes) ? nodes.filter(isNode) : [];
  // Matching is per node; an absurd affinity (a 3 MiB request can hold ~100k expressions) would cost
  // expressions × nodes. Past a sane size, do not narrow at all: every node counts, which can only admit more.
  if (selectorSize(spec) * Math.max(1, list.length) > MAX_MATCH_WORK) return list;
  const nodeName = typeof spec?.nodeName === 'string' && spec.nodeName !== '' ? spec.nodeName : undefined;
  if (nodeName !== undefined) return list.filter((n) => n.name === nodeName && matchesNodeAffinity(spec, n));
  return list.filter((n) => (n.unschedulable !== true || spec?.toleratesUnschedulable === true) && matchesNodeAffinity(spec, n));
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
  const seen = new Set<string>();
  const out: Platform[] = [];
  for (const node of Array.isArray(nodes) ? nodes : []) {
    if (!isNode(node)) continue;
    const p: unknown = node.platform;
    if (!isObj(p) || typeof p.os !== 'string' || typeof p.architecture !== 'string' || p.os === '' || p.architecture === '') return [];
    const platform: Platform = { os: p.os, architecture: p.architecture };
    if (typeof p.variant === 'string' && p.variant !== '') platform.variant = p.variant;
    if (typeof p.osVersion === 'string' && p.osVersion !== '') platform.osVersion = p.osVersion;
    const id = JSON.stringify([platform.os, platform.architecture, platform.variant ?? '', platform.osVersion ?? '']);
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
