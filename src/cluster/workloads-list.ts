// Lists the running workloads whose pod templates decide what the kubelet will pull next: every Deployment,
// StatefulSet, DaemonSet, CronJob, and the Jobs, ReplicaSets, ReplicationControllers and Pods no controller owns
// (an owned one carries its owner's template, which is audited at the owner). Paginated LISTs through
// @kubernetes/client-node; each item comes back as plain JSON with its `kind`, as `podSpecOf` reads it.
// RBAC needed: list on deployments, statefulsets, daemonsets, replicasets (apps), cronjobs, jobs (batch),
// replicationcontrollers, pods (core).
import { AppsV1Api, BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { ConfigurationOptions, KubeConfig } from '@kubernetes/client-node';
import { abortOn } from './request-signal.ts';
import { httpStatus } from './api-error.ts';

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Job', 'ReplicaSet', 'ReplicationController', 'Pod'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** The plural resource, its API group and the RBAC rule a LIST of it needs. */
export const WORKLOAD_RESOURCES: Record<WorkloadKind, { resource: string; group: string; apiVersion: string }> = {
  Deployment: { resource: 'deployments', group: 'apps', apiVersion: 'apps/v1' },
  StatefulSet: { resource: 'statefulsets', group: 'apps', apiVersion: 'apps/v1' },
  DaemonSet: { resource: 'daemonsets', group: 'apps', apiVersion: 'apps/v1' },
  ReplicaSet: { resource: 'replicasets', group: 'apps', apiVersion: 'apps/v1' },
  CronJob: { resource: 'cronjobs', group: 'batch', apiVersion: 'batch/v1' },
  Job: { resource: 'jobs', group: 'batch', apiVersion: 'batch/v1' },
  ReplicationController: { resource: 'replicationcontrollers', group: '', apiVersion: 'v1' },
  Pod: { resource: 'pods', group: '', apiVersion: 'v1' },
};

export interface ListedWorkload {
  kind: WorkloadKind;
  apiVersion: string;
  namespace: string;
  name: string;
  uid: string;
  /** The object as the API server sent it (plain JSON), `kind` and `apiVersion` filled in. */
  object: Record<string, unknown>;
}

export interface WorkloadListing {
  workloads: ListedWorkload[];
  /** Objects left out, by why: `owned` (a controller owns them), `finished` (Pods that ended: never pull again). */
  skipped: { owned: number; finished: number };
  /** One sentence per kind that could not be listed (RBAC, API server errors); the others are still listed. */
  errors: string[];
  /** LIST requests sent (pages included). */
  requests: number;
}

export interface ListWorkloadsOptions {
  /** One namespace; all namespaces when absent. */
  namespace?: string;
  /** Items per page (`limit`), default 500 as kubectl uses. */
  pageSize?: number;
  /** Deadline of each page request, in ms (default 30000). */
  timeoutMs?: number;
  /** Kinds to list (default all of WORKLOAD_KINDS). */
  kinds?: readonly WorkloadKind[];
  signal?: AbortSignal;
}

interface Page {
  metadata?: { _continue?: string };
  items: object[];
}

type PageRequest = (cont: string | undefined, limit: number, options: ConfigurationOptions) => Promise<Page>;

function pager(kc: KubeConfig, kind: WorkloadKind, namespace: string | undefined): PageRequest {
  const apps = () => kc.makeApiClient(AppsV1Api);
  const batch = () => kc.makeApiClient(BatchV1Api);
  const core = () => kc.makeApiClient(CoreV1Api);
  const q = (cont: string | undefined, limit: number) => ({ limit, ...(cont ? { _continue: cont } : {}) });
  const ns = namespace;
  switch (kind) {
    case 'Deployment': {
      const api = apps();
      return (c, l, o) => (ns ? api.listNamespacedDeployment({ namespace: ns, ...q(c, l) }, o) : api.listDeploymentForAllNamespaces(q(c, l), o));
    }
    case 'StatefulSet': {
      const api = apps();
      return (c, l, o) => (ns ? api.listNamespacedStatefulSet({ namespace: ns, ...q(c, l) }, o) : api.listStatefulSetForAllNamespaces(q(c, l), o));
    }
    case 'DaemonSet': {
      const api = apps();
      return (c, l, o) => (ns ? api.listNamespacedDaemonSet({ namespace: ns, ...q(c, l) }, o) : api.listDaemonSetForAllNamespaces(q(c, l), o));
    }
    case 'ReplicaSet': {
      const api = apps();
      return (c, l, o) => (ns ? api.listNamespacedReplicaSet({ namespace: ns, ...q(c, l) }, o) : api.listReplicaSetForAllNamespaces(q(c, l), o));
    }
    case 'CronJob': {
      const api = batch();
      return (c, l, o) => (ns ? api.listNamespacedCronJob({ namespace: ns, ...q(c, l) }, o) : api.listCronJobForAllNamespaces(q(c, l), o));
    }
    case 'Job': {
      const api = batch();
      return (c, l, o) => (ns ? api.listNamespacedJob({ namespace: ns, ...q(c, l) }, o) : api.listJobForAllNamespaces(q(c, l), o));
    }
    case 'ReplicationController': {
      const api = core();
      return (c, l, o) => (ns ? api.listNamespacedReplicationController({ namespace: ns, ...q(c, l) }, o) : api.listReplicationControllerForAllNamespaces(q(c, l), o));
    }
    case 'Pod': {
      const api = core();
      return (c, l, o) => (ns ? api.listNamespacedPod({ namespace: ns, ...q(c, l) }, o) : api.listPodForAllNamespaces(q(c, l), o));
    }
  }
}

/**
 * An object whose template a controller stamps out (a Deployment's ReplicaSets, a CronJob's Jobs, any controller's
 * Pods, a node's mirror Pods) is not audited on its own: the controller's `controller: true` owner reference says
 * so, as the garbage collector reads it.
 */
function hasController(object: Record<string, unknown>): boolean {
  const refs = (object['metadata'] as { ownerReferences?: unknown } | undefined)?.ownerReferences;
  return Array.isArray(refs) && refs.some((r) => typeof r === 'object' && r !== null && (r as { controller?: unknown }).controller === true);
}

/** A Pod that has ended (restartPolicy done with it) is never pulled for again. */
function finished(kind: WorkloadKind, object: Record<string, unknown>): boolean {
  const phase = (object['status'] as { phase?: unknown } | undefined)?.phase;
  return kind === 'Pod' && (phase === 'Succeeded' || phase === 'Failed');
}

function failure(err: unknown, kind: WorkloadKind, namespace: string | undefined, timedOut: boolean, timeoutMs: number): string {
  const r = WORKLOAD_RESOURCES[kind];
  const where = namespace ? `in namespace "${namespace}"` : 'in all namespaces';
  const status = httpStatus(err);
  if (status === 403) {
    return `cannot list ${r.resource} ${where}: forbidden; grant RBAC verb "list" on resource "${r.resource}" in API group "${r.group}"${namespace ? '' : ' cluster-wide (ClusterRole)'}`;
  }
  if (status !== undefined) return `cannot list ${r.resource} ${where}: the API server answered ${status}`;
  if (timedOut) return `cannot list ${r.resource} ${where}: the API server did not answer within ${timeoutMs} ms`;
  const message = err instanceof Error ? (err.message.split('\n')[0] ?? err.name) : String(err);
  return `cannot list ${r.resource} ${where}: ${message.slice(0, 300)}`;
}

/** Every workload to audit, kind by kind, page by page. Never throws: a kind that cannot be listed is an error line. */
export async function listWorkloads(kc: KubeConfig, opts: ListWorkloadsOptions = {}): Promise<WorkloadListing> {
  const limit = opts.pageSize ?? 500;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const out: WorkloadListing = { workloads: [], skipped: { owned: 0, finished: 0 }, errors: [], requests: 0 };
  const perKind = await Promise.all((opts.kinds ?? WORKLOAD_KINDS).map(async (kind) => {
    const request = pager(kc, kind, opts.namespace);
    const { apiVersion } = WORKLOAD_RESOURCES[kind];
    const items: ListedWorkload[] = [];
    let cont: string | undefined;
    let owned = 0;
    let ended = 0;
    do {
      const deadline = AbortSignal.timeout(timeoutMs);
      const signal = opts.signal ? AbortSignal.any([deadline, opts.signal]) : deadline;
      let page: Page;
      out.requests++;
      try {
        page = await request(cont, limit, { middleware: [abortOn(signal)], middlewareMergeStrategy: 'append' });
      } catch (err) {
        return { items, owned, ended, error: failure(err, kind, opts.namespace, deadline.aborted, timeoutMs) };
      }
      for (const item of page.items) {
        // The client's models hold Dates and drop undefined; JSON gives the plain object podSpecOf and people read.
        const object: Record<string, unknown> = { ...(JSON.parse(JSON.stringify(item)) as Record<string, unknown>), kind, apiVersion };
        if (hasController(object)) {
          owned++;
          continue;
        }
        if (finished(kind, object)) {
          ended++;
          continue;
        }
        const meta = (object['metadata'] ?? {}) as { name?: unknown; namespace?: unknown; uid?: unknown };
        items.push({
          kind,
          apiVersion,
          namespace: typeof meta.namespace === 'string' ? meta.namespace : (opts.namespace ?? ''),
          name: typeof meta.name === 'string' ? meta.name : '',
          uid: typeof meta.uid === 'string' ? meta.uid : '',
          object,
        });
      }
      cont = page.metadata?._continue || undefined;
    } while (cont);
    return { items, owned, ended, error: undefined };
  }));
  for (const k of perKind) {
    out.workloads.push(...k.items);
    out.skipped.owned += k.owned;
    out.skipped.finished += k.ended;
    if (k.error) out.errors.push(k.error);
  }
  // Namespace by namespace, then in WORKLOAD_KINDS order, then by name: the order people read a report in.
  const order = (kind: WorkloadKind) => WORKLOAD_KINDS.indexOf(kind);
  out.workloads.sort((a, b) => a.namespace.localeCompare(b.namespace) || order(a.kind) - order(b.kind) || a.name.localeCompare(b.name));
  return out;
}
