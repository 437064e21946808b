import t from 'tap';
import type { V1Node } from '@kubernetes/client-node';
import { nodeInfoFromNode, nodePlatform } from '../../src/cluster/node-info.ts';

t.test('the platform comes from GA labels, then beta labels, then status.nodeInfo', async (t) => {
  const nodeInfo = { operatingSystem: 'linux', architecture: 'amd64' };
  const cases: { name: string; labels: Record<string, string>; info?: typeof nodeInfo; want: object }[] = [
    { name: 'GA labels', labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'arm64' }, info: nodeInfo, want: { os: 'linux', architecture: 'arm64' } },
    {
      name: 'GA labels win over beta labels',
      labels: { 'kubernetes.io/arch': 'arm64', 'beta.kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux' },
      want: { os: 'linux', architecture: 'arm64' },
    },
    { name: 'beta labels only', labels: { 'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 's390x' }, info: nodeInfo, want: { os: 'linux', architecture: 's390x' } },
    { name: 'no labels: status.nodeInfo', labels: {}, info: { operatingSystem: 'linux', architecture: 'ppc64le' }, want: { os: 'linux', architecture: 'ppc64le' } },
    { name: 'nothing at all', labels: {}, want: { os: '', architecture: '' } },
    { name: 'variant only from pullguard.io/variant', labels: { 'kubernetes.io/arch': 'arm', 'kubernetes.io/os': 'linux' }, want: { os: 'linux', architecture: 'arm' } },
    {
      name: 'pullguard.io/variant set',
      labels: { 'kubernetes.io/arch': 'arm', 'kubernetes.io/os': 'linux', 'pullguard.io/variant': 'v7' },
      want: { os: 'linux', architecture: 'arm', variant: 'v7' },
    },
    {
      name: 'Windows build label gives osVersion',
      labels: { 'kubernetes.io/os': 'windows', 'kubernetes.io/arch': 'amd64', 'node.kubernetes.io/windows-build': '10.0.20348' },
      want: { os: 'windows', architecture: 'amd64', osVersion: '10.0.20348' },
    },
    {
      name: 'the Windows build label is ignored on Linux',
      labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'node.kubernetes.io/windows-build': '10.0.20348' },
      want: { os: 'linux', architecture: 'amd64' },
    },
  ];
  for (const c of cases) t.same(nodePlatform(c.labels, c.info), c.want, c.name);
});

t.test('a Node object becomes a NodeInfo with every image name and its schedulability', async (t) => {
  const node: V1Node = {
    metadata: { name: 'worker-1', labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', pool: 'gpu' } },
    spec: { unschedulable: true },
    status: {
      images: [
        { names: ['docker.io/library/nginx@sha256:abc', 'docker.io/library/nginx:1.27'], sizeBytes: 1 },
        { names: ['registry.k8s.io/pause:3.10', 'docker.io/library/nginx:1.27'], sizeBytes: 2 },
        { sizeBytes: 3 },
      ],
    },
  };
  t.same(nodeInfoFromNode(node), {
    name: 'worker-1',
    labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', pool: 'gpu' },
    platform: { os: 'linux', architecture: 'amd64' },
    images: ['docker.io/library/nginx@sha256:abc', 'docker.io/library/nginx:1.27', 'registry.k8s.io/pause:3.10'],
    unschedulable: true,
  });
});

t.test('a bare Node object gives empty fields, not a crash', async (t) => {
  t.same(nodeInfoFromNode({}), { name: '', labels: {}, platform: { os: '', architecture: '' }, images: [], unschedulable: false });
});

t.test('taints keep only the effects the scheduler filters on; malformed entries are dropped, not a crash', async (t) => {
  const node: V1Node = {
    metadata: { name: 'n' },
    spec: {
      taints: [
        { key: 'a', value: 'x', effect: 'NoSchedule' },
        { key: 'b', effect: 'NoExecute' },
        { key: 'c', effect: 'PreferNoSchedule' },
        { key: 'd', value: '', effect: 'NoSchedule' },
        ...([null, 'x', { effect: 'NoSchedule' }, { key: 'e', effect: 'Sometimes' }] as unknown as NonNullable<NonNullable<V1Node['spec']>['taints']>),
      ],
    },
    status: { nodeInfo: { containerRuntimeVersion: 'containerd://2.0.5', kubeletVersion: 'v1.34.2' } as never },
  };
  const info = nodeInfoFromNode(node);
  t.same(info.taints, [{ key: 'a', value: 'x', effect: 'NoSchedule' }, { key: 'b', effect: 'NoExecute' }, { key: 'd', effect: 'NoSchedule' }]);
  t.equal(info.containerRuntimeVersion, 'containerd://2.0.5');
  t.equal(info.kubeletVersion, 'v1.34.2');
});
