// Where the pod spec sits in each pod-bearing kind, and what in it the kubelet would pull: every container image
// (init, regular, ephemeral) and image volume, with its JSON field path and effective pull policy. Pure and total:
// any object gives a view or a typed reason, and malformed parts become problems, never exceptions.
import { parseReference } from '../reference/reference.ts';
// One image value type for every layer: the verdict layer's, below this one.
import type { ImageTarget, PullPolicy } from '../verdict/finding.ts';

export interface PodSpecView {
  kind: string;
  /** `spec`, `spec.template.spec`, `spec.jobTemplate.spec.template.spec`, `template.spec`. */
  basePath: string;
  /** False for a Pod, true for everything that stamps pods out of a template. */
  isTemplate: boolean;
  /** `default` when none is written (the API server's default). */
  serviceAccountName: string;
  serviceAccountNameDefaulted: boolean;
  /** Secret names, in order, empty names dropped (the kubelet skips them), duplicates dropped. */
  imagePullSecrets: string[];
  nodeName?: string;
  nodeSelector: Record<string, string>;
  /** The raw `affinity` object; scheduling reads `nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`. */
  affinity?: unknown;
  /**
   * The pod may run on cordoned (unschedulable) nodes: it tolerates the `node.kubernetes.io/unschedulable`
   * NoSchedule taint, or it is a DaemonSet's (the DaemonSet controller adds that toleration to its pods).
   */
  toleratesUnschedulable: boolean;
  /** The raw `tolerations` list; scheduling matches it against node taints. */
  tolerations?: unknown;
  /** The pod's RuntimeClass: a handler (Kata, gVisor, runwasi/Spin shims) that may run what runc cannot. */
  runtimeClassName?: string;
  images: ImageTarget[];
  /** Malformed parts that were skipped, as sentences (`spec.containers[2] has no image`). */
  problems: string[];
}

export type PodSpecResult =
  | { ok: true; view: PodSpecView }
  | { ok: false; code: 'NotPodBearing' | 'NoPodSpec'; reason: string };

const TEMPLATE_PATH = ['spec', 'template', 'spec'];

/** Where each pod-bearing kind keeps its pod spec. */
export const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec'],
  Deployment: TEMPLATE_PATH,
  ReplicaSet: TEMPLATE_PATH,
  StatefulSet: TEMPLATE_PATH,
  DaemonSet: TEMPLATE_PATH,
  Job: TEMPLATE_PATH,
  ReplicationController: TEMPLATE_PATH,
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  PodTemplate: ['template', 'spec'],
};

const UNSCHEDULABLE_TAINT = 'node.kubernetes.io/unschedulable';
const POLICIES: ReadonlySet<string> = new Set(['Always', 'IfNotPresent', 'Never']);
const CONTAINER_FIELDS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

type Obj = Record<string, unknown>;

/** Find the pod spec of an object of the given kind and list what the kubelet would pull for it. */
export function podSpecOf(kind: string, object: unknown): PodSpecResult {
  const path = typeof kind === 'string' && Object.hasOwn(POD_SPEC_PATHS, kind) ? POD_SPEC_PATHS[kind] : undefined;
  if (path === undefined) {
    return { ok: false, code: 'NotPodBearing', reason: `kind ${typeof kind === 'string' && kind !== '' ? kind : '(none)'} does not carry a pod spec` };
  }
  const basePath = path.join('.');
  let node: unknown = object;
  for (const step of path) node = isObj(node) ? node[step] : undefined;
  if (!isObj(node)) {
    const what = node === undefined || node === null ? 'has no' : 'has a malformed';
    return { ok: false, code: 'NoPodSpec', reason: `${kind} ${what} ${basePath}` };
  }
  return { ok: true, view: viewOf(kind, basePath, node) };
}

