// Issue 4, platform and pull-policy side, end to end through the webhook: mixed-architecture nodes from a fake API
// server, narrowed by nodeName, nodeSelector and required node affinity, against real images (OCI index with
// attestations, Docker manifest list, single manifests, schema 1), and imagePullPolicy Never against the images the
// nodes report.
import t from 'tap';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { pushImage, type PushedImage } from '../harness/push.ts';
import { startFakeApiServer, type FakeApiServer } from '../harness/fake-apiserver.ts';
import { containers, reviewOf } from '../admission/env.ts';
import { makeDir, startPullguard, writeRegistryConfig, type Pullguard } from './check-env.ts';

let reg: TestRegistry;
let legacy: TestRegistry;
let api: FakeApiServer;
let pg: Pullguard;
let armV6: PushedImage;
const work = makeDir();

const img = (name: string): string => `${reg.host}/${name}`;

function labels(name: string, arch: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': arch, 'kubernetes.io/hostname': name, ...extra };
}

t.before(async () => {
  [reg, legacy] = await Promise.all([startRegistry({ auth: 'none' }), startRegistry({ auth: 'none', schema1: true })]);
  const pushed = await Promise.all([
    pushImage(reg, { repository: 'multi/oci', tag: '1.0', format: 'oci', attestations: true, platforms: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }] }),
    pushImage(reg, { repository: 'multi/docker', tag: '1.0', format: 'docker', platforms: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm', variant: 'v7' }] }),
    pushImage(reg, { repository: 'single/arm64', tag: '1.0', format: 'docker', platforms: [{ os: 'linux', architecture: 'arm64' }] }),
    pushImage(reg, { repository: 'single/amd64', tag: '1.0', format: 'oci', platforms: [{ os: 'linux', architecture: 'amd64' }] }),
    pushImage(reg, { repository: 'single/armv6', tag: '1.0', format: 'oci', platforms: [{ os: 'linux', architecture: 'arm', variant: 'v6' }] }),
    pushImage(reg, { repository: 'attested/amd64', tag: '1.0', attestations: true, platforms: [{ os: 'linux', architecture: 'amd64' }] }),
    pushImage(legacy, { repository: 'old/app', tag: '1.0', schema1: true, platforms: [{ os: 'linux', architecture: 'amd64' }] }),
  ]);
  armV6 = pushed[4];
  api = await startFakeApiServer();
  api.setNamespace('demo', {});
  api.setServiceAccount('demo', 'default', []);
  // containerd 2.1 refuses schema 1 images; the schema 1 test below depends on it.
  const runtime = { containerRuntimeVersion: 'containerd://2.1.4', kubeletVersion: 'v1.33.2' };
  api.setNode({ ...runtime, name: 'node-amd64', arch: 'amd64', labels: labels('node-amd64', 'amd64', { pool: 'general' }), images: [[img('preloaded/app:1.0'), `${img('preloaded/app')}@sha256:${'a'.repeat(64)}`], 'docker.io/library/busybox:1.36'] });
  api.setNode({ ...runtime, name: 'node-arm64', arch: 'arm64', labels: labels('node-arm64', 'arm64', { pool: 'graviton' }), images: [`${reg.host}/single/armv6@${armV6.digest}`] });
  api.setNode({ ...runtime, name: 'node-arm', arch: 'arm', labels: labels('node-arm', 'arm', { pool: 'edge', 'pullguard.io/variant': 'v7' }) });
  api.setNode({ ...runtime, name: 'node-s390x', arch: 's390x', labels: labels('node-s390x', 's390x', { pool: 'mainframe' }), unschedulable: true });
  pg = startPullguard(api, writeRegistryConfig(work.dir, [reg, legacy]));
});

t.teardown(async () => {
  await pg?.close();
  await api?.stop();
  await Promise.allSettled([reg?.stop(), legacy?.stop()]);
  work.remove();
});

const deployment = (image: string, spec: Record<string, unknown> = {}) => reviewOf('Deployment', { containers: containers(image), ...spec });
const affinity = (...terms: { key: string; operator: string; values?: string[] }[][]) => ({
  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms.map((matchExpressions) => ({ matchExpressions })) } } },
});

t.test('an OCI index with attestations offers only its image platforms; a nodeSelector to arm/v7 nodes is a mismatch', async (t) => {
  const any = await pg.post(deployment(img('multi/oci:1.0')));
  t.equal(any.response.allowed, true, 'amd64 and arm64 nodes can run it');
  const out = await pg.post(deployment(img('multi/oci:1.0'), { nodeSelector: { pool: 'edge' } }));
  t.equal(out.response.allowed, false);
  const msg = out.response.status?.message ?? '';
  t.match(msg, `image "${img('multi/oci:1.0')}": PlatformMismatch: the image offers linux/amd64, linux/arm64, but the nodes this pod may land on run linux/arm/v7.`);
  t.match(msg, 'Fix: build the image for linux/arm/v7 (multi-arch), or pin the pod to nodes it can run on with a nodeSelector such as kubernetes.io/arch: amd64.');
  t.notMatch(msg, 'unknown', 'attestation entries (unknown/unknown) are not platforms');

  const attested = await pg.post(deployment(img('attested/amd64:1.0'), { nodeSelector: { 'kubernetes.io/arch': 'arm64' } }));
  t.equal(attested.response.allowed, false, 'an index of one platform plus its attestation');
  t.match(attested.response.status?.message, 'the image offers linux/amd64, but the nodes this pod may land on run linux/arm64.');
});

