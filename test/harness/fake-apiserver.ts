// An in-process Kubernetes API server with just what src/cluster reads: the real paths, the real JSON (objects,
// lists, Status errors) and real chunked watch streams, so @kubernetes/client-node talks to it unmodified. It also
// answers version and discovery (/version, /api, /apis, each group's resource list) and GETs of any object stored
// at its path (setObject), which is what `helm template --dry-run=server` needs for the chart's `lookup`.
// Plain HTTP on 127.0.0.1 (or HTTPS with the test PKI, `tls: true`: Go clients such as helm send no bearer token
// over plain HTTP); any bearer token is accepted, a request without one gets 401 like the real thing.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { makeTempDir, removeTempDir } from './lifecycle.ts';
import { makeTestPki } from './pki.ts';

export interface FakeNode {
  name: string;
  /** Exactly these labels; when absent, the labels a kubelet sets (kubernetes.io/os, arch, hostname, beta.*). */
  labels?: Record<string, string>;
  /** status.nodeInfo.operatingSystem, default linux. */
  os?: string;
  /** status.nodeInfo.architecture, default amd64. */
  arch?: string;
  /** status.images: a string is an image with one name, an array one image with several names. */
  images?: (string | string[])[];
  unschedulable?: boolean;
  /** spec.taints besides the cordon's (which `unschedulable` adds). */
  taints?: { key: string; value?: string; effect: string }[];
  /** status.nodeInfo.containerRuntimeVersion, default containerd://1.7.18. */
  containerRuntimeVersion?: string;
  /** status.nodeInfo.kubeletVersion (and kubeProxyVersion), default v1.31.0. */
  kubeletVersion?: string;
  /** Fields laid over the generated metadata and status (managedFields, conditions, images with sizes, ...). */
  extra?: { metadata?: Record<string, unknown>; status?: Record<string, unknown> };
}

export interface FakeRequest {
  method: string;
  /** The URL path without the query. */
  path: string;
  /** The query string without `?`, e.g. `watch=true&resourceVersion=12`. */
  query: string;
}

export interface FakeApiServer {
  url: string;
  /** A kubeconfig file pointing at this server (token auth). */
  kubeconfigFile: string;
  kubeConfig(): KubeConfig;
  setSecret(namespace: string, name: string, type: string, data: Record<string, string | Buffer>): void;
  deleteSecret(namespace: string, name: string): void;
  setServiceAccount(namespace: string, name: string, imagePullSecrets: string[]): void;
  setNamespace(name: string, labels?: Record<string, string>): void;
  /** Adds or replaces a node and sends ADDED or MODIFIED to open watches. */
  setNode(node: FakeNode): void;
  /** Removes a node and sends DELETED to open watches. */
  deleteNode(name: string): void;
  /** Answer 403 Forbidden for every path starting with pathPrefix. */
  forbid(pathPrefix: string): void;
  /** Answer the next n requests (only those under pathPrefix, when given) with this status (default 500). */
  failNext(n: number, status?: number, pathPrefix?: string): void;
  /** Never answer requests under pathPrefix (until stop), to exercise client timeouts. */
  stall(pathPrefix: string): void;
  /** End every open watch stream, as the API server does when a watch times out. */
  closeWatches(): void;
  /** Forget the event history: a watch from an older resourceVersion now gets 410 Expired, forcing a relist. */
  compact(): void;
  /** Every request received, in order. */
  requests: FakeRequest[];
  /**
   * Adds or replaces a workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, CronJob, Job, ReplicationController,
   * Pod) as written: kind, metadata.name and metadata.namespace required; uid, resourceVersion, creationTimestamp are
   * filled in. Served by the LIST endpoints, paginated by `limit` and `continue` like the real API server.
   */
  setWorkload(object: Record<string, unknown>): void;
  /**
   * Any other object, served as given to GET at its API path (e.g. `/api/v1/namespaces/NS/secrets/NAME` with Helm's
   * ownership labels, as `helm upgrade`'s lookup reads it); other methods on that path get 405.
   */
  setObject(path: string, body: unknown): void;
  /** coordination.k8s.io/v1 Leases by `namespace/name`, as stored (GET, POST, PUT with resourceVersion checks). */
  leases: Map<string, Record<string, unknown>>;
  /** core/v1 Events created (POST /api/v1/namespaces/NS/events), in order. */
  events: Record<string, unknown>[];
  stop(): Promise<void>;
}