function viewOf(kind: string, basePath: string, spec: Obj): PodSpecView {
  const problems: string[] = [];
  const images: ImageTarget[] = [];
  for (const field of CONTAINER_FIELDS) images.push(...containerImages(spec, field, basePath, problems));
  images.push(...volumeImages(spec, basePath, problems));

  const sa = nonEmptyString(spec['serviceAccountName']) ?? nonEmptyString(spec['serviceAccount']);
  const view: PodSpecView = {
    kind,
    basePath,
    isTemplate: kind !== 'Pod',
    serviceAccountName: sa ?? 'default',
    serviceAccountNameDefaulted: sa === undefined,
    imagePullSecrets: pullSecretNames(spec['imagePullSecrets'], basePath, problems),
    nodeSelector: stringMap(spec['nodeSelector'], `${basePath}.nodeSelector`, problems),
    toleratesUnschedulable: kind === 'DaemonSet' || toleratesUnschedulable(spec['tolerations']),
    images,
    problems,
  };
  const nodeName = nonEmptyString(spec['nodeName']);
  if (nodeName !== undefined) view.nodeName = nodeName;
  if (spec['affinity'] !== undefined && spec['affinity'] !== null) view.affinity = spec['affinity'];
  if (Array.isArray(spec['tolerations'])) view.tolerations = spec['tolerations'];
  const runtimeClassName = nonEmptyString(spec['runtimeClassName']);
  if (runtimeClassName !== undefined) view.runtimeClassName = runtimeClassName;
  return view;
}

function containerImages(spec: Obj, field: (typeof CONTAINER_FIELDS)[number], basePath: string, problems: string[]): ImageTarget[] {
  const list = arrayField(spec, field, basePath, problems);
  const out: ImageTarget[] = [];
  list.forEach((c, i) => {
    const at = `${basePath}.${field}[${i}]`;
    if (!isObj(c)) {
      problems.push(`${at} is not an object`);
      return;
    }
    const image = c['image'];
    if (typeof image !== 'string' || image === '') {
      problems.push(typeof image === 'string' || image === undefined || image === null ? `${at} has no image` : `${at}.image is not a string`);
      return;
    }
    const policy = pullPolicyOf(c['imagePullPolicy'], image, `${at}.imagePullPolicy`, problems);
    out.push({ containerName: stringOr(c['name'], ''), field, image, fieldPath: `${at}.image`, ...policy });
  });
  return out;
}

function volumeImages(spec: Obj, basePath: string, problems: string[]): ImageTarget[] {
  const list = arrayField(spec, 'volumes', basePath, problems);
  const out: ImageTarget[] = [];
  list.forEach((v, i) => {
    const at = `${basePath}.volumes[${i}]`;
    if (!isObj(v)) {
      problems.push(`${at} is not an object`);
      return;
    }
    const source = v['image'];
    if (source === undefined || source === null) return; // not an image volume
    if (!isObj(source)) {
      problems.push(`${at}.image is not an object`);
      return;
    }
    const reference = source['reference'];
    if (typeof reference !== 'string' || reference === '') {
      problems.push(typeof reference === 'string' || reference === undefined || reference === null ? `${at}.image has no reference` : `${at}.image.reference is not a string`);
      return;
    }
    const policy = pullPolicyOf(source['pullPolicy'], reference, `${at}.image.pullPolicy`, problems);
    out.push({ containerName: stringOr(v['name'], ''), field: 'volumes', image: reference, fieldPath: `${at}.image.reference`, ...policy });
  });
  return out;
}

function pullPolicyOf(value: unknown, image: string, at: string, problems: string[]): { pullPolicy: PullPolicy; pullPolicyDefaulted: boolean } {
  if (typeof value === 'string' && POLICIES.has(value)) return { pullPolicy: value as PullPolicy, pullPolicyDefaulted: false };
  if (value !== undefined && value !== null && value !== '') problems.push(`${at} is not Always, IfNotPresent or Never; the default applies`);
  return { pullPolicy: defaultPullPolicy(image), pullPolicyDefaulted: true };
}

