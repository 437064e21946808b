// What the nodes' runtime and kubelet versions decide: schema 1 support, and whether a cached image still rescues a
// pod whose credentials fail (KEP-2535).
import t from 'tap';
import type { NodeInfo } from '../../src/cluster/types.ts';
import { cachedImageRescues, decideIndexPlatform, decideSchema1, indexMatchers, mayVerifyCachedCredentials, parseKubeletVersion, parseRuntimeVersion, schema1Support, verifiesCachedImageCredentials } from '../../src/verdict/runtime.ts';
import type { Platform } from '../../src/reference/platform.ts';

const node = (name: string, runtime?: string, kubelet?: string): NodeInfo => ({
  name,
  labels: {},
  platform: { os: 'linux', architecture: 'amd64' },
  images: [],
  ...(runtime ? { containerRuntimeVersion: runtime } : {}),
  ...(kubelet ? { kubeletVersion: kubelet } : {}),
});

t.test('runtime versions as nodes report them', async (t) => {
  t.same(parseRuntimeVersion('containerd://1.7.22'), { name: 'containerd', major: 1, minor: 7, patch: 22 });
  t.same(parseRuntimeVersion('containerd://2.1.0-rc.1+unknown'), { name: 'containerd', major: 2, minor: 1, patch: 0 });
  t.same(parseRuntimeVersion('cri-o://1.31.1'), { name: 'cri-o', major: 1, minor: 31, patch: 1 });
  t.same(parseRuntimeVersion('docker://v24.0'), { name: 'docker', major: 24, minor: 0, patch: 0 });
  for (const bad of [undefined, '', 'containerd', 'containerd://', 'containerd://latest', '://1.2.3']) t.equal(parseRuntimeVersion(bad), undefined, JSON.stringify(bad));
  t.same(parseKubeletVersion('v1.35.1-gke.1200'), [1, 35]);
  t.same(parseKubeletVersion('v1.34.0+k3s1'), [1, 34]);
  t.equal(parseKubeletVersion('v1'), undefined);
  t.equal(parseKubeletVersion(undefined), undefined);
});

t.test('schema 1 support by runtime and version', async (t) => {
  const rows: [string, string][] = [
    ['containerd://1.6.33', 'converts'],
    ['containerd://1.7.27', 'converts'],
    ['containerd://2.0.5', 'unknown'],
    ['containerd://2.1.4', 'refuses'],
    ['containerd://3.0.0', 'refuses'],
    ['cri-o://1.31.1', 'converts'],
    ['docker://27.3.1', 'unknown'],
    ['garbage', 'unknown'],
  ];
  for (const [runtime, want] of rows) t.equal(schema1Support(parseRuntimeVersion(runtime)), want, runtime);
});

t.test('schema 1 is denied only when every eligible node refuses it', async (t) => {
  t.same(decideSchema1([node('a', 'containerd://2.1.4'), node('b', 'containerd://2.2.0')]), { verdict: 'deny', runtimes: ['containerd://2.1.4', 'containerd://2.2.0'] });
  t.same(decideSchema1([node('a', 'containerd://2.1.4'), node('b', 'containerd://2.0.5')]), { verdict: 'deprecated', runtimes: ['containerd://2.1.4', 'containerd://2.0.5'] }, 'containerd 2.0 pulls it with CONTAINERD_ENABLE_DEPRECATED_PULL_SCHEMA_1_IMAGE=1');
  t.same(decideSchema1([node('a', 'containerd://2.1.4'), node('b', 'containerd://1.7.22')]), { verdict: 'deprecated', runtimes: ['containerd://2.1.4', 'containerd://1.7.22'] }, 'one node still converts it');
  t.same(decideSchema1([node('a', 'containerd://2.1.4'), node('b')]), { verdict: 'deprecated', runtimes: ['containerd://2.1.4', 'unknown runtime'] }, 'a node that reports no runtime may pull it');
  t.same(decideSchema1(undefined), { verdict: 'unknown' }, 'no inventory');
  t.same(decideSchema1([]), { verdict: 'unknown' }, 'no eligible node');
});