t.test('a Docker manifest list is read the same way; arm64 nodes may take arm/v7 entries, arm/v7 nodes do not run arm64', async (t) => {
  const arm64 = await pg.post(deployment(img('multi/docker:1.0'), { nodeSelector: { pool: 'graviton' } }));
  t.equal(arm64.response.allowed, true, 'containerd on arm64 may accept arm/v7');
  // containerd 2.1's default transfer-service pull takes only arm64 entries; with use_local_image_pull it takes arm/v7.
  t.match(arm64.response.warnings?.[0], 'PlatformFallbackUncertain (not denied)', 'containerd 2.1: depends on a setting the Node does not report');
  const edge = await pg.post(deployment(img('multi/docker:1.0'), { nodeSelector: { pool: 'edge' } }));
  t.equal(edge.response.allowed, true, 'an arm/v7 entry for the arm/v7 node');
  const arm = await pg.post(deployment(img('single/arm64:1.0'), { nodeSelector: { pool: 'edge' } }));
  t.equal(arm.response.allowed, false);
  t.match(arm.response.status?.message, 'offers linux/arm64, but the nodes this pod may land on run linux/arm/v7.');
});

t.test('a single-platform manifest is judged by its config blob\'s os/architecture/variant', async (t) => {
  const onAmd = await pg.post(deployment(img('single/arm64:1.0'), { nodeSelector: { pool: 'general' } }));
  t.equal(onAmd.response.allowed, false, 'Docker v2 manifest, arm64 config');
  t.match(onAmd.response.status?.message, 'the image offers linux/arm64, but the nodes this pod may land on run linux/amd64.');
  t.match(onAmd.response.status?.message, 'with a nodeSelector such as kubernetes.io/arch: arm64');
  const v6 = await pg.post(deployment(img('single/armv6:1.0'), { nodeSelector: { pool: 'edge' } }));
  t.equal(v6.response.allowed, true, 'an arm/v7 node runs arm/v6');
  const v6onAmd = await pg.post(deployment(img('single/armv6:1.0'), { nodeSelector: { pool: 'general' } }));
  t.equal(v6onAmd.response.allowed, false);
  t.match(v6onAmd.response.status?.message, 'offers linux/arm/v6');
});

