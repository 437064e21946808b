// Issue 12, per-runtime index matching end to end through the webhook: the nodes' status.nodeInfo
// .containerRuntimeVersion (CRI-O, containerd 1.7, containerd 2.1) from the fake API server's Node JSON decides
// whether an index whose only entry is a fallback platform (386 on amd64, arm/v7 on arm64) can be pulled.
import t from 'tap';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { openSession, pushImage } from '../harness/push.ts';
import { startFakeApiServer, type FakeApiServer } from '../harness/fake-apiserver.ts';
import { containers, reviewOf } from '../admission/env.ts';
import { makeDir, startPullguard, writeRegistryConfig, type Pullguard } from './check-env.ts';

let reg: TestRegistry;
let api: FakeApiServer;
let pg: Pullguard;
const work = makeDir();
const img = (name: string): string => `${reg.host}/${name}`;
const linux = (name: string, arch: string, pool: string) => ({ 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': arch, 'kubernetes.io/hostname': name, pool });

t.before(async () => {
  reg = await startRegistry({ auth: 'none' });
  await Promise.all([
    pushImage(reg, { repository: 'legacy/i386', tag: '1.0', index: true, platforms: [{ os: 'linux', architecture: '386' }] }),
    pushImage(reg, { repository: 'legacy/armv7', tag: '1.0', format: 'docker', index: true, platforms: [{ os: 'linux', architecture: 'arm', variant: 'v7' }] }),
    pushImage(reg, { repository: 'multi/app', tag: '1.0', platforms: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }] }),
  ]);
  // An OCI index whose one entry names no platform (its config says amd64), as some tools write them.
  const bare = await pushImage(reg, { repository: 'bare/index', tag: 'image', format: 'oci', platforms: [{ os: 'linux', architecture: 'amd64' }] });
  const session = openSession(reg);
  try {
    const child = await session.request('GET', `/v2/bare/index/manifests/${bare.digest}`, { repository: 'bare/index', headers: { accept: bare.mediaType } });
    const index = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: bare.mediaType, digest: bare.digest, size: child.body.length }] });
    const put = await session.request('PUT', '/v2/bare/index/manifests/1.0', { repository: 'bare/index', headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' }, body: index });
    if (put.status !== 201) throw new Error(`index push: ${put.status} ${put.body.toString()}`);
  } finally {
    await session.close();
  }
  api = await startFakeApiServer();
  api.setNamespace('demo', {});
  api.setServiceAccount('demo', 'default', []);
  api.setNode({ name: 'crio-amd', labels: linux('crio-amd', 'amd64', 'crio'), containerRuntimeVersion: 'cri-o://1.31.1' });
  api.setNode({ name: 'crio-arm', arch: 'arm64', labels: linux('crio-arm', 'arm64', 'crio-arm'), containerRuntimeVersion: 'cri-o://1.31.1' });
  api.setNode({ name: 'c17-amd', labels: linux('c17-amd', 'amd64', 'c17'), containerRuntimeVersion: 'containerd://1.7.22' });
  api.setNode({ name: 'c21-amd', labels: linux('c21-amd', 'amd64', 'c21'), containerRuntimeVersion: 'containerd://2.1.4' });
  api.setNode({ name: 'c21-arm', arch: 'arm64', labels: linux('c21-arm', 'arm64', 'c21-arm'), containerRuntimeVersion: 'containerd://2.1.4' });
  api.setNode({ name: 'other-amd', labels: linux('other-amd', 'amd64', 'other'), containerRuntimeVersion: 'docker://24.0.7' });
  // A CRI-O node that holds the 386 image already (preloaded into the storage it shares with podman, or pulled while
  // the tag still had an amd64 entry): under IfNotPresent the kubelet asks for no pull.
  api.setNode({ name: 'crio-cached', labels: linux('crio-cached', 'amd64', 'crio-cached'), containerRuntimeVersion: 'cri-o://1.31.1', images: [img('legacy/i386:1.0')] });
  pg = startPullguard(api, writeRegistryConfig(work.dir, [reg]));
});

t.teardown(async () => {
  await pg?.close();
  await api?.stop();
  await reg?.stop();
  work.remove();
});

const pod = (image: string, pool: string) => reviewOf('Pod', { containers: containers(image), nodeSelector: { pool } });

t.test('a 386-only index on amd64 CRI-O nodes is denied: containers/image wants amd64 only', async (t) => {
  const out = await pg.post(pod(img('legacy/i386:1.0'), 'crio'));
  t.equal(out.response.allowed, false);
  t.match(out.response.status?.message, `image "${img('legacy/i386:1.0')}": PlatformMismatch: the image offers linux/386, but the nodes this pod may land on run linux/amd64. The eligible nodes run cri-o://1.31.1: CRI-O (containers/image) takes only an entry for the node's exact os/architecture/variant`);
  t.match(out.response.status?.message, 'Fix: build the image for linux/amd64 (multi-arch)');
});

