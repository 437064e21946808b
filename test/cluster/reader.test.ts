import t from 'tap';
import type { Test } from 'tap';
import { KubeConfig } from '@kubernetes/client-node';
import { createClusterReader, disconnectedClusterReader } from '../../src/cluster/reader.ts';
import type { ClusterReaderOptions } from '../../src/cluster/reader.ts';
import { startFakeApiServer } from '../harness/fake-apiserver.ts';
import type { FakeApiServer } from '../harness/fake-apiserver.ts';
import { captureLogger } from './eventually.ts';

const DOCKERCONFIG = JSON.stringify({ auths: { 'registry.example.com': { auth: Buffer.from('alice:s3cr3t-pa55').toString('base64') } } });

async function setup(t: Test, opts: ClusterReaderOptions = {}) {
  const api = await startFakeApiServer();
  let now = 0;
  const logger = captureLogger();
  const reader = createClusterReader(api.kubeConfig(), { clock: () => now, logger, ...opts });
  t.teardown(async () => {
    await reader.close();
    await api.stop();
  });
  return { api, reader, logger, advance: (ms: number) => (now += ms), count: (path: string) => countGets(api, path) };
}

function countGets(api: FakeApiServer, path: string): number {
  return api.requests.filter((r) => r.method === 'GET' && r.path === path).length;
}

const SECRET_PATH = '/api/v1/namespaces/demo/secrets/regcred';

