import t from 'tap';
import type { Test } from 'tap';
import { createClusterReader } from '../../src/cluster/reader.ts';
import type { ClusterReaderOptions } from '../../src/cluster/reader.ts';
import type { NodeInfo } from '../../src/cluster/types.ts';
import { startFakeApiServer } from '../harness/fake-apiserver.ts';
import type { FakeApiServer, FakeNode } from '../harness/fake-apiserver.ts';
import { captureLogger, eventually } from './eventually.ts';

async function setup(t: Test, nodes: FakeNode[], opts: ClusterReaderOptions = {}, before?: (api: FakeApiServer) => void) {
  const api = await startFakeApiServer();
  for (const node of nodes) api.setNode(node);
  before?.(api);
  const logger = captureLogger();
  const reader = createClusterReader(api.kubeConfig(), { logger, ...opts });
  t.teardown(async () => {
    await reader.close();
    await api.stop();
  });
  const lists = () => api.requests.filter((r) => r.path === '/api/v1/nodes' && !r.query.includes('watch=true')).length;
  const watches = () => api.requests.filter((r) => r.path === '/api/v1/nodes' && r.query.includes('watch=true')).length;
  return { api, reader, logger, lists, watches };
}

const byName = (nodes: NodeInfo[]) => Object.fromEntries(nodes.map((n) => [n.name, n]));
const names = (nodes: NodeInfo[]) => nodes.map((n) => n.name).sort();

t.test('listNodes waits for the initial list and then answers from memory', async (t) => {
  const { reader, lists } = await setup(t, [
    { name: 'amd', images: [['docker.io/library/nginx@sha256:aa', 'docker.io/library/nginx:1.27'], 'busybox:1'] },
    { name: 'arm', arch: 'arm64', unschedulable: true },
  ]);
  const nodes = byName(await reader.listNodes());
  t.same(Object.keys(nodes).sort(), ['amd', 'arm']);
  t.same(nodes.amd, {
    name: 'amd',
    labels: { 'beta.kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': 'amd', 'kubernetes.io/os': 'linux' },
    platform: { os: 'linux', architecture: 'amd64' },
    images: ['docker.io/library/nginx@sha256:aa', 'docker.io/library/nginx:1.27', 'busybox:1'],
    unschedulable: false,
    containerRuntimeVersion: 'containerd://1.7.18',
    kubeletVersion: 'v1.31.0',
  });
  t.match(nodes.arm, { platform: { os: 'linux', architecture: 'arm64' }, unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] });
  for (let i = 0; i < 20; i++) await reader.listNodes();
  t.equal(lists(), 1, 'one list, however many reviews');
});

t.test('watch events add, modify and delete nodes', async (t) => {
  const { api, reader, lists } = await setup(t, [{ name: 'n1' }, { name: 'n2' }]);
  t.same(names(await reader.listNodes()), ['n1', 'n2']);

  api.setNode({ name: 'n3', arch: 'arm64' });
  const added = await eventually(() => reader.listNodes(), (nodes) => nodes.length === 3);
  t.match(byName(added).n3, { platform: { architecture: 'arm64' } }, 'ADDED');

  api.setNode({ name: 'n1', arch: 'arm64', images: ['ghcr.io/acme/app:2'] });
  const modified = await eventually(() => reader.listNodes(), (nodes) => byName(nodes).n1?.platform.architecture === 'arm64');
  t.match(byName(modified).n1, { platform: { architecture: 'arm64' }, images: ['ghcr.io/acme/app:2'] }, 'MODIFIED');

  api.deleteNode('n2');
  const deleted = await eventually(() => reader.listNodes(), (nodes) => nodes.length === 2);
  t.same(names(deleted), ['n1', 'n3'], 'DELETED');
  t.equal(lists(), 1, 'events came over the watch, not by listing again');
});