t.test('the same index on containerd 1.7 nodes pulls (platforms.Only takes 386 on amd64)', async (t) => {
  const out = await pg.post(pod(img('legacy/i386:1.0'), 'c17'));
  t.equal(out.response.allowed, true);
  t.same(out.response.warnings ?? [], [], 'no warning: containerd 1.x certainly takes it');
});

t.test('on containerd 2.1 nodes it depends on use_local_image_pull, which the Node does not say: admitted with a warning', async (t) => {
  const out = await pg.post(pod(img('legacy/i386:1.0'), 'c21'));
  t.equal(out.response.allowed, true);
  t.match(out.response.warnings?.[0], `container c0: ${img('legacy/i386:1.0')}: PlatformFallbackUncertain (not denied)`);
  t.match(out.response.warnings?.[0], 'nodes run linux/amd64, image has linux/386');
  const full = out.response.auditAnnotations?.['image-0'] ?? '';
  t.match(full, 'PlatformFallbackUncertain: the image offers linux/386, but not the nodes\' own platform (linux/amd64).');
  t.match(full, 'unless use_local_image_pull = true, which the Node does not report (nodes running containerd://2.1.4 on linux/amd64)');
});

t.test('a runtime pullguard does not model (cri-dockerd) is not judged by a matcher it may not use', async (t) => {
  const out = await pg.post(pod(img('legacy/i386:1.0'), 'other'));
  t.equal(out.response.allowed, true);
  t.match(out.response.warnings?.[0], 'PlatformFallbackUncertain (not denied)');
});

t.test('32-bit arm on arm64: denied on CRI-O, uncertain on containerd 2.1', async (t) => {
  const crio = await pg.post(pod(img('legacy/armv7:1.0'), 'crio-arm'));
  t.equal(crio.response.allowed, false);
  t.match(crio.response.status?.message, 'PlatformMismatch: the image offers linux/arm/v7, but the nodes this pod may land on run linux/arm64.');
  const containerd = await pg.post(pod(img('legacy/armv7:1.0'), 'c21-arm'));
  t.equal(containerd.response.allowed, true);
  t.match(containerd.response.warnings?.[0], 'PlatformFallbackUncertain (not denied)');
});

t.test('an image with the nodes\' own platform pulls on every runtime, and a CRI-O node among others does not deny', async (t) => {
  for (const pool of ['crio', 'crio-arm', 'c17', 'c21', 'c21-arm', 'other']) {
    const out = await pg.post(pod(img('multi/app:1.0'), pool));
    t.equal(out.response.allowed, true, pool);
    t.same(out.response.warnings ?? [], [], `${pool}: nothing to warn about`);
  }
  const mixed = await pg.post(reviewOf('Pod', { containers: containers(img('legacy/i386:1.0')), affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['crio', 'c17'] }] }] } } } }));
  t.equal(mixed.response.allowed, true, 'the pod may land on the containerd 1.7 node, which takes it');
});

t.test('an OCI index entry without a platform: containerd reads its config (amd64) and refuses it on arm64; CRI-O takes it anyway', async (t) => {
  const containerd = await pg.post(pod(img('bare/index:1.0'), 'c21-arm'));
  t.equal(containerd.response.allowed, false);
  t.match(containerd.response.status?.message, 'PlatformMismatch: the image offers linux/amd64, but the nodes this pod may land on run linux/arm64.');
  const crio = await pg.post(pod(img('bare/index:1.0'), 'crio-arm'));
  t.equal(crio.response.allowed, true, 'the pull succeeds on CRI-O; whether the entry runs there is not certain');
  t.match(crio.response.warnings?.[0], 'PlatformFallbackUncertain (not denied)');
});

t.test('an index no CRI-O node takes is no certain failure where an eligible node has the image cached and the policy lets the kubelet use it', async (t) => {
  const cached = await pg.post(pod(img('legacy/i386:1.0'), 'crio-cached'));
  t.equal(cached.response.allowed, true, 'the kubelet starts the pod from the cached image without pulling');
  t.match(cached.response.warnings?.[0], `container c0: ${img('legacy/i386:1.0')}: CachedOnNodes (not denied): build it for the nodes' platform`);
  t.match(cached.response.auditAnnotations?.['image-0'], 'Build the image for linux/amd64 (multi-arch) so that every node can pull it.');
  t.match(cached.response.auditAnnotations?.['image-0'], /the registry answer was PlatformMismatch, but 1 of 1 eligible nodes have the image cached \(crio-cached\)/);
  const always = await pg.post(reviewOf('Pod', { containers: [{ name: 'c0', image: img('legacy/i386:1.0'), imagePullPolicy: 'Always' }], nodeSelector: { pool: 'crio-cached' } }));
  t.equal(always.response.allowed, false, 'Always pulls, and CRI-O takes no 386 entry on amd64');
  t.match(always.response.status?.message, 'PlatformMismatch: the image offers linux/386');
});
