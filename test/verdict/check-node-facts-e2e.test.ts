// Issue 12 end to end through the webhook: node facts from the fake API server's real Node JSON (taints, the
// Windows build label, containerd and kubelet versions) decide verdicts against real images in a real registry.
import t from 'tap';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { pushImage } from '../harness/push.ts';
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
  reg = await startRegistry({ auth: 'none', schema1: true });
  await Promise.all([
    pushImage(reg, { repository: 'only/arm64', tag: '1.0', index: true, platforms: [{ os: 'linux', architecture: 'arm64' }] }),
    pushImage(reg, { repository: 'single/arm64', tag: '1.0', platforms: [{ os: 'linux', architecture: 'arm64' }] }),
    pushImage(reg, { repository: 'win/ltsc2022', tag: '1.0', platforms: [{ os: 'windows', architecture: 'amd64', osVersion: '10.0.20348.2700' }, { os: 'linux', architecture: 'amd64' }] }),
    pushImage(reg, { repository: 'old/app', tag: '1.0', schema1: true, platforms: [{ os: 'linux', architecture: 'amd64' }] }),
  ]);
  api = await startFakeApiServer();
  api.setNamespace('demo', {});
  api.setServiceAccount('demo', 'default', []);
  api.setNode({ name: 'amd', labels: linux('amd', 'amd64', 'general'), containerRuntimeVersion: 'containerd://2.1.4', kubeletVersion: 'v1.35.0' });
  // GKE taints its Arm nodes so that pods land there only when they say they can.
  api.setNode({ name: 'arm', arch: 'arm64', labels: linux('arm', 'arm64', 'general'), taints: [{ key: 'kubernetes.io/arch', value: 'arm64', effect: 'NoSchedule' }], containerRuntimeVersion: 'containerd://2.1.4' });
  api.setNode({
    name: 'win2019',
    os: 'windows',
    labels: { 'kubernetes.io/os': 'windows', 'kubernetes.io/arch': 'amd64', 'node.kubernetes.io/windows-build': '10.0.17763', pool: 'windows' },
    containerRuntimeVersion: 'containerd://1.7.22',
  });
  api.setNode({ name: 'legacy', labels: linux('legacy', 'amd64', 'legacy'), containerRuntimeVersion: 'containerd://1.7.22' });
  pg = startPullguard(api, writeRegistryConfig(work.dir, [reg]));
});

t.teardown(async () => {
  await pg?.close();
  await api?.stop();
  await reg?.stop();
  work.remove();
});

const deployment = (image: string, spec: Record<string, unknown> = {}) => reviewOf('Deployment', { containers: containers(image), ...spec });
// Taints count against a Pod only: a template's tolerations are not final (mutating admission adds more to its Pods).
const pod = (image: string, spec: Record<string, unknown> = {}) => reviewOf('Pod', { containers: containers(image), ...spec });
const general = { nodeSelector: { pool: 'general' } };
const tolerateArm = { tolerations: [{ key: 'kubernetes.io/arch', operator: 'Equal', value: 'arm64', effect: 'NoSchedule' }] };

t.test('a pod that does not tolerate the arm64 taint lands on amd64 only, so an arm64-only index is denied', async (t) => {
  const out = await pg.post(pod(img('only/arm64:1.0'), general));
  t.equal(out.response.allowed, false);
  t.match(out.response.status?.message, 'PlatformMismatch: the image offers linux/arm64, but the nodes this pod may land on run linux/amd64.');
  const tolerating = await pg.post(pod(img('only/arm64:1.0'), { ...general, ...tolerateArm }));
  t.equal(tolerating.response.allowed, true, 'with the toleration the arm64 node is eligible');
});

t.test('a template is not judged by its own tolerations: its Pods may get the arm64 one from mutating admission', async (t) => {
  const out = await pg.post(deployment(img('only/arm64:1.0'), general));
  t.equal(out.response.allowed, true, 'GKE adds the arm64 toleration to the Pods; the arm64 node stays eligible');
});

t.test('an index-less arm64 image on amd64 nodes pulls but cannot start: ExecFormatError', async (t) => {
  const out = await pg.post(pod(img('single/arm64:1.0'), general));
  t.equal(out.response.allowed, false);
  t.match(out.response.status?.message, `image "${img('single/arm64:1.0')}": ExecFormatError: the image offers linux/arm64, but the nodes this pod may land on run linux/amd64.`);
  t.match(out.response.status?.message, 'exec format error');
  const emulating = startPullguard(api, writeRegistryConfig(work.dir, [reg]), (c) => {
    c.platforms.execFormatError = 'warn';
  });
  t.teardown(() => emulating.close());
  const warned = await emulating.post(pod(img('single/arm64:1.0'), general));
  t.equal(warned.response.allowed, true, 'platforms.execFormatError: warn admits');
  t.match(warned.response.warnings?.[0], `container c0: ${img('single/arm64:1.0')}: ExecFormatError (not denied): pulls, then exec format error; nodes run linux/amd64, single-platform image is linux/arm64`);
});

t.test('a Windows image is matched against node.kubernetes.io/windows-build', async (t) => {
  const out = await pg.post(deployment(img('win/ltsc2022:1.0'), { nodeSelector: { pool: 'windows' } }));
  t.equal(out.response.allowed, false, 'an ltsc2019 host does not run ltsc2022 images');
  t.match(out.response.status?.message, 'PlatformMismatch');
  api.setNode({
    name: 'win2025',
    os: 'windows',
    labels: { 'kubernetes.io/os': 'windows', 'kubernetes.io/arch': 'amd64', 'node.kubernetes.io/windows-build': '10.0.26100', pool: 'windows' },
  });
  // The inventory follows the watch; an ltsc2025 host runs ltsc2022 images.
  let allowed = false;
  for (let i = 0; i < 100 && !allowed; i++) {
    allowed = (await pg.post(deployment(img('win/ltsc2022:1.0'), { nodeSelector: { pool: 'windows' } }))).response.allowed;
    if (!allowed) await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(allowed, true, 'with an ltsc2025 node in the pool');
});

t.test('schema 1 is decided by the eligible nodes\' containerd versions', async (t) => {
  const refused = await pg.post(deployment(img('old/app:1.0'), general));
  t.equal(refused.response.allowed, false, 'every eligible node runs containerd 2.1');
  t.match(refused.response.status?.message, 'UnsupportedManifest');
  const converted = await pg.post(deployment(img('old/app:1.0'), { nodeSelector: { pool: 'legacy' } }));
  t.equal(converted.response.allowed, true, 'containerd 1.7 converts schema 1');
  t.same(converted.response.warnings, [`container c0: ${img('old/app:1.0')}: Schema1Deprecated (not denied): rebuild with a current builder`]);
  t.match(converted.response.auditAnnotations?.['image-0'], 'Eligible nodes run containerd://1.7.22');
});
