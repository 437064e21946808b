// listWorkloads against the fake API server's real list JSON: pagination by limit/continue, namespaced and
// cluster-wide paths, what is skipped (controller-owned, ended Pods) and the order of the result.
import t from 'tap';
import { listWorkloads } from '../../src/cluster/workloads-list.ts';
import { startFakeApiServer, type FakeApiServer } from '../harness/fake-apiserver.ts';
import { cronJob, deployment, job, pod, replicaSet } from './workloads.ts';

let api: FakeApiServer;
t.before(async () => {
  api = await startFakeApiServer();
  for (let i = 0; i < 7; i++) api.setWorkload(deployment(`d${i}`, { namespace: i % 2 ? 'odd' : 'even', images: ['nginx:1.27'] }));
  api.setWorkload(replicaSet('d0-5f6b7c', { namespace: 'even', images: ['nginx:1.27'], owner: { kind: 'Deployment', name: 'd0' } }));
  api.setWorkload(cronJob('nightly', { namespace: 'even', images: ['busybox:1.36'] }));
  api.setWorkload(job('nightly-1', { namespace: 'even', images: ['busybox:1.36'], owner: { kind: 'CronJob', name: 'nightly' } }));
  api.setWorkload(pod('bare', { namespace: 'odd', images: ['busybox:1.36'] }));
  api.setWorkload(pod('finished', { namespace: 'odd', images: ['busybox:1.36'], phase: 'Failed' }));
  api.setWorkload(pod('d1-5f6b7c-xyz', { namespace: 'odd', images: ['nginx:1.27'], owner: { kind: 'ReplicaSet', name: 'd1-5f6b7c' } }));
});
t.teardown(() => api.stop());

t.test('pages of `limit` items are followed through `continue` until the last', async (t) => {
  api.requests.length = 0;
  const listing = await listWorkloads(api.kubeConfig(), { pageSize: 3, kinds: ['Deployment'] });
  t.equal(listing.workloads.length, 7);
  t.equal(listing.requests, 3, '7 items in pages of 3');
  const queries = api.requests.filter((r) => r.path === '/apis/apps/v1/deployments').map((r) => new URLSearchParams(r.query));
  t.equal(queries.length, 3);
  t.same(queries.map((q) => q.get('limit')), ['3', '3', '3']);
  t.equal(queries[0]!.get('continue'), null);
  t.ok(queries[1]!.get('continue') && queries[2]!.get('continue'), 'later pages carry the continue token');
});

t.test('every kind, owned objects and ended Pods skipped, sorted by namespace, kind, name', async (t) => {
  const listing = await listWorkloads(api.kubeConfig());
  t.same(listing.workloads.map((w) => `${w.namespace}/${w.kind}/${w.name}`), [
    'even/Deployment/d0', 'even/Deployment/d2', 'even/Deployment/d4', 'even/Deployment/d6', 'even/CronJob/nightly',
    'odd/Deployment/d1', 'odd/Deployment/d3', 'odd/Deployment/d5', 'odd/Pod/bare',
  ]);
  t.same(listing.skipped, { owned: 3, finished: 1 });
  t.same(listing.errors, []);
  const d0 = listing.workloads[0]!;
  t.equal(d0.apiVersion, 'apps/v1');
  t.match(d0.uid, /^[0-9a-f-]{36}$/);
  t.match(d0.object, { kind: 'Deployment', apiVersion: 'apps/v1', spec: { template: { spec: { containers: [{ image: 'nginx:1.27' }] } } } }, 'the object as plain JSON, kind filled in');
  t.equal(typeof (d0.object['metadata'] as { creationTimestamp: unknown }).creationTimestamp, 'string', 'no Date objects');
});

t.test('one namespace uses the namespaced paths', async (t) => {
  api.requests.length = 0;
  const listing = await listWorkloads(api.kubeConfig(), { namespace: 'odd' });
  t.same(listing.workloads.map((w) => w.name), ['d1', 'd3', 'd5', 'bare']);
  t.ok(api.requests.some((r) => r.path === '/api/v1/namespaces/odd/pods'));
  t.ok(api.requests.some((r) => r.path === '/apis/batch/v1/namespaces/odd/cronjobs'));
  t.notOk(api.requests.some((r) => r.path === '/api/v1/pods'));
});

t.test('an API server that fails one kind: that kind is an error sentence, the others are listed', async (t) => {
  api.failNext(1, 503, '/apis/batch/v1/jobs');
  const listing = await listWorkloads(api.kubeConfig());
  t.same(listing.errors, ['cannot list jobs in all namespaces: the API server answered 503']);
  t.equal(listing.workloads.length, 9);
});