type Metadata = { name: string; resourceVersion: string } & Record<string, unknown>;
type KubeObject = { metadata: Metadata } & Record<string, unknown>;

interface WatchEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

const USER = 'system:serviceaccount:pullguard:pullguard';

export interface FakeApiServerOptions {
  /** Serve HTTPS with the test PKI's certificate for 127.0.0.1; the kubeconfig names its CA. Default plain HTTP. */
  tls?: boolean;
}

export async function startFakeApiServer(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  let revision = 1000;
  const secrets = new Map<string, KubeObject>();
  const serviceAccounts = new Map<string, KubeObject>();
  const namespaces = new Map<string, KubeObject>();
  const nodes = new Map<string, KubeObject>();
  let history: WatchEvent[] = [];
  let compactedAt = 0;
  const watches = new Set<http.ServerResponse>();
  const forbidden: string[] = [];
  const stalled: string[] = [];
  const failures: { remaining: number; status: number; pathPrefix: string }[] = [];
  const requests: FakeRequest[] = [];
  const workloads = new Map<string, KubeObject>();
  const leases = new Map<string, Record<string, unknown>>();
  const events: Record<string, unknown>[] = [];
  const objects = new Map<string, unknown>();

  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.search.slice(1) });
    handle(req, res, url);
  };
  const pki = opts.tls ? await makeTestPki() : undefined;
  const server = pki ? https.createServer({ cert: pki.certPem, key: pki.keyPem }, listener) : http.createServer(listener);

  function handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    const p = url.pathname;
    if (stalled.some((prefix) => p.startsWith(prefix))) return;
    if (!/^Bearer \S+/.test(req.headers.authorization ?? '')) {
      return sendStatus(res, 401, 'Unauthorized', 'Unauthorized');
    }
    const failure = failures.find((f) => f.remaining > 0 && p.startsWith(f.pathPrefix));
    if (failure) {
      failure.remaining--;
      return sendStatus(res, failure.status, failureReason(failure.status), `injected failure ${failure.status}`);
    }
    const served = discovery(p) ?? objects.get(p);
    if (served !== undefined) {
      if (forbidden.some((prefix) => p.startsWith(prefix))) return sendStatus(res, 403, 'Forbidden', `forbidden: User "${USER}" cannot ${req.method?.toLowerCase()} path "${p}"`);
      if (req.method !== 'GET') return sendStatus(res, 405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
      return sendJson(res, 200, served);
    }
    const writable = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/.exec(p) ?? /^\/api\/v1\/namespaces\/([^/]+)\/(events)$/.exec(p);
    if (writable) {
      if (forbidden.some((prefix) => p.startsWith(prefix))) return sendStatus(res, 403, 'Forbidden', `forbidden: User "${USER}" cannot ${req.method?.toLowerCase()} ${p}`);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>) : {};
        if (writable[2] === 'events') return createEvent(res, writable[1]!, body);
        handleLease(req.method ?? 'GET', res, writable[1]!, writable[2], body);
      });
      return;
    }
    const listRoute = parseWorkloadListRoute(p);
    if (listRoute) {
      if (forbidden.some((prefix) => p.startsWith(prefix))) {
        const scope = listRoute.namespace === undefined ? 'at the cluster scope' : `in the namespace "${listRoute.namespace}"`;
        return sendStatus(res, 403, 'Forbidden', `${listRoute.resource} is forbidden: User "${USER}" cannot list resource "${listRoute.resource}" in API group "${listRoute.group}" ${scope}`, { name: undefined, kind: listRoute.resource });
      }
      if (req.method !== 'GET') return sendStatus(res, 405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
      return sendWorkloadList(res, url, listRoute);
    }
    const route = parseRoute(p);
    if (!route) return sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');
    const watch = url.searchParams.get('watch') === 'true';
    const verb = req.method !== 'GET' ? 'other' : route.name === undefined ? (watch ? 'watch' : 'list') : 'get';
    if (forbidden.some((prefix) => p.startsWith(prefix))) {
      const subject = route.name === undefined ? route.resource : `${route.resource} "${route.name}"`;
      const scope = route.namespace === undefined ? 'at the cluster scope' : `in the namespace "${route.namespace}"`;
      const message = `${subject} is forbidden: User "${USER}" cannot ${verb === 'other' ? req.method?.toLowerCase() : verb} resource "${route.resource}" in API group "" ${scope}`;
      return sendStatus(res, 403, 'Forbidden', message, { name: route.name, kind: route.resource });
    }
    if (verb === 'other') return sendStatus(res, 405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);

    if (route.resource === 'nodes' && route.name === undefined) {
      if (watch) return startWatch(res, url.searchParams.get('resourceVersion') ?? '');
      // limit/continue as the API server pages (in the order nodes were added), the continue token opaque to clients.
      const limit = Number(url.searchParams.get('limit') ?? '0');
      const token = url.searchParams.get('continue');
      let from = { rv: String(revision), start: 0 };
      try {
        if (token) from = JSON.parse(Buffer.from(token, 'base64url').toString()) as typeof from;
      } catch {
        return sendStatus(res, 410, 'Expired', 'the provided continue parameter is too old or invalid');
      }
      const all = [...nodes.values()];
      const end = limit > 0 ? from.start + limit : all.length;
      const more = end < all.length;
      return sendJson(res, 200, {
        kind: 'NodeList',
        apiVersion: 'v1',
        metadata: { resourceVersion: from.rv, ...(more ? { continue: Buffer.from(JSON.stringify({ rv: from.rv, start: end })).toString('base64url'), remainingItemCount: all.length - end } : {}) },
        // Like the real API server, list items carry no kind/apiVersion.
        items: all.slice(from.start, end).map(({ kind: _k, apiVersion: _a, ...rest }) => rest),
      });
    }
    const store = { secrets, serviceaccounts: serviceAccounts, namespaces, nodes }[route.resource];
    const key = route.namespace === undefined ? route.name ?? '' : `${route.namespace}/${route.name}`;
    const object = store?.get(key);
    if (!object) {
      return sendStatus(res, 404, 'NotFound', `${route.resource} "${route.name}" not found`, { name: route.name, kind: route.resource });
    }
    sendJson(res, 200, object);
  }

  function handleLease(method: string, res: http.ServerResponse, namespace: string, name: string | undefined, body: Record<string, unknown>): void {
    const bodyMeta = (body['metadata'] ?? {}) as Record<string, unknown>;
    if (method === 'POST' && name === undefined) {
      const key = `${namespace}/${String(bodyMeta['name'])}`;
      if (leases.has(key)) return sendStatus(res, 409, 'AlreadyExists', `leases.coordination.k8s.io "${String(bodyMeta['name'])}" already exists`, { name: String(bodyMeta['name']), kind: 'leases' });
      const lease = { ...body, kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', metadata: { ...bodyMeta, ...meta(String(bodyMeta['name']), namespace, undefined) } };
      leases.set(key, lease);
      return sendJson(res, 201, lease);
    }
    const key = `${namespace}/${name}`;
    const current = leases.get(key) as KubeObject | undefined;
    if (!current) return sendStatus(res, 404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`, { name, kind: 'leases' });
    if (method === 'GET') return sendJson(res, 200, current);
    if (method === 'PUT') {
      // Optimistic concurrency, as the real API server does it: a stale resourceVersion is a 409 Conflict.
      if (bodyMeta['resourceVersion'] !== current.metadata.resourceVersion) {
        return sendStatus(res, 409, 'Conflict', `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, kind: 'leases' });
      }
      const lease = { ...body, kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', metadata: { ...bodyMeta, ...meta(name!, namespace, current) } };
      leases.set(key, lease);
      return sendJson(res, 200, lease);
    }
    return sendStatus(res, 405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
  }

  function createEvent(res: http.ServerResponse, namespace: string, body: Record<string, unknown>): void {
    const bodyMeta = (body['metadata'] ?? {}) as Record<string, unknown>;
    const name = String(bodyMeta['name'] ?? `event.${randomUUID()}`);
    const event = { ...body, kind: 'Event', apiVersion: 'v1', metadata: { ...bodyMeta, ...meta(name, namespace, undefined) } };
    events.push(event);
    sendJson(res, 201, event);
  }

  function sendWorkloadList(res: http.ServerResponse, url: URL, route: WorkloadListRoute): void {
    const all = [...workloads.values()]
      .filter((o) => o['kind'] === route.kind && (route.namespace === undefined || o.metadata['namespace'] === route.namespace))
      .sort((a, b) => `${String(a.metadata['namespace'])}/${a.metadata.name}`.localeCompare(`${String(b.metadata['namespace'])}/${b.metadata.name}`));
    const limit = Number(url.searchParams.get('limit') ?? '0');
    const cont = url.searchParams.get('continue');
    let start = 0;
    if (cont) {
      const decoded = Number(Buffer.from(cont, 'base64url').toString());
      if (!Number.isInteger(decoded) || decoded < 0) return sendStatus(res, 400, 'BadRequest', 'continue key is not valid');
      start = decoded;
    }
    const end = limit > 0 ? Math.min(all.length, start + limit) : all.length;
    sendJson(res, 200, {
      kind: `${route.kind}List`,
      apiVersion: route.apiVersion,
      metadata: {
        resourceVersion: String(revision),
        ...(end < all.length ? { continue: Buffer.from(String(end)).toString('base64url'), remainingItemCount: all.length - end } : {}),
      },
      // Like the real API server, list items carry no kind/apiVersion.
      items: all.slice(start, end).map(({ kind: _k, apiVersion: _a, ...rest }) => rest),
    });
  }

  function startWatch(res: http.ServerResponse, fromRv: string): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const rv = Number(fromRv);
    if (fromRv === '' || fromRv === '0') {
      // No resourceVersion: the API server starts with a synthetic ADDED for every existing object.
      for (const node of nodes.values()) writeEvent(res, 'ADDED', node);
    } else if (!Number.isFinite(rv) || rv < compactedAt) {
      writeEvent(res, 'ERROR', {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: ${fromRv} (${compactedAt})`,
        reason: 'Expired',
        code: 410,
      });
      res.end();
      return;
    } else {
      for (const event of history) if (event.rv > rv) writeEvent(res, event.type, event.object);
    }
    watches.add(res);
    res.on('close', () => watches.delete(res));
  }

  function writeEvent(res: http.ServerResponse, type: string, object: unknown): void {
    res.write(JSON.stringify({ type, object }) + '\n');
  }

  function emit(type: WatchEvent['type'], object: KubeObject): void {
    history.push({ rv: revision, type, object });
    for (const res of watches) writeEvent(res, type, object);
  }

  function meta(name: string, namespace: string | undefined, previous: KubeObject | undefined, extra: Record<string, unknown> = {}): Metadata {
    revision++;
    const old = previous?.metadata;
    return {
      name,
      ...(namespace === undefined ? {} : { namespace }),
      uid: (old?.uid as string | undefined) ?? randomUUID(),
      resourceVersion: String(revision),
      creationTimestamp: (old?.creationTimestamp as string | undefined) ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      ...extra,
    };
  }

  const api: FakeApiServer = {
    url: '',
    kubeconfigFile: '',
    requests,
    leases,
    events,
    kubeConfig() {
      // Loaded on first use (require of the ES module, synchronous): importing the client costs ~1.1 s of CPU, and
      // most processes with a fake API server only hand pullguard or helm its kubeconfig file.
      const { KubeConfig } = createRequire(import.meta.url)('@kubernetes/client-node') as typeof import('@kubernetes/client-node');
      const kc = new KubeConfig();
      kc.loadFromFile(api.kubeconfigFile);
      return kc;
    },
    setSecret(namespace, name, type, data) {
      const key = `${namespace}/${name}`;
      const encoded = Object.fromEntries(
        Object.entries(data).map(([k, v]) => [k, (typeof v === 'string' ? Buffer.from(v) : v).toString('base64')]),
      );
      secrets.set(key, { kind: 'Secret', apiVersion: 'v1', metadata: meta(name, namespace, secrets.get(key)), type, data: encoded });
    },
    deleteSecret(namespace, name) {
      secrets.delete(`${namespace}/${name}`);
      revision++;
    },
    setServiceAccount(namespace, name, imagePullSecrets) {
      const key = `${namespace}/${name}`;
      serviceAccounts.set(key, {
        kind: 'ServiceAccount',
        apiVersion: 'v1',
        metadata: meta(name, namespace, serviceAccounts.get(key)),
        ...(imagePullSecrets.length > 0 ? { imagePullSecrets: imagePullSecrets.map((n) => ({ name: n })) } : {}),
      });
    },
    setNamespace(name, labels = {}) {
      namespaces.set(name, {
        kind: 'Namespace',
        apiVersion: 'v1',
        // The API server always adds this label (since 1.21).
        metadata: meta(name, undefined, namespaces.get(name), { labels: { ...labels, 'kubernetes.io/metadata.name': name } }),
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      });
    },
    setNode(node) {
      const previous = nodes.get(node.name);
      const object = nodeObject(node, meta(node.name, undefined, previous));
      nodes.set(node.name, object);
      emit(previous ? 'MODIFIED' : 'ADDED', object);
    },
    deleteNode(name) {
      const previous = nodes.get(name);
      if (!previous) return;
      nodes.delete(name);
      const metadata = meta(name, undefined, previous, { labels: previous.metadata.labels });
      emit('DELETED', { ...previous, metadata });
    },
    setWorkload(object) {
      const m = (object['metadata'] ?? {}) as Record<string, unknown>;
      const kind = String(object['kind']);
      const namespace = String(m['namespace'] ?? 'default');
      const name = String(m['name']);
      const key = `${kind}/${namespace}/${name}`;
      const previous = workloads.get(key);
      workloads.set(key, { ...structuredClone(object), metadata: { ...structuredClone(m), ...meta(name, namespace, previous) } });
    },
    setObject(path, body) {
      objects.set(path, structuredClone(body));
    },
    forbid(pathPrefix) {
      forbidden.push(pathPrefix);
    },
    failNext(n, status = 500, pathPrefix = '/') {
      failures.push({ remaining: n, status, pathPrefix });
    },
    stall(pathPrefix) {
      stalled.push(pathPrefix);
    },
    closeWatches() {
      for (const res of watches) res.end();
      watches.clear();
    },
    compact() {
      history = [];
      compactedAt = revision;
    },
    async stop() {
      for (const res of watches) res.end();
      watches.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      removeTempDir(dir);
    },
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  api.url = `${pki ? 'https' : 'http'}://127.0.0.1:${port}`;
  const dir = makeTempDir('fake-apiserver');
  api.kubeconfigFile = path.join(dir, 'kubeconfig');
  writeFileSync(api.kubeconfigFile, kubeconfigYaml(api.url, pki?.caFile));
  return api;
}

/** [group, resource, kind, namespaced] of the kinds discovery lists: those served here and those the chart renders. */
const DISCOVERED: [string, string, string, boolean][] = [
  ['', 'namespaces', 'Namespace', false],
  ['', 'nodes', 'Node', false],
  ['', 'pods', 'Pod', true],
  ['', 'replicationcontrollers', 'ReplicationController', true],
  ['', 'secrets', 'Secret', true],
  ['', 'serviceaccounts', 'ServiceAccount', true],
  ['', 'configmaps', 'ConfigMap', true],
  ['', 'services', 'Service', true],
  ['', 'events', 'Event', true],
  ['apps', 'deployments', 'Deployment', true],
  ['apps', 'statefulsets', 'StatefulSet', true],
  ['apps', 'daemonsets', 'DaemonSet', true],
  ['apps', 'replicasets', 'ReplicaSet', true],
  ['batch', 'jobs', 'Job', true],
  ['batch', 'cronjobs', 'CronJob', true],
  ['coordination.k8s.io', 'leases', 'Lease', true],
  ['policy', 'poddisruptionbudgets', 'PodDisruptionBudget', true],
  ['rbac.authorization.k8s.io', 'clusterroles', 'ClusterRole', false],
  ['rbac.authorization.k8s.io', 'clusterrolebindings', 'ClusterRoleBinding', false],
  ['rbac.authorization.k8s.io', 'roles', 'Role', true],
  ['rbac.authorization.k8s.io', 'rolebindings', 'RoleBinding', true],
  ['admissionregistration.k8s.io', 'validatingwebhookconfigurations', 'ValidatingWebhookConfiguration', false],
  ['networking.k8s.io', 'networkpolicies', 'NetworkPolicy', true],
];
const GROUPS = [...new Set(DISCOVERED.map(([g]) => g).filter((g) => g !== ''))];

/** The version and discovery documents (every group at v1 only), or undefined for any other path. */
function discovery(p: string): unknown {
  if (p === '/version') return { major: '1', minor: '33', gitVersion: 'v1.33.0', platform: 'linux/amd64' };
  if (p === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  if (p === '/apis') {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: GROUPS.map((name) => ({ name, versions: [{ groupVersion: `${name}/v1`, version: 'v1' }], preferredVersion: { groupVersion: `${name}/v1`, version: 'v1' } })),
    };
  }
  const group = p === '/api/v1' ? '' : /^\/apis\/([^/]+)\/v1$/.exec(p)?.[1];
  if (group === undefined || (group !== '' && !GROUPS.includes(group))) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/v1` : 'v1',
    resources: DISCOVERED.filter(([g]) => g === group)
      .map(([, name, kind, namespaced]) => ({ name, singularName: kind.toLowerCase(), kind, namespaced, verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'] })),
  };
}

interface Route {
  resource: 'secrets' | 'serviceaccounts' | 'namespaces' | 'nodes';
  namespace?: string;
  name?: string;
}

function parseRoute(p: string): Route | undefined {
  const parts = p.split('/').slice(1).map(decodeURIComponent);
  if (parts[0] !== 'api' || parts[1] !== 'v1') return undefined;
  const rest = parts.slice(2);
  if (rest[0] === 'nodes' && rest.length <= 2) return { resource: 'nodes', name: rest[1] };
  if (rest[0] === 'namespaces' && rest.length === 2) return { resource: 'namespaces', name: rest[1] };
  if (rest[0] === 'namespaces' && rest.length === 4 && (rest[2] === 'secrets' || rest[2] === 'serviceaccounts')) {
    return { resource: rest[2], namespace: rest[1], name: rest[3] };
  }
  return undefined;
}

interface WorkloadListRoute {
  kind: string;
  resource: string;
  group: string;
  apiVersion: string;
  namespace?: string;
}

const WORKLOAD_LISTS: Record<string, { kind: string; group: string }> = {
  deployments: { kind: 'Deployment', group: 'apps' },
  statefulsets: { kind: 'StatefulSet', group: 'apps' },
  daemonsets: { kind: 'DaemonSet', group: 'apps' },
  replicasets: { kind: 'ReplicaSet', group: 'apps' },
  cronjobs: { kind: 'CronJob', group: 'batch' },
  jobs: { kind: 'Job', group: 'batch' },
  replicationcontrollers: { kind: 'ReplicationController', group: '' },
  pods: { kind: 'Pod', group: '' },
};

/** `/apis/apps/v1/deployments`, `/apis/apps/v1/namespaces/NS/deployments`, `/api/v1/pods`, ... (LIST only). */
function parseWorkloadListRoute(p: string): WorkloadListRoute | undefined {
  const parts = p.split('/').slice(1).map(decodeURIComponent);
  let rest: string[];
  let group: string;
  if (parts[0] === 'api' && parts[1] === 'v1') {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && (parts[1] === 'apps' || parts[1] === 'batch') && parts[2] === 'v1') {
    group = parts[1];
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  const namespace = rest[0] === 'namespaces' && rest.length === 3 ? rest[1] : undefined;
  const resource = namespace === undefined ? (rest.length === 1 ? rest[0] : undefined) : rest[2];
  const known = resource !== undefined && Object.hasOwn(WORKLOAD_LISTS, resource) ? WORKLOAD_LISTS[resource] : undefined;
  if (!resource || !known || known.group !== group) return undefined;
  return { kind: known.kind, resource, group, apiVersion: group ? `${group}/v1` : 'v1', ...(namespace === undefined ? {} : { namespace }) };
}

function nodeObject(node: FakeNode, metadata: Metadata): KubeObject {
  const os = node.os ?? 'linux';
  const arch = node.arch ?? 'amd64';
  const labels = node.labels ?? {
    'beta.kubernetes.io/arch': arch,
    'beta.kubernetes.io/os': os,
    'kubernetes.io/arch': arch,
    'kubernetes.io/hostname': node.name,
    'kubernetes.io/os': os,
  };
  const taints = [
    ...(node.unschedulable ? [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule', timeAdded: metadata.creationTimestamp }] : []),
    ...(node.taints ?? []),
  ];
  return {
    kind: 'Node',
    apiVersion: 'v1',
    metadata: { ...metadata, labels, annotations: { 'node.alpha.kubernetes.io/ttl': '0' }, ...node.extra?.metadata },
    spec: {
      podCIDR: '10.244.0.0/24',
      ...(node.unschedulable ? { unschedulable: true } : {}),
      ...(taints.length > 0 ? { taints } : {}),
    },
    status: {
      capacity: { cpu: '4', memory: '16331164Ki', pods: '110' },
      allocatable: { cpu: '4', memory: '16228764Ki', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
      addresses: [
        { type: 'InternalIP', address: '172.18.0.2' },
        { type: 'Hostname', address: node.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: '0123456789abcdef0123456789abcdef',
        systemUUID: '01234567-89ab-cdef-0123-456789abcdef',
        bootID: '01234567-89ab-cdef-0123-456789abcdef',
        kernelVersion: '6.8.0-45-generic',
        osImage: os === 'windows' ? 'Windows Server 2022 Datacenter' : 'Debian GNU/Linux 12 (bookworm)',
        containerRuntimeVersion: node.containerRuntimeVersion ?? 'containerd://1.7.18',
        kubeletVersion: node.kubeletVersion ?? 'v1.31.0',
        kubeProxyVersion: node.kubeletVersion ?? 'v1.31.0',
        operatingSystem: os,
        architecture: arch,
      },
      images: (node.images ?? []).map((names, i) => ({ names: Array.isArray(names) ? names : [names], sizeBytes: 1_000_000 + i })),
      ...node.extra?.status,
    },
  };
}

function failureReason(status: number): string {
  return { 429: 'TooManyRequests', 503: 'ServiceUnavailable', 504: 'Timeout' }[status] ?? 'InternalError';
}

function sendStatus(
  res: http.ServerResponse,
  code: number,
  reason: string,
  message: string,
  details?: { name: string | undefined; kind: string },
): void {
  sendJson(res, code, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details: details.name === undefined ? { kind: details.kind } : details } : {}),
    code,
  });
}

function sendJson(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function kubeconfigYaml(server: string, caFile: string | undefined): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: fake',
    '  cluster:',
    `    server: ${server}`,
    // client-node refuses plain http unless TLS verification is explicitly off.
    caFile ? `    certificate-authority: ${caFile}` : '    insecure-skip-tls-verify: true',
    'users:',
    '- name: fake',
    '  user:',
    '    token: fake-token',
    'contexts:',
    '- name: fake',
    '  context:',
    '    cluster: fake',
    '    user: fake',
    '    namespace: default',
    'current-context: fake',
    '',
  ].join('\n');
}
