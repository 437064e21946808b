import t from 'tap';
import { CoreV1Api } from '@kubernetes/client-node';
import { startFakeApiServer } from '../harness/fake-apiserver.ts';
import type { FakeApiServer } from '../harness/fake-apiserver.ts';

const auth = { authorization: 'Bearer any-token' };

async function getJson(api: FakeApiServer, path: string, headers: Record<string, string> = auth) {
  const res = await fetch(api.url + path, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Reads newline-delimited watch events from a streaming response, n at a time. */
function eventReader(body: ReadableStream<Uint8Array>) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  return {
    async next(n: number): Promise<{ type: string; object: Record<string, unknown> }[]> {
      const events = [];
      while (events.length < n) {
        const newline = buffered.indexOf('\n');
        if (newline >= 0) {
          events.push(JSON.parse(buffered.slice(0, newline)) as { type: string; object: Record<string, unknown> });
          buffered = buffered.slice(newline + 1);
          continue;
        }
        const { value, done } = await reader.read();
        if (done) break;
        buffered += value;
      }
      return events;
    },
    cancel: () => reader.cancel(),
  };
}

t.test('fake API server', async (t) => {
  const api = await startFakeApiServer();
  t.teardown(() => api.stop());

  t.test('a request without a bearer token gets a 401 Status', async (t) => {
    const { status, body } = await getJson(api, '/api/v1/namespaces/demo', {});
    t.equal(status, 401);
    t.match(body, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401 });
  });

  t.test('a missing secret is a NotFound Status shaped like the real one', async (t) => {
    const { status, body } = await getJson(api, '/api/v1/namespaces/demo/secrets/nope');
    t.equal(status, 404);
    t.same(body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'secrets "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', kind: 'secrets' },
      code: 404,
    });
  });

  t.test('a secret comes back with object metadata and base64 data', async (t) => {
    api.setSecret('demo', 'regcred', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': '{"auths":{}}', bin: Buffer.from([0, 255]) });
    const { status, body } = await getJson(api, '/api/v1/namespaces/demo/secrets/regcred');
    t.equal(status, 200);
    t.match(body, {
      kind: 'Secret',
      apiVersion: 'v1',
      metadata: { name: 'regcred', namespace: 'demo', uid: /^[0-9a-f-]{36}$/, resourceVersion: /^\d+$/, creationTimestamp: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/ },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from('{"auths":{}}').toString('base64'), bin: 'AP8=' },
    });
  });

  t.test('a replaced object keeps its uid and gets a newer resourceVersion', async (t) => {
    api.setServiceAccount('demo', 'builder', ['a']);
    const first = (await getJson(api, '/api/v1/namespaces/demo/serviceaccounts/builder')).body;
    api.setServiceAccount('demo', 'builder', ['a', 'b']);
    const second = (await getJson(api, '/api/v1/namespaces/demo/serviceaccounts/builder')).body;
    const m1 = first.metadata as Record<string, string>;
    const m2 = second.metadata as Record<string, string>;
    t.equal(m2.uid, m1.uid);
    t.ok(Number(m2.resourceVersion) > Number(m1.resourceVersion));
    t.same(second.imagePullSecrets, [{ name: 'a' }, { name: 'b' }]);
  });

  t.test('a namespace carries the kubernetes.io/metadata.name label the API server adds', async (t) => {
    api.setNamespace('team-a', { env: 'prod' });
    const { body } = await getJson(api, '/api/v1/namespaces/team-a');
    t.match(body, { kind: 'Namespace', metadata: { name: 'team-a', labels: { env: 'prod', 'kubernetes.io/metadata.name': 'team-a' } } });
  });

  t.test('a forbidden path gets a 403 Status naming the verb, resource and namespace', async (t) => {
    api.forbid('/api/v1/namespaces/locked/');
    const { status, body } = await getJson(api, '/api/v1/namespaces/locked/secrets/regcred');
    t.equal(status, 403);
    t.match(body, {
      kind: 'Status',
      reason: 'Forbidden',
      code: 403,
      message: 'secrets "regcred" is forbidden: User "system:serviceaccount:pullguard:pullguard" cannot get resource "secrets" in API group "" in the namespace "locked"',
    });
  });

  t.test('failNext fails only the given number of matching requests', async (t) => {
    api.setNamespace('flaky');
    api.failNext(2, 503, '/api/v1/namespaces/flaky');
    t.equal((await getJson(api, '/api/v1/namespaces/other')).status, 404);
    const first = await getJson(api, '/api/v1/namespaces/flaky');
    t.match(first, { status: 503, body: { kind: 'Status', reason: 'ServiceUnavailable', code: 503 } });
    t.equal((await getJson(api, '/api/v1/namespaces/flaky')).status, 503);
    t.equal((await getJson(api, '/api/v1/namespaces/flaky')).status, 200);
  });

  t.test('an unknown path is a NotFound Status', async (t) => {
    const { status, body } = await getJson(api, '/apis/apps/v1/controllerrevisions');
    t.equal(status, 404);
    t.match(body, { kind: 'Status', reason: 'NotFound' });
  });

  t.test('version and discovery answer as the API server does, for clients such as helm that map kinds first', async (t) => {
    t.match(await getJson(api, '/version'), { status: 200, body: { major: '1', gitVersion: /^v1\.\d+\.\d+$/ } });
    t.match(await getJson(api, '/api'), { status: 200, body: { kind: 'APIVersions', versions: ['v1'] } });
    const groups = await getJson(api, '/apis');
    t.match(groups.body, { kind: 'APIGroupList' });
    const names = (groups.body['groups'] as { name: string; preferredVersion: { groupVersion: string } }[]).map((g) => g.name);
    for (const g of ['apps', 'batch', 'coordination.k8s.io', 'admissionregistration.k8s.io', 'rbac.authorization.k8s.io']) t.ok(names.includes(g), g);
    const core = await getJson(api, '/api/v1');
    t.match(core.body, { kind: 'APIResourceList', groupVersion: 'v1' });
    t.match(core.body['resources'], [{ name: 'namespaces', kind: 'Namespace', namespaced: false }]);
    const apps = (await getJson(api, '/apis/apps/v1')).body;
    t.match(apps, { groupVersion: 'apps/v1' });
    t.ok((apps['resources'] as { name: string; namespaced: boolean }[]).some((r) => r.name === 'deployments' && r.namespaced), 'deployments are namespaced');
    t.equal((await getJson(api, '/apis/example.com/v1')).status, 404, 'a group it does not serve is not discovered');
    t.equal((await getJson(api, '/version', {})).status, 401, 'discovery wants a token too');
  });

  t.test('any object stored at its path is served as given to GET, and other methods get 405', async (t) => {
    const path = '/api/v1/namespaces/pullguard/secrets/pullguard-tls';
    const body = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pullguard-tls', namespace: 'pullguard', labels: { 'app.kubernetes.io/managed-by': 'Helm' } }, data: { 'ca.crt': 'Q0E=' } };
    api.setObject(path, body);
    t.same(await getJson(api, path), { status: 200, body });
    const put = await fetch(api.url + path, { method: 'PUT', headers: auth, body: '{}' });
    t.equal(put.status, 405);
    t.match(await put.json(), { kind: 'Status', reason: 'MethodNotAllowed' });
  });

  t.test('every request is recorded with its path and query', async (t) => {
    const before = api.requests.length;
    await getJson(api, '/api/v1/nodes?limit=5');
    t.same(api.requests.slice(before), [{ method: 'GET', path: '/api/v1/nodes', query: 'limit=5' }]);
  });
});