t.test('a secret is read with its type and base64-decoded data', async (t) => {
  const { api, reader } = await setup(t);
  api.setSecret('demo', 'regcred', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': DOCKERCONFIG, raw: Buffer.from([0, 1, 254, 255]) });
  const r = await reader.getSecret('demo', 'regcred');
  t.ok(r.found);
  if (!r.found) return;
  t.equal(r.value.namespace, 'demo');
  t.equal(r.value.name, 'regcred');
  t.equal(r.value.type, 'kubernetes.io/dockerconfigjson');
  t.ok(Buffer.isBuffer(r.value.data['.dockerconfigjson']));
  t.equal(r.value.data['.dockerconfigjson']?.toString(), DOCKERCONFIG);
  t.same([...(r.value.data.raw ?? [])], [0, 1, 254, 255]);
});

t.test('a secret of another type passes through with its type', async (t) => {
  const { api, reader } = await setup(t);
  api.setSecret('demo', 'opaque', 'Opaque', { password: 'x' });
  t.match(await reader.getSecret('demo', 'opaque'), { found: true, value: { type: 'Opaque', data: { password: Buffer.from('x') } } });
});

t.test('a missing secret is NotFound', async (t) => {
  const { reader } = await setup(t);
  t.same(await reader.getSecret('demo', 'nope'), { found: false, reason: 'NotFound', message: 'secret demo/nope not found' });
});

t.test('a forbidden secret is Forbidden, naming the RBAC permission to grant', async (t) => {
  const { api, reader, logger } = await setup(t);
  api.setSecret('locked', 'regcred', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': DOCKERCONFIG });
  api.forbid('/api/v1/namespaces/locked/');
  const r = await reader.getSecret('locked', 'regcred');
  t.match(r, { found: false, reason: 'Forbidden', message: /grant it RBAC verb "get" on resource "secrets" in namespace "locked"/ });
  t.match(
    logger.lines.filter((l) => l.level === 'warn'),
    [{ fields: { reason: 'Forbidden' }, message: /secret locked\/regcred/ }],
  );
});

t.test('a secret read is cached for the TTL, and a change is seen after it', async (t) => {
  const { api, reader, advance, count } = await setup(t, { secretTtlMs: 5000 });
  api.setSecret('demo', 'regcred', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': 'v1' });
  t.match(await reader.getSecret('demo', 'regcred'), { found: true, value: { data: { '.dockerconfigjson': Buffer.from('v1') } } });
  api.setSecret('demo', 'regcred', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': 'v2' });
  advance(4999);
  t.match(await reader.getSecret('demo', 'regcred'), { found: true, value: { data: { '.dockerconfigjson': Buffer.from('v1') } } });
  t.equal(count(SECRET_PATH), 1, 'the second read made no request');
  advance(1);
  t.match(await reader.getSecret('demo', 'regcred'), { found: true, value: { data: { '.dockerconfigjson': Buffer.from('v2') } } });
  t.equal(count(SECRET_PATH), 2);
});

t.test('NotFound is cached for the TTL too', async (t) => {
  const { api, reader, advance, count } = await setup(t);
  t.match(await reader.getSecret('demo', 'regcred'), { reason: 'NotFound' });
  api.setSecret('demo', 'regcred', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': DOCKERCONFIG });
  t.match(await reader.getSecret('demo', 'regcred'), { reason: 'NotFound' });
  t.equal(count(SECRET_PATH), 1);
  advance(5000);
  t.match(await reader.getSecret('demo', 'regcred'), { found: true });
});

t.test('ten concurrent reads of one secret make one request', async (t) => {
  const { api, reader, count } = await setup(t);
  api.setSecret('demo', 'regcred', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': DOCKERCONFIG });
  const results = await Promise.all(Array.from({ length: 10 }, () => reader.getSecret('demo', 'regcred')));
  t.ok(results.every((r) => r.found));
  t.equal(count(SECRET_PATH), 1);
});

t.test('server errors are Unavailable and not cached', async (t) => {
  const { api, reader, count } = await setup(t);
  api.setSecret('demo', 'regcred', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': DOCKERCONFIG });
  api.failNext(1, 500, SECRET_PATH);
  t.match(await reader.getSecret('demo', 'regcred'), {
    found: false,
    reason: 'Unavailable',
    message: /answered 500 reading secret demo\/regcred \(API server: injected failure 500\)/,
  });
  api.failNext(1, 503, SECRET_PATH);
  t.match(await reader.getSecret('demo', 'regcred'), { reason: 'Unavailable', message: /503/ });
  t.match(await reader.getSecret('demo', 'regcred'), { found: true });
  t.equal(count(SECRET_PATH), 3);
});

t.test('a request the API server does not answer times out as Unavailable', async (t) => {
  const { api, reader, count } = await setup(t, { apiTimeoutMs: 50 });
  api.setSecret('demo', 'regcred', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': DOCKERCONFIG });
  api.stall(SECRET_PATH);
  t.same(await reader.getSecret('demo', 'regcred'), {
    found: false,
    reason: 'Unavailable',
    message: 'the API server did not answer within 50 ms reading secret demo/regcred',
  });
  await reader.getSecret('demo', 'regcred');
  t.equal(count(SECRET_PATH), 2, 'a timeout is not cached');
});

t.test('an unreachable API server is Unavailable with the network error code', async (t) => {
  const api = await startFakeApiServer();
  const kc = api.kubeConfig();
  await api.stop();
  const reader = createClusterReader(kc);
  t.teardown(() => reader.close());
  t.match(await reader.getSecret('demo', 'regcred'), { found: false, reason: 'Unavailable', message: /unreachable \(ECONNREFUSED\)/ });
  t.same(await reader.listNodes(), [], 'no nodes when they cannot be listed');
});

t.test('credentials the API server rejects are Unavailable, not NotFound', async (t) => {
  const api = await startFakeApiServer();
  t.teardown(() => api.stop());
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: 'c', server: api.url, skipTLSVerify: true }, { name: 'nobody' });
  const reader = createClusterReader(kc);
  t.teardown(() => reader.close());
  t.match(await reader.getSecret('demo', 'regcred'), { found: false, reason: 'Unavailable', message: /rejected pullguard's credentials \(401\)/ });
});

t.test('close() aborts requests in flight', async (t) => {
  const api = await startFakeApiServer();
  t.teardown(() => api.stop());
  api.stall(SECRET_PATH);
  const reader = createClusterReader(api.kubeConfig());
  const pending = reader.getSecret('demo', 'regcred');
  await reader.close();
  t.match(await pending, { found: false, reason: 'Unavailable', message: /cluster reader is closed/ });
});

t.test('a name that is not a Kubernetes object name is NotFound without a request', async (t) => {
  const { reader, api } = await setup(t);
  const before = api.requests.filter((r) => r.path.startsWith('/api/v1/namespaces')).length;
  for (const [ns, name] of [['demo', ''], ['demo', '..'], ['demo', 'a/b'], ['', 'x'], ['demo', 'Upper']]) {
    t.match(await reader.getSecret(ns!, name!), { found: false, reason: 'NotFound', message: /is not a valid secrets name/ }, `${ns}/${name}`);
  }
  t.match(await reader.getNamespaceLabels('a%2Fb'), { reason: 'NotFound' });
  t.equal(api.requests.filter((r) => r.path.startsWith('/api/v1/namespaces')).length, before);
});

t.test('service account pull secrets are the names in imagePullSecrets', async (t) => {
  const { api, reader, count, advance } = await setup(t);
  api.setServiceAccount('demo', 'default', ['regcred', 'mirror']);
  api.setServiceAccount('demo', 'plain', []);
  t.same(await reader.getServiceAccountPullSecrets('demo', 'default'), { found: true, value: ['regcred', 'mirror'] });
  t.same(await reader.getServiceAccountPullSecrets('demo', 'plain'), { found: true, value: [] });
  t.same(await reader.getServiceAccountPullSecrets('demo', 'gone'), {
    found: false,
    reason: 'NotFound',
    message: 'service account demo/gone not found',
  });
  api.setServiceAccount('demo', 'default', ['regcred']);
  await reader.getServiceAccountPullSecrets('demo', 'default');
  t.equal(count('/api/v1/namespaces/demo/serviceaccounts/default'), 1, 'cached');
  advance(5000);
  t.same(await reader.getServiceAccountPullSecrets('demo', 'default'), { found: true, value: ['regcred'] });
  api.forbid('/api/v1/namespaces/demo/serviceaccounts/');
  t.match(await reader.getServiceAccountPullSecrets('demo', 'other'), {
    reason: 'Forbidden',
    message: /RBAC verb "get" on resource "serviceaccounts" in namespace "demo"/,
  });
});

t.test('namespace labels are read and cached', async (t) => {
  const { api, reader, count } = await setup(t);
  api.setNamespace('team-a', { 'pullguard.io/enforce': 'warn' });
  const want = { found: true, value: { 'pullguard.io/enforce': 'warn', 'kubernetes.io/metadata.name': 'team-a' } };
  t.same(await reader.getNamespaceLabels('team-a'), want);
  t.same(await reader.getNamespaceLabels('team-a'), want);
  t.equal(count('/api/v1/namespaces/team-a'), 1);
  t.match(await reader.getNamespaceLabels('nope'), { found: false, reason: 'NotFound', message: 'namespace nope not found' });
  api.forbid('/api/v1/namespaces/secret-ns');
  t.match(await reader.getNamespaceLabels('secret-ns'), {
    reason: 'Forbidden',
    message: /RBAC verb "get" on resource "namespaces" cluster-wide \(ClusterRole\)/,
  });
});

t.test('secret contents never reach the log', async (t) => {
  const { api, reader, logger } = await setup(t, { apiTimeoutMs: 50 });
  api.setSecret('demo', 'regcred', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': DOCKERCONFIG });
  await reader.getSecret('demo', 'regcred');
  api.failNext(1, 500, SECRET_PATH);
  await reader.getSecret('demo', 'other');
  api.forbid('/api/v1/namespaces/demo/secrets/');
  await reader.getSecret('demo', 'forbidden');
  const logged = JSON.stringify(logger.lines);
  t.ok(logger.lines.length > 0);
  t.notMatch(logged, /s3cr3t|alice/);
  t.notMatch(logged, Buffer.from(DOCKERCONFIG).toString('base64').slice(0, 20));
});

t.test('the disconnected reader knows only the nodes it is given', async (t) => {
  const node = { name: 'n1', labels: {}, platform: { os: 'linux', architecture: 'arm64' }, images: [] };
  const reader = disconnectedClusterReader([node]);
  t.equal(reader.connected, false);
  t.same(await reader.listNodes(), [node]);
  for (const r of [
    await reader.getSecret('demo', 'regcred'),
    await reader.getServiceAccountPullSecrets('demo', 'default'),
    await reader.getNamespaceLabels('demo'),
  ]) {
    t.match(r, { found: false, reason: 'Unavailable', message: /not connected to a Kubernetes API server/ });
  }
  t.same(await disconnectedClusterReader().listNodes(), []);
  await reader.close();
});

t.test('the peek members give what a fresh cached read would, without a request, and nothing once the TTL passed', async (t) => {
  const { api, reader, advance, count } = await setup(t, { secretTtlMs: 5000 });
  api.setSecret('demo', 'regcred', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': DOCKERCONFIG });
  api.setServiceAccount('demo', 'default', ['regcred']);
  api.setNamespace('demo', { 'pullguard.io/enforce': 'warn' });
  t.equal(reader.peekSecret?.('demo', 'regcred'), undefined, 'not read yet: nothing at hand');
  t.equal(reader.peekServiceAccountPullSecrets?.('demo', 'default'), undefined);
  t.equal(reader.peekNamespaceLabels?.('demo'), undefined);
  const secret = await reader.getSecret('demo', 'regcred');
  const sa = await reader.getServiceAccountPullSecrets('demo', 'default');
  const labels = await reader.getNamespaceLabels('demo');
  t.equal(reader.peekSecret?.('demo', 'regcred'), secret, 'the cached answer itself');
  t.equal(reader.peekServiceAccountPullSecrets?.('demo', 'default'), sa);
  t.equal(reader.peekNamespaceLabels?.('demo'), labels);
  t.equal(reader.peekSecret?.('demo', 'other'), undefined, 'another object is another key');
  t.equal(count(SECRET_PATH), 1, 'peeking made no request');
  advance(5000);
  t.equal(reader.peekSecret?.('demo', 'regcred'), undefined, 'expired: to be read again');
  t.equal(reader.peekNamespaceLabels?.('demo'), undefined);
  await reader.getSecret('demo', 'regcred');
  t.equal(count(SECRET_PATH), 2);
  t.match(reader.peekSecret?.('demo', 'regcred'), { found: true });
});