t.test('KEP-2535: kubelets from 1.35 verify the pod\'s credentials before using a cached image', async (t) => {
  t.equal(verifiesCachedImageCredentials(node('a', undefined, 'v1.35.0')), true);
  t.equal(verifiesCachedImageCredentials(node('a', undefined, 'v1.36.2')), true);
  t.equal(verifiesCachedImageCredentials(node('a', undefined, 'v2.0.0')), true);
  t.equal(verifiesCachedImageCredentials(node('a', undefined, 'v1.34.3')), false, 'alpha (off by default) before 1.35');
  t.equal(verifiesCachedImageCredentials(node('a')), false, 'unknown version: assume the cache may be used');
  const newer = node('new', undefined, 'v1.35.0');
  const older = node('old', undefined, 'v1.33.1');
  for (const reason of ['AuthRequired', 'CredentialsRejected', 'AccessDenied', 'InvalidPullSecret']) {
    t.equal(cachedImageRescues(reason, newer), true, `${reason} on a 1.35 kubelet: a preloaded image is used unverified (NeverVerifyPreloadedImages)`);
    t.equal(mayVerifyCachedCredentials(reason, newer), true, `${reason} on a 1.35 kubelet: said in the detail`);
    t.equal(cachedImageRescues(reason, older), true, `${reason} on a 1.33 kubelet`);
    t.equal(mayVerifyCachedCredentials(reason, older), false, `${reason} on a 1.33 kubelet`);
  }
  for (const reason of ['TagNotFound', 'DigestNotFound', 'RepositoryNotFound']) t.equal(cachedImageRescues(reason, newer), true, `${reason}: the pod's credentials still match the cached record`);
});

t.test('how a node picks an index entry follows its runtime: containerd 1.x platforms.Only, 2.x either way, CRI-O its own table', async (t) => {
  t.same(indexMatchers(parseRuntimeVersion('containerd://1.7.22')), ['containerd']);
  t.same(indexMatchers(parseRuntimeVersion('containerd://1.6.33')), ['containerd']);
  t.same(indexMatchers(parseRuntimeVersion('containerd://2.0.0')), ['containerd', 'containerd-strict'], 'transfer service unless use_local_image_pull');
  t.same(indexMatchers(parseRuntimeVersion('containerd://2.2.1')), ['containerd', 'containerd-strict']);
  t.same(indexMatchers(parseRuntimeVersion('cri-o://1.31.1')), ['cri-o']);
  t.same(indexMatchers(parseRuntimeVersion('cri-o://1.20.0')), ['cri-o'], 'containers/image v5.10 (cri-o/cri-o#4531)');
  t.same(indexMatchers(parseRuntimeVersion('cri-o://2.0.0')), ['cri-o']);
  t.same(indexMatchers(parseRuntimeVersion('cri-o://1.19.6')), ['containerd', 'containerd-strict', 'cri-o'], 'containers/image before its variant matcher (2020) or after: not decided');
  t.same(indexMatchers(parseRuntimeVersion('cri-o://1.17.0')), ['containerd', 'containerd-strict', 'cri-o'], 'containers/image v5.1 (cri-o/cri-o#3050) ignored variants');
  t.same(indexMatchers(parseRuntimeVersion('docker://24.0.7')), ['containerd', 'containerd-strict', 'cri-o'], 'cri-dockerd: not decided');
  t.same(indexMatchers(undefined), ['containerd', 'containerd-strict', 'cri-o'], 'no version reported');
});

const on = (name: string, platform: Platform, runtime?: string): NodeInfo => ({ ...node(name, runtime), platform });
const amd64: Platform = { os: 'linux', architecture: 'amd64' };
const arm64: Platform = { os: 'linux', architecture: 'arm64' };
const armv7: Platform = { os: 'linux', architecture: 'arm', variant: 'v7' };
const i386: Platform = { os: 'linux', architecture: '386' };

