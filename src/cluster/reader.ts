// The ClusterReader backed by a real API server, through @kubernetes/client-node: the only code in pullguard that
// talks to it.
//
// Caching policy, and why:
// - Nodes: one informer (list, then watch) keeps every node in memory, so each review has the nodes' platforms and
//   status.images at hand with no API call; node objects are few. RBAC: `list` and `watch` on nodes.
// - Secrets, ServiceAccounts, Namespaces: a GET per object, its answer reused for a short TTL (default 5 s), and
//   concurrent lookups of one object share one request (singleflight). Not a cluster-wide secrets watch: that would
//   hold every secret of the cluster in memory and need `list`/`watch` on all secrets; a GET needs only `get`, and
//   a changed secret is seen within the TTL. NotFound and Forbidden are cached for the TTL too (they are answers);
//   Unavailable (5xx, network, timeout) is not, so the next review retries.
// - Every request has a deadline (default 3 s), so a slow API server cannot hold a review.
// RBAC needed: get secrets, serviceaccounts, namespaces; list, watch nodes.
import { CoreV1Api } from '@kubernetes/client-node';
import type { ConfigurationOptions, KubeConfig, V1Secret } from '@kubernetes/client-node';
import { abortOn } from './request-signal.ts';
import { lookupFailure } from './api-error.ts';
import type { ApiTarget } from './api-error.ts';
import { createLookupCache } from './lookup-cache.ts';
import { startNodeInventory } from './node-inventory.ts';
import type { ClusterLogger, ClusterReader, DockerSecret, Lookup } from './types.ts';
// Moved to its own module (no client-node import) for the CLI; still exported from here for existing importers.
export { disconnectedClusterReader } from './disconnected.ts';

// The logger shape lives in types.ts so node-inventory.ts need not import this file (which imports it); kept
// exported from here for existing importers.
export type { ClusterLogger } from './types.ts';

export interface ClusterReaderOptions {
  /** How long an answer about a secret, service account or namespace is reused, in ms (default 5000; 0: never). */
  secretTtlMs?: number;
  /** After listing or watching nodes fails, try again after this many ms (default 5000). */
  nodeResyncMs?: number;
  /** Deadline of each secret, service account and namespace request, in ms (default 3000). */
  apiTimeoutMs?: number;
  /** Deadline of the node list; off the review path, so longer (default 30000). */
  nodeListTimeoutMs?: number;
  /** Nodes per LIST page (default 500). */
  nodePageSize?: number;
  /** How long listNodes() waits for the first node list before answering [] (default apiTimeoutMs). */
  nodeSyncWaitMs?: number;
  logger?: ClusterLogger;
  /** Milliseconds from any fixed origin, for the TTL (default performance.now). */
  clock?: () => number;
}

const silent: ClusterLogger = { warn() {}, info() {}, debug() {} };