t.test('required node affinity narrows the nodes: In, NotIn, and terms ORed', async (t) => {
  const amd = img('single/amd64:1.0');
  const notAmd = 'the image offers linux/amd64, but the nodes this pod may land on run linux/arm64, linux/arm/v7.';
  const inArm = await pg.post(deployment(amd, affinity([{ key: 'kubernetes.io/arch', operator: 'In', values: ['arm64', 'arm'] }])));
  t.equal(inArm.response.allowed, false, 'In [arm64, arm]');
  t.match(inArm.response.status?.message, notAmd);
  t.match(inArm.response.status?.message, 'Fix: build the image for linux/arm64, linux/arm/v7 (multi-arch)');
  const notIn = await pg.post(deployment(amd, affinity([{ key: 'kubernetes.io/arch', operator: 'NotIn', values: ['amd64'] }])));
  t.equal(notIn.response.allowed, false, 'NotIn [amd64] (the cordoned s390x node does not count)');
  t.match(notIn.response.status?.message, notAmd);
  const inAmd = await pg.post(deployment(amd, affinity([{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm64'] }])));
  t.equal(inAmd.response.allowed, true, 'In [amd64, arm64]');
  const ored = await pg.post(deployment(amd, affinity([{ key: 'pool', operator: 'In', values: ['edge'] }], [{ key: 'pool', operator: 'In', values: ['general'] }])));
  t.equal(ored.response.allowed, true, 'either term may match');
  const both = await pg.post(deployment(amd, { nodeSelector: { pool: 'general' }, ...affinity([{ key: 'kubernetes.io/arch', operator: 'NotIn', values: ['amd64'] }]) }));
  t.equal(both.response.allowed, true, 'nodeSelector and affinity leave no node: the pod stays Pending, not a pull problem');
  const named = await pg.post(reviewOf('Pod', { containers: containers(img('multi/oci:1.0')), nodeName: 'node-arm' }));
  t.equal(named.response.allowed, false, 'nodeName pins the node');
  t.match(named.response.status?.message, 'run linux/arm/v7.');
});

t.test('a cordoned node counts only for pods that tolerate it, such as a DaemonSet\'s', async (t) => {
  const amd = img('single/amd64:1.0');
  const dep = await pg.post(deployment(amd, { nodeSelector: { pool: 'mainframe' } }));
  t.equal(dep.response.allowed, true, 'no schedulable node: any platform');
  const ds = await pg.post(reviewOf('DaemonSet', { containers: containers(amd), nodeSelector: { pool: 'mainframe' } }));
  t.equal(ds.response.allowed, false);
  t.match(ds.response.status?.message, 'run linux/s390x.');
});

t.test('a schema 1 image is denied as UnsupportedManifest, with the fix', async (t) => {
  const out = await pg.post(reviewOf('Pod', { containers: containers(`${legacy.host}/old/app:1.0`) }));
  t.equal(out.response.allowed, false);
  t.match(out.response.status?.message, `image "${legacy.host}/old/app:1.0": UnsupportedManifest: the manifest is of an unsupported type (application/vnd.docker.distribution.manifest.v1+prettyjws).`);
  t.match(out.response.status?.message, 'Fix: rebuild and push the image with a current builder (Docker schema 2 or OCI); containerd 2.x no longer pulls schema 1 images.');
});

t.test('imagePullPolicy Never only warns, and says whether an eligible node reports the image', async (t) => {
  const never = (image: string, spec: Record<string, unknown> = {}) => reviewOf('Deployment', { containers: [{ name: 'app', image, imagePullPolicy: 'Never' }], ...spec });
  const on = await pg.post(never(img('preloaded/app:1.0')));
  t.equal(on.response.allowed, true);
  // Warnings name the container, the image, the reason and the first fix (src/verdict/warnings.ts).
  t.same(on.response.warnings, [`container app: ${img('preloaded/app:1.0')}: NeverPull (not denied): pre-load it on every node or use IfNotPresent`]);
  t.match(on.response.auditAnnotations?.['image-0'], `NeverPull: imagePullPolicy is Never, so the kubelet will not pull it; 1 of 3 eligible nodes report it (node-amd64).`);

  const edge = await pg.post(never(img('preloaded/app:1.0'), { nodeSelector: { pool: 'edge' } }));
  t.equal(edge.response.allowed, true, 'never a deny');
  t.same(edge.response.warnings, [`container app: ${img('preloaded/app:1.0')}: NeverPull (not denied): pre-load it on every node or use IfNotPresent`]);
  t.match(edge.response.auditAnnotations?.['image-0'], 'none of the 1 eligible nodes reports it (ErrImageNeverPull likely).');
  t.match(edge.response.auditAnnotations?.['image-0'], 'Fix: pre-load the image on every eligible node, or set imagePullPolicy: IfNotPresent.');

  const hub = await pg.post(never('busybox:1.36'));
  t.match(hub.response.auditAnnotations?.['image-0'], '1 of 3 eligible nodes report it (node-amd64)', 'a short Docker Hub name matches the node\'s normalised name');
  const digest = await pg.post(never(`${reg.host}/single/armv6@${armV6.digest}`));
  t.match(digest.response.auditAnnotations?.['image-0'], '1 of 3 eligible nodes report it (node-arm64)', 'by digest');

  const missing = await pg.post(never(img('never/pushed:1.0')));
  t.equal(missing.response.allowed, true, 'the registry is not asked: the kubelet never pulls');
  t.notMatch(missing.response.auditAnnotations?.['image-0'], 'RepositoryNotFound');
});

t.test('an empty pull policy is defaulted and pulls: a missing tag is denied, not treated as Never', async (t) => {
  for (const image of [img('single/amd64:nope'), img('single/amd64')]) {
    const out = await pg.post(reviewOf('Pod', { containers: [{ name: 'app', image }] }));
    t.equal(out.response.allowed, false, image);
    t.match(out.response.status?.message, 'TagNotFound');
  }
});

t.test('a missing image that an eligible node has cached is not a certain failure under IfNotPresent', async (t) => {
  const spec = (policy: string, extra: Record<string, unknown> = {}) => reviewOf('Deployment', { containers: [{ name: 'app', image: img('preloaded/app:1.0'), imagePullPolicy: policy }], ...extra });
  const cached = await pg.post(spec('IfNotPresent'));
  t.equal(cached.response.allowed, true, 'the pod may start on the node that has it');
  t.same(cached.response.warnings, [`container app: ${img('preloaded/app:1.0')}: CachedOnNodes (not denied): push it again so every node can pull it`]);
  t.match(cached.response.auditAnnotations?.['image-0'], /the registry answer was RepositoryNotFound .*, but 1 of 3 eligible nodes have the image cached \(node-amd64\); pods scheduled elsewhere will fail to pull/);
  const always = await pg.post(spec('Always'));
  t.equal(always.response.allowed, false, 'Always pulls: the cache does not help');
  t.match(always.response.status?.message, 'RepositoryNotFound');
  const elsewhere = await pg.post(spec('IfNotPresent', { nodeSelector: { pool: 'graviton' } }));
  t.equal(elsewhere.response.allowed, false, 'no eligible node has it');
});
