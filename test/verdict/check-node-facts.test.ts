// What the checker makes of the registry's answer once the nodes are known: an index-less image of another platform
// pulls and then cannot start (ExecFormatError, or a warning on emulating clusters); an image volume is not run;
// schema 1 depends on the nodes' runtimes; KEP-2535 kubelets do not let a cached image rescue failing credentials;
// and without nodes, the pod's own arch/os constraints choose the platforms to check.
import t from 'tap';
import type { ClusterReader, NodeInfo } from '../../src/cluster/types.ts';
import type { Reference } from '../../src/reference/reference.ts';
import type { ResolveOptions } from '../../src/registry/index.ts';
import { resolution, type Resolution } from '../../src/registry/resolution.ts';
import { type CheckerOptions, type PodPullSpec } from '../../src/verdict/check.ts';
import { stubChecker } from './stub-checker.ts';
import { explain } from '../../src/verdict/explain.ts';
import type { ImageTarget } from '../../src/verdict/finding.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

function stubRegistry(answer: (ref: Reference, opts: ResolveOptions) => Resolution) {
  const calls: ResolveOptions[] = [];
  return {
    calls,
    resolve(ref: Reference, opts: ResolveOptions): Promise<Resolution> {
      calls.push(opts);
      return Promise.resolve(answer(ref, opts));
    },
  };
}

function cluster(nodes: NodeInfo[], connected = true): ClusterReader {
  const notFound = { found: false, reason: 'NotFound', message: 'not found' } as const;
  return {
    connected,
    getSecret: () => Promise.resolve(notFound),
    getServiceAccountPullSecrets: () => Promise.resolve(notFound),
    listNodes: () => Promise.resolve(nodes),
    getNamespaceLabels: () => Promise.resolve(notFound),
    close: () => Promise.resolve(),
  };
}

function node(name: string, architecture: string, extra: Partial<NodeInfo> = {}): NodeInfo {
  return { name, labels: { 'kubernetes.io/arch': architecture, 'kubernetes.io/os': 'linux' }, platform: { os: 'linux', architecture }, images: [], ...extra };
}

const checker = stubChecker;

const spec = (over: Partial<PodPullSpec> = {}): PodPullSpec => ({ namespace: 'demo', isTemplate: false, serviceAccountName: 'default', imagePullSecrets: [], nodeSelector: {}, ...over });
const target = (image: string, field: ImageTarget['field'] = 'containers'): ImageTarget => ({
  containerName: 'app',
  field,
  image,
  fieldPath: field === 'volumes' ? 'spec.volumes[0].image.reference' : 'spec.containers[0].image',
  pullPolicy: 'IfNotPresent',
  pullPolicyDefaulted: false,
});
const soon = (): number => Date.now() + 8000;
const arm64Only = (mediaType: string) => (ref: Reference): Resolution =>
  resolution('PlatformMismatch', ref.canonical, { reference: ref.canonical, mediaType, digest: `sha256:${'c'.repeat(64)}`, platforms: [{ os: 'linux', architecture: 'arm64' }] });

t.test('an index-less image of another platform than every eligible node pulls but cannot start: ExecFormatError', async (t) => {
  const nodes = [node('a', 'amd64'), node('b', 'amd64')];
  const { findings } = await checker(stubRegistry(arm64Only(OCI_MANIFEST)), cluster(nodes)).check(spec(), [target('example.com/app:1')], soon());
  const f = findings[0];
  t.equal(f?.resolution.reason, 'ExecFormatError');
  t.equal(f?.resolution.verdict, 'deny');
  const text = f ? explain(f) : '';
  t.match(text, 'the image offers linux/arm64, but the nodes this pod may land on run linux/amd64');
  t.match(text, 'the pull succeeds there and then the container cannot start (exec format error, CrashLoopBackOff)');
  t.match(text, 'Fix: build the image for linux/amd64 (multi-arch), e.g. docker buildx build --platform linux/amd64,linux/arm64, or pin the pod to nodes it can run on with a nodeSelector such as kubernetes.io/arch: arm64.');

  const index = await checker(stubRegistry(arm64Only(OCI_INDEX)), cluster(nodes)).check(spec(), [target('example.com/app:1')], soon());
  t.equal(index.findings[0]?.resolution.reason, 'PlatformMismatch', 'an index without the platform fails the pull itself');
});

