// Just enough of a Kubernetes API server for `helm template --dry-run=server`: version, discovery for the kinds
// the chart renders, and GET of the objects it is given (everything else is 404). It lets a test exercise the
// chart's `lookup` the way `helm upgrade` does, without a cluster.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** [group, resource, kind, namespaced] of every kind the chart may render. */
const resources: [string, string, string, boolean][] = [
  ['', 'secrets', 'Secret', true],
  ['', 'configmaps', 'ConfigMap', true],
  ['', 'services', 'Service', true],
  ['', 'serviceaccounts', 'ServiceAccount', true],
  ['', 'namespaces', 'Namespace', false],
  ['apps', 'deployments', 'Deployment', true],
  ['policy', 'poddisruptionbudgets', 'PodDisruptionBudget', true],
  ['rbac.authorization.k8s.io', 'clusterroles', 'ClusterRole', false],
  ['rbac.authorization.k8s.io', 'clusterrolebindings', 'ClusterRoleBinding', false],
  ['rbac.authorization.k8s.io', 'roles', 'Role', true],
  ['rbac.authorization.k8s.io', 'rolebindings', 'RoleBinding', true],
  ['admissionregistration.k8s.io', 'validatingwebhookconfigurations', 'ValidatingWebhookConfiguration', false],
  ['networking.k8s.io', 'networkpolicies', 'NetworkPolicy', true],
];
const groups = [...new Set(resources.map(([g]) => g).filter((g) => g !== ''))];

function resourceList(group: string) {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/v1` : 'v1',
    resources: resources
      .filter(([g]) => g === group)
      .map(([, name, kind, namespaced]) => ({ name, singularName: kind.toLowerCase(), kind, namespaced, verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'] })),
  };
}

export interface StoredObject {
  /** e.g. /api/v1/namespaces/ns/secrets/name */
  path: string;
  body: unknown;
}

export interface FakeApiServer {
  kubeconfig: string;
  /** Every path requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function startFakeApiServer(objects: StoredObject[]): Promise<FakeApiServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    requests.push(`${req.method} ${path}`);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const group = /^\/apis\/([^/]+)\/v1$/.exec(path)?.[1];
    const stored = objects.find((o) => o.path === path);
    if (req.method !== 'GET') send(405, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'MethodNotAllowed', code: 405 });
    else if (path === '/version') send(200, { major: '1', minor: '33', gitVersion: 'v1.33.0', platform: 'linux/amd64' });
    else if (path === '/api') send(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    else if (path === '/apis') {
      send(200, {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: groups.map((name) => ({ name, versions: [{ groupVersion: `${name}/v1`, version: 'v1' }], preferredVersion: { groupVersion: `${name}/v1`, version: 'v1' } })),
      });
    } else if (path === '/api/v1') send(200, resourceList(''));
    else if (group !== undefined && groups.includes(group)) send(200, resourceList(group));
    else if (stored) send(200, stored.body);
    else send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const dir = mkdtempSync(join(tmpdir(), 'pullguard-fake-kube-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'fake', cluster: { server: `http://127.0.0.1:${port}` } }],
    users: [{ name: 'test', user: { token: 'test' } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'test' } }],
    'current-context': 'fake',
  }));
  return {
    kubeconfig,
    requests,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