/**
 * The API server's default (pkg/apis/core/v1/defaults.go, SetDefaults_Container and SetDefaults_ImageVolumeSource):
 * Always when the parsed tag is `latest` — written, or implied by writing neither tag nor digest — else IfNotPresent.
 * A digest-only reference has no tag, so IfNotPresent; so does a reference that does not parse (the error is ignored).
 */
export function defaultPullPolicy(image: string): PullPolicy {
  const parsed = parseReference(image);
  return parsed.ok && parsed.reference.tag === 'latest' ? 'Always' : 'IfNotPresent';
}

/**
 * The images of `current` that need checking, compared with the object before an UPDATE: an image already present
 * anywhere in the old spec (any container list or image volume) was admitted before and is not new. One exception:
 * when every old occurrence had pullPolicy Never and the new one pulls, it is new, since Never was never checked
 * against the registry. Other policy changes do not matter. Without an old object, every image is new. For a
 * `pods/ephemeralcontainers` UPDATE (kubectl debug) this leaves exactly the added debug containers' new images.
 */
export function newImages(current: PodSpecView, old: PodSpecView | undefined): ImageTarget[] {
  if (old === undefined) return [...current.images];
  const oldPolicies = new Map<string, Set<PullPolicy>>();
  for (const img of old.images) {
    const set = oldPolicies.get(img.image) ?? new Set<PullPolicy>();
    set.add(img.pullPolicy);
    oldPolicies.set(img.image, set);
  }
  return current.images.filter((img) => {
    const before = oldPolicies.get(img.image);
    if (before === undefined) return true;
    const onlyNeverBefore = before.size === 1 && before.has('Never');
    return onlyNeverBefore && img.pullPolicy !== 'Never';
  });
}

function pullSecretNames(value: unknown, basePath: string, problems: string[]): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.push(`${basePath}.imagePullSecrets is not a list`);
    return [];
  }
  const names: string[] = [];
  const seen = new Set<string>();
  value.forEach((ref, i) => {
    const name = isObj(ref) ? ref['name'] : undefined;
    if (typeof name !== 'string') {
      if (!isObj(ref) || (name !== undefined && name !== null)) problems.push(`${basePath}.imagePullSecrets[${i}] has no name`);
      return;
    }
    // The kubelet skips empty names (the API once allowed them).
    // A Set, not names.includes: a 3 MB body can list 100,000 names (quadratic would stall the event loop).
    if (name !== '' && !seen.has(name)) {
      seen.add(name);
      names.push(name);
    }
  });
  return names;
}

/** A pod toleration that tolerates the unschedulable taint (v1 Toleration.ToleratesTaint). */
function toleratesUnschedulable(tolerations: unknown): boolean {
  if (!Array.isArray(tolerations)) return false;
  return tolerations.some((t) => {
    if (!isObj(t)) return false;
    const effect = stringOr(t['effect'], '');
    const key = stringOr(t['key'], '');
    const operator = stringOr(t['operator'], '');
    if (effect !== '' && effect !== 'NoSchedule') return false;
    if (key !== '' && key !== UNSCHEDULABLE_TAINT) return false;
    if (operator === 'Exists') return true;
    return (operator === '' || operator === 'Equal') && stringOr(t['value'], '') === '';
  });
}

function arrayField(spec: Obj, field: string, basePath: string, problems: string[]): unknown[] {
  const value = spec[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.push(`${basePath}.${field} is not a list`);
    return [];
  }
  return value;
}

function stringMap(value: unknown, at: string, problems: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === undefined || value === null) return out;
  if (!isObj(value)) {
    problems.push(`${at} is not a map`);
    return out;
  }
  for (const [k, v] of Object.entries(value)) {
    // defineProperty: a `__proto__` key stays a plain entry.
    if (typeof v === 'string') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else problems.push(`${at}[${JSON.stringify(k)}] is not a string; it is ignored`);
  }
  return out;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringOr(v: unknown, fallback: string): string {
  return typeof v === 'string' ? v : fallback;
}

function nonEmptyString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
