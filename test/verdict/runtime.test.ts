// What the nodes' runtime and kubelet versions decide: schema 1 support, and whether a cached image still rescues a
// pod whose credentials fail (KEP-2535).
import t from 'tap';
import type { NodeInfo } from '../../src/cluster/types.ts';
import { cachedImageRescues, decideSchema1, mayVerifyCachedCredentials, parseKubeletVersion, parseRuntimeVersion, schema1Support, verifiesCachedImageCredentials } from '../../src/verdict/runtime.ts';

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