/** Kubernetes object names (DNS subdomains); anything else would make a different, unintended request path. */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function createClusterReader(kc: KubeConfig, opts: ClusterReaderOptions = {}): ClusterReader {
  const timeoutMs = opts.apiTimeoutMs ?? 3000;
  const logger = opts.logger ?? silent;
  const cacheOptions = { ttlMs: opts.secretTtlMs ?? 5000, clock: opts.clock ?? (() => performance.now()) };
  const secrets = createLookupCache<DockerSecret>(cacheOptions);
  const serviceAccounts = createLookupCache<string[]>(cacheOptions);
  const namespaces = createLookupCache<Record<string, string>>(cacheOptions);
  const closing = new AbortController();
  const api = kc.makeApiClient(CoreV1Api);

  /** Runs one request with a deadline; close() aborts it too. */
  function withDeadline<T>(ms: number, request: (options: ConfigurationOptions) => Promise<T>) {
    const deadline = AbortSignal.timeout(ms);
    const signal = AbortSignal.any([deadline, closing.signal]);
    return { deadline, result: request({ middleware: [abortOn(signal)], middlewareMergeStrategy: 'append' }) };
  }

  async function read<T>(target: ApiTarget, request: (options: ConfigurationOptions) => Promise<T>): Promise<Lookup<T>> {
    if (!OBJECT_NAME.test(target.name ?? '') || (target.namespace !== undefined && !OBJECT_NAME.test(target.namespace))) {
      const what = target.namespace === undefined ? `"${target.name}"` : `"${target.namespace}/${target.name}"`;
      return { found: false, reason: 'NotFound', message: `${what} is not a valid ${target.resource} name` };
    }
    const { deadline, result } = withDeadline(timeoutMs, request);
    try {
      return { found: true, value: await result };
    } catch (err) {
      const failure = lookupFailure(err, target, { timedOut: deadline.aborted, closed: closing.signal.aborted, timeoutMs });
      if (failure.reason === 'NotFound') logger.debug({ reason: failure.reason }, failure.message);
      else logger.warn({ reason: failure.reason }, failure.message);
      return failure;
    }
  }

  const nodes = startNodeInventory(kc, {
    listNodes: (page) => withDeadline(opts.nodeListTimeoutMs ?? 30_000, (o) => api.listNode({ limit: page.limit, ...(page.continue ? { _continue: page.continue } : {}) }, o)).result,
    ...(opts.nodePageSize !== undefined ? { pageSize: opts.nodePageSize } : {}),
    retryMs: opts.nodeResyncMs ?? 5000,
    syncWaitMs: opts.nodeSyncWaitMs ?? timeoutMs,
    timeoutMs: opts.nodeListTimeoutMs ?? 30_000,
    logger,
  });

  return {
    connected: true,
    getSecret(namespace, name) {
      return secrets.get(`${namespace}/${name}`, async () => {
        const r = await read({ verb: 'get', resource: 'secrets', namespace, name }, (o) =>
          api.readNamespacedSecret({ name, namespace }, o),
        );
        return r.found ? { found: true, value: dockerSecret(namespace, name, r.value) } : r;
      });
    },
    getServiceAccountPullSecrets(namespace, name) {
      return serviceAccounts.get(`${namespace}/${name}`, async () => {
        const r = await read({ verb: 'get', resource: 'serviceaccounts', namespace, name }, (o) =>
          api.readNamespacedServiceAccount({ name, namespace }, o),
        );
        if (!r.found) return r;
        const names = (r.value.imagePullSecrets ?? []).map((ref) => ref.name ?? '').filter((n) => n !== '');
        return { found: true, value: names };
      });
    },
    getNamespaceLabels(namespace) {
      return namespaces.get(namespace, async () => {
        const r = await read({ verb: 'get', resource: 'namespaces', name: namespace }, (o) => api.readNamespace({ name: namespace }, o));
        return r.found ? { found: true, value: { ...(r.value.metadata?.labels ?? {}) } } : r;
      });
    },
    listNodes() {
      return nodes.list();
    },
    // The same cache keys as the getters above: a fresh answer they would hand out, without a promise.
    peekSecret: (namespace, name) => secrets.peek(`${namespace}/${name}`),
    peekServiceAccountPullSecrets: (namespace, name) => serviceAccounts.peek(`${namespace}/${name}`),
    peekNamespaceLabels: (namespace) => namespaces.peek(namespace),
    peekNodes: () => nodes.peek(),
    async close() {
      closing.abort();
      await nodes.close();
      secrets.clear();
      serviceAccounts.clear();
      namespaces.clear();
    },
  };
}

function dockerSecret(namespace: string, name: string, secret: V1Secret): DockerSecret {
  const data: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(secret.data ?? {})) data[key] = Buffer.from(value, 'base64');
  // The type passes through as is: whether it is a docker secret is for the caller to judge.
  return { namespace, name, type: secret.type ?? 'Opaque', data };
}