t.test('labels fall back to beta labels, then status.nodeInfo', async (t) => {
  const { reader } = await setup(t, [
    { name: 'beta', labels: { 'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 's390x' }, arch: 'amd64' },
    { name: 'bare', labels: {}, os: 'linux', arch: 'ppc64le' },
    { name: 'pi', labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'arm', 'pullguard.io/variant': 'v7' } },
  ]);
  const nodes = byName(await reader.listNodes());
  t.same(nodes.beta?.platform, { os: 'linux', architecture: 's390x' });
  t.same(nodes.bare?.platform, { os: 'linux', architecture: 'ppc64le' });
  t.same(nodes.pi?.platform, { os: 'linux', architecture: 'arm', variant: 'v7' });
});

t.test('a watch the API server ends is resumed from the last resourceVersion without listing again', async (t) => {
  const { api, reader, lists, watches } = await setup(t, [{ name: 'n1' }]);
  await reader.listNodes();
  await eventually(watches, (n) => n === 1);
  api.closeWatches();
  api.setNode({ name: 'n2' });
  const nodes = await eventually(() => reader.listNodes(), (nodes) => nodes.length === 2);
  t.same(names(nodes), ['n1', 'n2']);
  t.equal(lists(), 1);
  t.ok(watches() >= 2);
});

t.test('a watch too old for the API server (410 Expired) relists', async (t) => {
  const { api, reader, lists, watches } = await setup(t, [{ name: 'n1' }, { name: 'n2' }]);
  await reader.listNodes();
  await eventually(watches, (n) => n === 1);
  // While no watch is open, n1 goes and the API server compacts away that event.
  api.closeWatches();
  api.deleteNode('n1');
  api.compact();
  const nodes = await eventually(() => reader.listNodes(), (nodes) => nodes.length === 1);
  t.same(names(nodes), ['n2']);
  t.equal(lists(), 2, 'listed again after 410');
});

t.test('while the watch fails, the last known nodes are served, and the watch is retried', async (t) => {
  const { api, reader, logger, watches, lists } = await setup(t, [{ name: 'n1' }], { nodeResyncMs: 1 });
  await reader.listNodes();
  await eventually(watches, (n) => n === 1);
  api.failNext(1, 500, '/api/v1/nodes');
  api.closeWatches();
  await eventually(watches, (n) => n === 2);
  t.same(names(await reader.listNodes()), ['n1']);
  api.setNode({ name: 'n2' });
  const nodes = await eventually(() => reader.listNodes(), (nodes) => nodes.length === 2);
  t.same(names(nodes), ['n1', 'n2']);
  t.equal(lists(), 1);
  const logged = await eventually(() => logger.lines.filter((l) => l.level !== 'debug'), (lines) => lines.length >= 2);
  t.match(logged, [
    { level: 'warn', fields: { reason: 'Unavailable' }, message: /answered 500 .*serving the last known nodes/ },
    { level: 'info', message: /watching nodes works again/ },
  ]);
});

t.test('when nodes may not be listed, listNodes answers [] and the log names the permission', async (t) => {
  const { reader, logger } = await setup(t, [{ name: 'n1' }], {}, (api) => api.forbid('/api/v1/nodes'));
  t.same(await reader.listNodes(), []);
  t.match(
    logger.lines.filter((l) => l.level === 'warn'),
    [{ fields: { reason: 'Forbidden' }, message: /RBAC verb "list" on resource "nodes" cluster-wide.*no nodes known yet/ }],
  );
});

t.test('a failed first list is retried, and nodes appear once it succeeds', async (t) => {
  const { reader, lists, logger } = await setup(t, [{ name: 'n1' }], { nodeResyncMs: 1 }, (api) => api.failNext(1, 500, '/api/v1/nodes'));
  t.same(await reader.listNodes(), [], 'not a false list while the first list failed');
  const nodes = await eventually(() => reader.listNodes(), (nodes) => nodes.length === 1);
  t.same(names(nodes), ['n1']);
  t.equal(lists(), 2);
  const logged = await eventually(() => logger.lines.filter((l) => l.level !== 'debug'), (lines) => lines.length >= 2);
  t.match(logged, [
    { level: 'warn', message: /answered 500/ },
    { level: 'info', message: /watching nodes works again/ },
  ]);
});

t.test('a list that does not finish in time gives [] after the bounded wait', async (t) => {
  const { reader, logger } = await setup(t, [{ name: 'n1' }], { nodeSyncWaitMs: 20 }, (api) => api.stall('/api/v1/nodes'));
  t.same(await reader.listNodes(), []);
  t.match(logger.lines, [{ level: 'warn', message: /nodes not listed yet/ }]);
});

t.test('close() stops the informer: later changes are not seen and no request is made', async (t) => {
  const { api, reader, watches } = await setup(t, [{ name: 'n1' }]);
  await reader.listNodes();
  await eventually(watches, (n) => n === 1);
  await reader.close();
  const before = api.requests.length;
  api.setNode({ name: 'n2' });
  api.closeWatches();
  t.same(names(await reader.listNodes()), ['n1']);
  t.equal(api.requests.length, before);
});

t.test('the facts pullguard decides with come from the real Node JSON: taints, runtime and kubelet versions, the Windows build', async (t) => {
  const { reader } = await setup(t, [
    {
      name: 'gke-arm',
      arch: 'arm64',
      taints: [
        { key: 'kubernetes.io/arch', value: 'arm64', effect: 'NoSchedule' },
        { key: 'dedicated', value: 'batch', effect: 'NoExecute' },
        { key: 'soft', effect: 'PreferNoSchedule' },
      ],
      containerRuntimeVersion: 'containerd://2.1.4',
      kubeletVersion: 'v1.35.1-gke.1200',
    },
    {
      name: 'win',
      os: 'windows',
      labels: { 'kubernetes.io/os': 'windows', 'kubernetes.io/arch': 'amd64', 'node.kubernetes.io/windows-build': '10.0.17763' },
      containerRuntimeVersion: 'containerd://1.7.22',
    },
    { name: 'crio', containerRuntimeVersion: 'cri-o://1.31.1', kubeletVersion: 'v1.31.4' },
  ]);
  const nodes = byName(await reader.listNodes());
  t.same(nodes['gke-arm']?.taints, [
    { key: 'kubernetes.io/arch', value: 'arm64', effect: 'NoSchedule' },
    { key: 'dedicated', value: 'batch', effect: 'NoExecute' },
  ], 'NoSchedule and NoExecute taints, without PreferNoSchedule (it only scores)');
  t.equal(nodes['gke-arm']?.containerRuntimeVersion, 'containerd://2.1.4');
  t.equal(nodes['gke-arm']?.kubeletVersion, 'v1.35.1-gke.1200');
  t.same(nodes.win?.platform, { os: 'windows', architecture: 'amd64', osVersion: '10.0.17763' }, 'node.kubernetes.io/windows-build is the Windows OS version');
  t.equal(nodes.win?.containerRuntimeVersion, 'containerd://1.7.22');
  t.equal(nodes.crio?.containerRuntimeVersion, 'cri-o://1.31.1');
  t.equal(nodes.crio?.taints, undefined, 'no taints: no field');
});

t.test('nodes are listed page by page (limit/continue), then watched; reviews share one snapshot until a node changes', async (t) => {
  const fleet = Array.from({ length: 7 }, (_, i) => ({ name: `n${i}`, images: [`registry.example/app:${i}`] }));
  const { api, reader, lists } = await setup(t, fleet, { nodePageSize: 3 });
  const first = await reader.listNodes();
  t.same(names(first), fleet.map((n) => n.name), 'every page arrived');
  t.equal(lists(), 3, '7 nodes in pages of 3');
  const pages = api.requests.filter((r) => r.path === '/api/v1/nodes' && !r.query.includes('watch=true')).map((r) => new URLSearchParams(r.query));
  t.same(pages.map((q) => q.get('limit')), ['3', '3', '3']);
  t.same(pages.map((q) => q.has('continue')), [false, true, true], 'the continue token carries the next page');
  t.equal(await reader.listNodes(), first, 'nothing changed: the same snapshot, not a copy per review');
  api.setNode({ name: 'n7' });
  const after = await eventually(() => reader.listNodes(), (nodes) => nodes.length === 8);
  t.equal(after.length, 8, 'the watch delivers the new node');
  t.not(after, first, 'a change makes a new snapshot');
  t.equal(lists(), 3, 'no relist');
});

t.test('peekNodes is nothing until the first list is in, then the snapshot listNodes answers, and a new one after a change', async (t) => {
  const { api, reader } = await setup(t, [{ name: 'n1' }]);
  t.equal(reader.peekNodes?.(), undefined, 'the first list is not in: a review has to wait for it');
  const first = await reader.listNodes();
  t.equal(reader.peekNodes?.(), first, 'the same snapshot, at hand');
  api.setNode({ name: 'n2' });
  const after = await eventually(() => reader.listNodes(), (nodes) => nodes.length === 2);
  t.equal(reader.peekNodes?.(), after, 'a change: the new snapshot');
  t.not(after, first);
});

t.test('while the first list does not come, peekNodes stays nothing: a review waits (bounded) as before', async (t) => {
  const { reader } = await setup(t, [{ name: 'n1' }], { nodeSyncWaitMs: 20 }, (api) => api.stall('/api/v1/nodes'));
  t.same(await reader.listNodes(), [], 'the bounded wait answers no nodes');
  t.equal(reader.peekNodes?.(), undefined, 'and nothing is at hand');
});
