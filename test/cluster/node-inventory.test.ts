// The inventory's projection of a Node: the facts as node-info reads them, with the strings nodes repeat kept once,
// in a table bounded in bytes.
import t from 'tap';
import type { V1Node, V1NodeSystemInfo } from '@kubernetes/client-node';
import { SHARED_STRINGS_MAX_BYTES, projectNode, sharedStringBytes } from '../../src/cluster/node-inventory.ts';
import { nodeInfoFromNode } from '../../src/cluster/node-info.ts';

const node = (name: string, images: string[][]): V1Node => ({
  metadata: { name, resourceVersion: '7', labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/arch': 'arm64', 'kubernetes.io/os': 'linux', 'topology.kubernetes.io/zone': 'eu-west-1a' } },
  spec: { taints: [{ key: 'gpu', value: 'yes', effect: 'NoSchedule' }] },
  status: { images: images.map((names) => ({ names, sizeBytes: 1 })), nodeInfo: { containerRuntimeVersion: 'containerd://2.1.0', kubeletVersion: 'v1.35.0' } as V1NodeSystemInfo },
});

t.test('a projected node keeps exactly the facts node-info reads, and only its name and version besides', async (t) => {
  const n = node('a', [['registry.example/app@sha256:aa', 'registry.example/app:1'], ['pause:3.10']]);
  const p = projectNode(n);
  t.same(p.info, nodeInfoFromNode(n));
  t.same(p.metadata, { name: 'a', resourceVersion: '7' });
});

t.test('the table of shared strings stays within its byte bound however many distinct names nodes report', async (t) => {
  const long = 'x'.repeat(2000);
  let n = 0;
  // Each node reports 100 names never seen before, ~4 KB each in UTF-16: well past the bound in total.
  while (n * 100 * 4000 < SHARED_STRINGS_MAX_BYTES * 2) {
    const images = Array.from({ length: 100 }, (_, i) => [`registry.example/${n}-${i}:${long}`]);
    const p = projectNode(node(`n${n}`, images));
    t.ok(sharedStringBytes() <= SHARED_STRINGS_MAX_BYTES, `after node ${n}`);
    if (n % 20 === 0) t.same(p.info.images, images.map((names) => names[0]), `node ${n}'s images are its own`);
    n++;
  }
});