t.test('an index-less image run by a RuntimeClass handler (a Wasm image, or runtimeClassName set) is unknown, not ExecFormatError denied', async (t) => {
  const nodes = [node('a', 'amd64')];
  const wasm = (ref: Reference): Resolution =>
    resolution('PlatformMismatch', ref.canonical, { reference: ref.canonical, mediaType: OCI_MANIFEST, digest: `sha256:${'e'.repeat(64)}`, platforms: [{ os: 'wasip1', architecture: 'wasm' }] });
  const w = (await checker(stubRegistry(wasm), cluster(nodes)).check(spec(), [target('example.com/spin:1')], soon())).findings[0]?.resolution;
  t.equal(w?.reason, 'ExecFormatError');
  t.equal(w?.verdict, 'unknown', 'a Wasm image for a runwasi/Spin shim');
  t.match(w?.detail, 'the image is for wasip1');
  const rc = (await checker(stubRegistry(arm64Only(OCI_MANIFEST)), cluster(nodes)).check(spec({ runtimeClassName: 'kata' }), [target('example.com/app:1')], soon())).findings[0]?.resolution;
  t.equal(rc?.reason, 'ExecFormatError');
  t.equal(rc?.verdict, 'unknown', 'the pod sets runtimeClassName');
  t.match(rc?.detail, 'runtimeClassName kata');
  const plain = (await checker(stubRegistry(arm64Only(OCI_MANIFEST)), cluster(nodes)).check(spec(), [target('example.com/app:1')], soon())).findings[0]?.resolution;
  t.equal(plain?.verdict, 'deny', 'a linux image without a RuntimeClass still cannot start');
});

t.test('clusters that emulate other architectures set execFormatError: warn, and are admitted with a warning', async (t) => {
  const { findings } = await checker(stubRegistry(arm64Only(OCI_MANIFEST)), cluster([node('a', 'amd64')]), { execFormatError: 'warn' }).check(spec(), [target('example.com/app:1')], soon());
  t.equal(findings[0]?.resolution.reason, 'ExecFormatError');
  t.equal(findings[0]?.resolution.verdict, 'unknown');
});

t.test('an image volume is mounted, not run: no platform check, and an OCI artifact is fine', async (t) => {
  const nodes = [node('a', 'amd64')];
  const wrong = await checker(stubRegistry(arm64Only(OCI_MANIFEST)), cluster(nodes)).check(spec(), [target('example.com/data:1', 'volumes')], soon());
  t.equal(wrong.findings[0]?.resolution.reason, 'Resolved');
  t.match(wrong.findings[0]?.resolution.detail, 'an image volume is mounted, not run');
  const artifact = (ref: Reference) => resolution('UnsupportedManifest', ref.canonical, { reference: ref.canonical, mediaType: OCI_MANIFEST, detail: 'not a container image: its config media type is "application/vnd.cncf.helm.config.v1+json"' });
  const art = await checker(stubRegistry(artifact), cluster(nodes)).check(spec(), [target('example.com/chart:1', 'volumes'), target('example.com/chart:1')], soon());
  t.equal(art.findings[0]?.resolution.reason, 'Resolved', 'an artifact in an image volume');
  t.match(art.findings[0]?.resolution.detail, 'an OCI artifact');
  t.equal(art.findings[1]?.resolution.reason, 'UnsupportedManifest', 'the same artifact as a container image is not runnable');
  const index = await checker(stubRegistry(arm64Only(OCI_INDEX)), cluster(nodes)).check(spec(), [target('example.com/data:1', 'volumes')], soon());
  t.equal(index.findings[0]?.resolution.reason, 'PlatformMismatch', 'an index without the platform still fails the pull of a volume');
});