t.test('node list and watch', async (t) => {
  const api = await startFakeApiServer();
  t.teardown(() => api.stop());
  api.setNode({ name: 'n1', images: [['docker.io/library/nginx@sha256:aa', 'docker.io/library/nginx:1.27'], 'busybox:1'] });

  const list = (await getJson(api, '/api/v1/nodes')).body;
  t.match(list, { kind: 'NodeList', apiVersion: 'v1', metadata: { resourceVersion: /^\d+$/ } });
  const items = list.items as Record<string, unknown>[];
  t.equal(items.length, 1);
  t.notOk('kind' in items[0]!, 'list items carry no kind, as from the real API server');
  t.match(items[0], {
    metadata: { name: 'n1', labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': 'n1' } },
    status: {
      nodeInfo: { operatingSystem: 'linux', architecture: 'amd64' },
      images: [{ names: ['docker.io/library/nginx@sha256:aa', 'docker.io/library/nginx:1.27'] }, { names: ['busybox:1'] }],
    },
  });
  const listRv = (list.metadata as { resourceVersion: string }).resourceVersion;

  api.setNode({ name: 'n2', arch: 'arm64' });
  const res = await fetch(`${api.url}/api/v1/nodes?watch=true&resourceVersion=${listRv}`, { headers: auth });
  t.equal(res.status, 200);
  const events = eventReader(res.body!);
  t.match(await events.next(1), [{ type: 'ADDED', object: { kind: 'Node', metadata: { name: 'n2' } } }], 'events since the listed version are replayed');

  api.setNode({ name: 'n1', unschedulable: true });
  api.deleteNode('n2');
  t.match(await events.next(2), [
    { type: 'MODIFIED', object: { metadata: { name: 'n1' }, spec: { unschedulable: true } } },
    { type: 'DELETED', object: { metadata: { name: 'n2' } } },
  ]);
  await events.cancel();

  t.test('a watch without a resourceVersion starts with ADDED for every node', async (t) => {
    const res = await fetch(`${api.url}/api/v1/nodes?watch=true`, { headers: auth });
    const events = eventReader(res.body!);
    t.match(await events.next(1), [{ type: 'ADDED', object: { metadata: { name: 'n1' } } }]);
    await events.cancel();
  });

  t.test('after compaction, a watch from an old resourceVersion gets a 410 Expired event and ends', async (t) => {
    api.compact();
    const res = await fetch(`${api.url}/api/v1/nodes?watch=true&resourceVersion=${listRv}`, { headers: auth });
    const events = eventReader(res.body!);
    t.match(await events.next(2), [{ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } }]);
  });

  t.test('closeWatches ends open watch streams', async (t) => {
    const rv = ((await getJson(api, '/api/v1/nodes')).body.metadata as { resourceVersion: string }).resourceVersion;
    const res = await fetch(`${api.url}/api/v1/nodes?watch=true&resourceVersion=${rv}`, { headers: auth });
    const events = eventReader(res.body!);
    api.closeWatches();
    t.same(await events.next(1), []);
  });
});

t.test('with tls the server speaks HTTPS with the test CA, which its kubeconfig names, and client-node reads through it', async (t) => {
  const api = await startFakeApiServer({ tls: true });
  t.teardown(() => api.stop());
  t.match(api.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  api.setNamespace('demo', { team: 'a' });
  const ns = await api.kubeConfig().makeApiClient(CoreV1Api).readNamespace({ name: 'demo' });
  t.same(ns.metadata?.labels, { team: 'a', 'kubernetes.io/metadata.name': 'demo' });
  t.same(api.requests.at(-1), { method: 'GET', path: '/api/v1/namespaces/demo', query: '' });
});