t.test('an index with only a fallback platform: match, uncertain or mismatch by the eligible nodes\' runtimes', async (t) => {
  const cases: [string, NodeInfo[], Platform[], 'match' | 'uncertain' | 'mismatch', number?][] = [
    ['containerd 1.7 takes 386 on amd64', [on('a', amd64, 'containerd://1.7.22')], [i386], 'match'],
    ['containerd 2.1 may (use_local_image_pull) or may not (transfer service)', [on('a', amd64, 'containerd://2.1.4')], [i386], 'uncertain'],
    ['CRI-O does not', [on('a', amd64, 'cri-o://1.31.1')], [i386], 'mismatch'],
    ['a node that reports no runtime may be either', [on('a', amd64)], [i386], 'uncertain'],
    ['the exact platform is taken by every runtime', [on('a', amd64, 'cri-o://1.31.1'), on('b', amd64, 'containerd://2.1.4')], [amd64], 'match'],
    ['one node whose runtime takes it is enough', [on('a', amd64, 'cri-o://1.31.1'), on('b', amd64, 'containerd://1.7.22')], [i386], 'match'],
    ['CRI-O on arm64 takes no 32-bit arm', [on('a', arm64, 'cri-o://1.30.4')], [armv7], 'mismatch'],
    ['containerd 2.x on arm64 may take 32-bit arm', [on('a', arm64, 'containerd://2.0.5')], [armv7], 'uncertain'],
    ['CRI-O on arm/v7 takes arm/v6', [on('a', armv7, 'cri-o://1.31.1')], [{ os: 'linux', architecture: 'arm', variant: 'v6' }], 'match'],
    ['containerd 2.x on arm/v7 may take arm/v6', [on('a', armv7, 'containerd://2.1.4')], [{ os: 'linux', architecture: 'arm', variant: 'v6' }], 'uncertain'],
    ['CRI-O takes an OCI index entry without a platform when nothing matches', [on('a', amd64, 'cri-o://1.31.1')], [arm64], 'uncertain', 1],
    ['nothing any runtime takes', [on('a', amd64, 'containerd://1.7.22'), on('b', amd64, 'cri-o://1.31.1')], [arm64], 'mismatch'],
    ['a variant label on amd64 does not narrow containerd 2.x\'s transfer service (DefaultSpec has no level)', [on('a', { os: 'linux', architecture: 'amd64', variant: 'v3' }, 'containerd://2.1.4')], [amd64], 'match'],
    ['a node of unknown platform could run anything', [on('a', { os: '', architecture: '' }, 'cri-o://1.31.1')], [arm64], 'match'],
    ['a node that reports no platform at all could run anything, like eligibility.ts platformsOf', [on('a', amd64, 'cri-o://1.31.1'), { ...node('b', 'cri-o://1.31.1'), platform: undefined } as unknown as NodeInfo], [i386], 'match'],
  ];
  for (const [what, nodes, offered, verdict, platformless] of cases) t.equal(decideIndexPlatform(nodes, offered, platformless).verdict, verdict, what);
});

t.test('an uncertain decision says which runtimes, which platforms, and why', async (t) => {
  const d = decideIndexPlatform([on('a', amd64, 'containerd://2.1.4'), on('b', amd64, 'containerd://2.1.3'), on('c', arm64, 'cri-o://1.31.1')], [i386]);
  if (d.verdict !== 'uncertain') return t.fail(`expected uncertain, got ${d.verdict}`);
  t.same(d.platforms, [amd64], 'the arm64 CRI-O node takes nothing: not among the uncertain');
  t.same(d.runtimes, ['containerd://2.1.4', 'containerd://2.1.3']);
  t.match(d.reasons.join('; '), /transfer service.*use_local_image_pull/);
  const partly = decideIndexPlatform([on('a', amd64, 'cri-o://1.31.1'), on('b', arm64, 'cri-o://1.31.1'), on('c', amd64, 'containerd://1.7.22'), on('d', arm64, 'containerd://1.7.22')], [i386]);
  t.same(partly, { verdict: 'match', without: { platforms: [amd64], runtimes: ['cri-o://1.31.1'] } }, 'a match names the CRI-O nodes that take nothing where platforms.Only would; the arm64 nodes take nothing under any runtime, which the registry says');
  t.same(decideIndexPlatform([on('a', amd64, 'cri-o://1.31.1'), on('b', amd64, 'containerd://2.1.4')], [amd64]), { verdict: 'match' }, 'nothing to name when every node takes it');
  const mismatch = decideIndexPlatform([on('a', amd64, 'cri-o://1.31.1')], [i386]);
  t.same(mismatch, { verdict: 'mismatch', runtimes: ['cri-o://1.31.1'] });
});

t.test('an index decision is made once per eligible node list and index, and afresh for other nodes or another index', async (t) => {
  const nodes = [on('a', amd64, 'containerd://2.1.4'), on('b', arm64, 'cri-o://1.31.1')];
  const offered = [i386];
  const first = decideIndexPlatform(nodes, offered);
  t.equal(first.verdict, 'uncertain');
  t.equal(decideIndexPlatform(nodes, offered), first, 'the same lists: the same decision, not recomputed');
  t.same(decideIndexPlatform([...nodes], [...offered]), first, 'copies of them: an equal decision');
  t.equal(decideIndexPlatform(nodes, offered, 1).verdict, 'uncertain', 'a platformless entry is another question');
  t.same(decideIndexPlatform(nodes, offered, 1), { verdict: 'uncertain', platforms: [amd64, arm64], runtimes: ['containerd://2.1.4', 'cri-o://1.31.1'], reasons: first.verdict === 'uncertain' ? [...first.reasons, 'CRI-O takes an index entry without a platform when no entry matches (containers/image oci_index.go), whatever that entry is built for'] : [] });
  t.same(decideIndexPlatform(nodes, [amd64]), { verdict: 'match' }, 'another index: decided for it');
  t.same(decideIndexPlatform([on('a', amd64, 'containerd://1.7.22')], offered), { verdict: 'match' }, 'other nodes (a new inventory): decided for them');
});