t.test('schema 1 is denied only when every eligible node refuses it', async (t) => {
  const schema1 = (ref: Reference) => resolution('UnsupportedManifest', ref.canonical, { reference: ref.canonical, mediaType: SCHEMA1, digest: `sha256:${'d'.repeat(64)}` });
  const run = async (nodes: NodeInfo[], connected = true) => (await checker(stubRegistry(schema1), cluster(nodes, connected)).check(spec(), [target('example.com/old:1')], soon())).findings[0]?.resolution;
  const refusing = await run([node('a', 'amd64', { containerRuntimeVersion: 'containerd://2.1.4' }), node('b', 'amd64', { containerRuntimeVersion: 'containerd://2.2.1' })]);
  t.equal(refusing?.reason, 'UnsupportedManifest');
  t.equal(refusing?.verdict, 'deny');
  t.match(refusing?.detail, 'every eligible node runs a runtime that refuses schema 1 (containerd://2.1.4, containerd://2.2.1)');
  const twoZero = await run([node('a', 'amd64', { containerRuntimeVersion: 'containerd://2.1.4' }), node('b', 'amd64', { containerRuntimeVersion: 'containerd://2.0.5' })]);
  t.equal(twoZero?.reason, 'Schema1Deprecated', 'containerd 2.0 pulls schema 1 with CONTAINERD_ENABLE_DEPRECATED_PULL_SCHEMA_1_IMAGE=1, which pullguard cannot see');
  t.equal(twoZero?.verdict, 'unknown');
  const cached = await run([node('a', 'amd64', { containerRuntimeVersion: 'containerd://2.1.4', images: ['example.com/old:1'] }), node('b', 'amd64', { containerRuntimeVersion: 'containerd://2.1.4' })]);
  t.equal(cached?.reason, 'CachedOnNodes', 'a cached copy starts the pod without a pull');
  t.equal(cached?.verdict, 'unknown');
  t.match(cached?.detail, 'the registry answer was UnsupportedManifest');
  const always = (await checker(stubRegistry(schema1), cluster([node('a', 'amd64', { containerRuntimeVersion: 'containerd://2.1.4', images: ['example.com/old:1'] })])).check(spec(), [{ ...target('example.com/old:1'), pullPolicy: 'Always' }], soon())).findings[0]?.resolution;
  t.equal(always?.reason, 'UnsupportedManifest', 'pullPolicy Always pulls anyway');
  const mixed = await run([node('a', 'amd64', { containerRuntimeVersion: 'containerd://2.1.4' }), node('b', 'amd64', { containerRuntimeVersion: 'containerd://1.7.22' })]);
  t.equal(mixed?.reason, 'Schema1Deprecated');
  t.equal(mixed?.verdict, 'unknown', 'admitted, with a deprecation warning');
  t.match(mixed?.detail, 'Eligible nodes run containerd://2.1.4, containerd://1.7.22');
  const tainted = await run([
    node('a', 'amd64', { containerRuntimeVersion: 'containerd://2.1.4' }),
    node('b', 'amd64', { containerRuntimeVersion: 'containerd://1.7.22', taints: [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }] }),
  ]);
  t.equal(tainted?.reason, 'UnsupportedManifest', 'the only node that converts it is tainted against the pod');
  const none = await run([], false);
  t.equal(none?.reason, 'Schema1Deprecated', 'no inventory: unknown');
  t.match(none?.detail, 'Without the nodes\' runtime versions pullguard cannot tell');
});

t.test('KEP-2535: a cached image may still rescue failing credentials on 1.35+ kubelets (preloaded images are not verified), and does on older ones', async (t) => {
  const auth = (ref: Reference) => resolution('AuthRequired', ref.canonical, { reference: ref.canonical });
  const image = 'example.com/private/app:1';
  const run = async (nodes: NodeInfo[]) => (await checker(stubRegistry(auth), cluster(nodes)).check(spec(), [target(image)], soon())).findings[0]?.resolution;
  const newer = await run([node('a', 'amd64', { kubeletVersion: 'v1.35.0', images: [image] }), node('b', 'amd64')]);
  t.equal(newer?.reason, 'CachedOnNodes', 'NeverVerifyPreloadedImages: a preloaded image is used without verifying the pod\'s credentials');
  t.equal(newer?.verdict, 'unknown');
  t.match(newer?.detail, 'may verify the pod\'s credentials before using an image it pulled itself');
  const older = await run([node('a', 'amd64', { kubeletVersion: 'v1.34.2', images: [image] }), node('b', 'amd64', { kubeletVersion: 'v1.35.0', images: [image] })]);
  t.equal(older?.reason, 'CachedOnNodes');
  t.match(older?.detail, '2 of 2 eligible nodes have the image cached (a, b)', 'the 1.35 node too');
  t.match(older?.detail, 'the kubelet on b (1.35+, KEP-2535)');
  const missing = (ref: Reference) => resolution('TagNotFound', ref.canonical, { reference: ref.canonical });
  const gone = await checker(stubRegistry(missing), cluster([node('a', 'amd64', { kubeletVersion: 'v1.35.0', images: [image] })])).check(spec(), [target(image)], soon());
  t.equal(gone.findings[0]?.resolution.reason, 'CachedOnNodes', 'a deleted tag: the cached copy may still start it');
});

t.test('without a node inventory the pod\'s arch/os constraints choose the platforms, intersected with the configured ones', async (t) => {
  const resolved = (ref: Reference) => resolution('Resolved', ref.canonical, { reference: ref.canonical });
  const rows: [string, Partial<CheckerOptions>, Partial<PodPullSpec>, string[], string][] = [
    ['pinned to arm64, nothing configured', {}, { nodeSelector: { 'kubernetes.io/arch': 'arm64', 'kubernetes.io/os': 'linux' } }, ['linux/arm64'], 'config'],
    ['pinned to arm64, configured amd64 and arm64', { fallbackPlatforms: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }] }, { nodeSelector: { 'kubernetes.io/arch': 'arm64' } }, ['linux/arm64'], 'config'],
    ['pinned to a platform none of the configured ones is', { fallbackPlatforms: [{ os: 'linux', architecture: 'amd64' }] }, { nodeSelector: { 'kubernetes.io/arch': 'arm64' } }, [], 'any'],
    ['not pinned', { fallbackPlatforms: [{ os: 'linux', architecture: 'amd64' }] }, {}, ['linux/amd64'], 'config'],
  ];
  for (const [why, opts, s, want, source] of rows) {
    const registry = stubRegistry(resolved);
    const { findings } = await checker(registry, cluster([], false), opts).check(spec(s), [target('example.com/app:1')], soon());
    t.same(registry.calls[0]?.platforms.map((p) => `${p.os}/${p.architecture}`), want, why);
    t.equal(findings[0]?.platformSource, source, `${why}: source`);
  }
});

t.test('an index some eligible nodes\' runtime takes is admitted, and the detail names the CRI-O nodes that take nothing', async (t) => {
  const i386Only = (ref: Reference): Resolution =>
    resolution('Resolved', ref.canonical, { reference: ref.canonical, mediaType: OCI_INDEX, digest: `sha256:${'d'.repeat(64)}`, platforms: [{ os: 'linux', architecture: '386' }], matchedPlatform: { os: 'linux', architecture: '386' } });
  const mixed = [node('crio', 'amd64', { containerRuntimeVersion: 'cri-o://1.31.1' }), node('c17', 'amd64', { containerRuntimeVersion: 'containerd://1.7.22' })];
  const r = (await checker(stubRegistry(i386Only), cluster(mixed)).check(spec(), [target('example.com/legacy:1')], soon())).findings[0]?.resolution;
  t.equal(r?.reason, 'Resolved', 'the pod may land on the containerd 1.7 node, which takes 386');
  t.equal(r?.verdict, 'allow');
  t.match(r?.detail, 'no entry that nodes running cri-o://1.31.1 on linux/amd64 take (CRI-O takes no 386 on amd64, no 32-bit arm on arm64; the pod may be scheduled there)');
  const alone = (await checker(stubRegistry(i386Only), cluster([mixed[1]!])).check(spec(), [target('example.com/legacy:1')], soon())).findings[0]?.resolution;
  t.equal(alone?.detail, undefined, 'nothing to say when every eligible node takes it');
});
