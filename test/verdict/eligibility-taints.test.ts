// Taints against tolerations (the scheduler's TaintToleration filter, k8s.io/api/core/v1 toleration.go), and the
// platforms a pod's own arch/os constraints allow when there is no node inventory.
import t from 'tap';
import type { NodeInfo, NodeTaint } from '../../src/cluster/types.ts';
import { eligibleNodes, platformsAllowedBySpec, platformsOf, toleratesTaint, type SchedulingSpec } from '../../src/verdict/eligibility.ts';
import { podSpecOf } from '../../src/workloads/podspec.ts';
import { formatPlatform, parsePlatform, type Platform } from '../../src/reference/platform.ts';

const node = (name: string, arch: string, taints?: NodeTaint[]): NodeInfo => ({
  name,
  labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': arch },
  platform: { os: 'linux', architecture: arch },
  images: [],
  ...(taints ? { taints } : {}),
});

const ARM_TAINT: NodeTaint = { key: 'kubernetes.io/arch', value: 'arm64', effect: 'NoSchedule' };

t.test('toleration matching, case by case', async (t) => {
  const noSchedule: NodeTaint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };
  const noExecute: NodeTaint = { key: 'dedicated', value: 'gpu', effect: 'NoExecute' };
  const bare: NodeTaint = { key: 'spot', effect: 'NoSchedule' };
  const rows: [string, unknown, NodeTaint, boolean][] = [
    ['Equal with the same key, value and effect', { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }, noSchedule, true],
    ['the operator defaults to Equal', { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }, noSchedule, true],
    ['Equal with another value', { key: 'dedicated', operator: 'Equal', value: 'cpu', effect: 'NoSchedule' }, noSchedule, false],
    ['Equal without a value against a taint without one', { key: 'spot', operator: 'Equal' }, bare, true],
    ['Equal without a value against a taint with one', { key: 'dedicated', operator: 'Equal' }, noSchedule, false],
    ['Exists ignores the value', { key: 'dedicated', operator: 'Exists' }, noSchedule, true],
    ['an empty effect matches every effect', { key: 'dedicated', operator: 'Exists' }, noExecute, true],
    ['another effect does not match', { key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }, noSchedule, false],
    ['an empty key with Exists tolerates everything', { operator: 'Exists' }, noExecute, true],
    ['an empty key with Exists and an effect tolerates that effect only', { operator: 'Exists', effect: 'NoSchedule' }, noExecute, false],
    ['another key does not match', { key: 'other', operator: 'Exists' }, noSchedule, false],
    ['an operator this version does not know counts as tolerating (never denies more)', { key: 'dedicated', operator: 'Gt', value: '1' }, noSchedule, true],
    ['not an object', 'tolerate', noSchedule, false],
  ];
  for (const [why, toleration, taint, want] of rows) t.equal(toleratesTaint(toleration, taint), want, why);
});

t.test('a GKE-style arm64 taint keeps pods without the toleration on the amd64 nodes', async (t) => {
  const nodes = [node('amd', 'amd64'), node('arm', 'arm64', [ARM_TAINT])];
  const spec = (tolerations?: unknown): SchedulingSpec => ({ nodeSelector: {}, ...(tolerations === undefined ? {} : { tolerations }) });
  t.same(eligibleNodes(spec(), nodes).map((n) => n.name), ['amd']);
  t.same(eligibleNodes(spec([{ key: 'kubernetes.io/arch', operator: 'Equal', value: 'arm64', effect: 'NoSchedule' }]), nodes).map((n) => n.name), ['amd', 'arm']);
  t.same(eligibleNodes(spec([{ operator: 'Exists' }]), nodes).map((n) => n.name), ['amd', 'arm'], 'tolerate everything');
  t.same(eligibleNodes(spec('not a list'), nodes).map((n) => n.name), ['amd'], 'malformed tolerations tolerate nothing');
});

t.test('every lasting taint must be tolerated; condition taints that come and go do not count', async (t) => {
  const nodes = [
    node('two', 'amd64', [ARM_TAINT, { key: 'team', value: 'a', effect: 'NoExecute' }]),
    node('not-ready', 'amd64', [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }, { key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule' }]),
    node('uninitialized', 'amd64', [{ key: 'node.cloudprovider.kubernetes.io/uninitialized', value: 'true', effect: 'NoSchedule' }]),
    node('scaling-down', 'amd64', [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' }]),
  ];
  const one = [{ key: 'kubernetes.io/arch', operator: 'Exists' }];
  t.same(eligibleNodes({ nodeSelector: {}, tolerations: one }, nodes).map((n) => n.name), ['not-ready', 'uninitialized', 'scaling-down'], 'one of two taints tolerated is not enough');
  t.same(eligibleNodes({ nodeSelector: {}, tolerations: [...one, { key: 'team', operator: 'Equal', value: 'a' }] }, nodes).map((n) => n.name), ['two', 'not-ready', 'uninitialized', 'scaling-down']);
});

t.test('with nodeName the scheduler is bypassed: only NoExecute taints keep the pod off', async (t) => {
  const nodes = [node('a', 'arm64', [ARM_TAINT]), node('b', 'amd64', [{ key: 'evict', effect: 'NoExecute' }])];
  t.same(eligibleNodes({ nodeName: 'a', nodeSelector: {} }, nodes).map((n) => n.name), ['a'], 'NoSchedule does not stop the kubelet');
  t.same(eligibleNodes({ nodeName: 'b', nodeSelector: {} }, nodes).map((n) => n.name), [], 'NoExecute evicts it');
  t.same(eligibleNodes({ nodeName: 'b', nodeSelector: {}, tolerations: [{ key: 'evict', operator: 'Exists', effect: 'NoExecute' }] }, nodes).map((n) => n.name), ['b']);
});

const P = (s: string): Platform => {
  const p = parsePlatform(s);
  if (!p) throw new Error(s);
  return p;
};
const terms = (...t: unknown[][]): Pick<SchedulingSpec, 'affinity'> => ({
  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: t.map((matchExpressions) => ({ matchExpressions })) } } },
});
const arch = (operator: string, ...values: string[]) => ({ key: 'kubernetes.io/arch', operator, values });
const os = (operator: string, ...values: string[]) => ({ key: 'kubernetes.io/os', operator, values });

t.test('a pod template is not judged by its own tolerations: mutating admission adds more to its Pods', async (t) => {
  // affinity arch In [amd64, arm64], no tolerations, the arm64 pool tainted (GKE): the Pods get the arm64 toleration.
  const nodes = [node('amd', 'amd64'), node('arm', 'arm64', [ARM_TAINT]), node('gpu', 'amd64', [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }])];
  const both = { nodeSelector: {}, ...terms([arch('In', 'amd64', 'arm64')]) };
  t.same(eligibleNodes({ ...both, isTemplate: true }, nodes).map((n) => n.name), ['amd', 'arm', 'gpu'], 'every taint passes for a template');
  t.same(platformsOf(eligibleNodes({ ...both, isTemplate: true }, nodes)).map(formatPlatform), ['linux/amd64', 'linux/arm64'], 'the platforms of both pools');
  t.same(eligibleNodes({ ...both, isTemplate: false }, nodes).map((n) => n.name), ['amd'], 'a Pod\'s tolerations are final');
  t.same(eligibleNodes(both, nodes).map((n) => n.name), ['amd'], 'not said to be a template: judged as a Pod');
  const noExecute = [node('b', 'amd64', [{ key: 'evict', effect: 'NoExecute' }])];
  t.same(eligibleNodes({ nodeName: 'b', nodeSelector: {}, isTemplate: true }, noExecute).map((n) => n.name), ['b'], 'with nodeName too');
  const view = podSpecOf('Deployment', { spec: { template: { spec: { containers: [{ name: 'c', image: 'x:1' }], ...both } } } });
  t.ok(view.ok);
  if (view.ok) t.same(eligibleNodes(view.view, nodes).map((n) => n.name), ['amd', 'arm', 'gpu'], 'a Deployment\'s pod spec view says it is a template');
  const podView = podSpecOf('Pod', { spec: { containers: [{ name: 'c', image: 'x:1' }], ...both } });
  t.ok(podView.ok);
  if (podView.ok) t.same(eligibleNodes(podView.view, nodes).map((n) => n.name), ['amd'], 'a Pod\'s does not');
});

t.test('without nodes, the pod\'s own arch/os constraints narrow the platforms checked', async (t) => {
  const configured = [P('linux/amd64'), P('linux/arm64'), P('windows/amd64')];
  const rows: [string, Partial<SchedulingSpec>, Platform[], string[] | undefined][] = [
    ['nodeSelector arch, nothing configured: linux and windows of that arch', { nodeSelector: { 'kubernetes.io/arch': 'arm64' } }, [], ['linux/arm64', 'windows/arm64']],
    ['nodeSelector arch and os', { nodeSelector: { 'kubernetes.io/arch': 'arm64', 'kubernetes.io/os': 'linux' } }, [], ['linux/arm64']],
    ['the beta labels count too', { nodeSelector: { 'beta.kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux' } }, [], ['linux/amd64']],
    ['nodeSelector arch intersected with the configured platforms', { nodeSelector: { 'kubernetes.io/arch': 'amd64' } }, configured, ['linux/amd64', 'windows/amd64']],
    ['affinity In', terms([arch('In', 'arm64', 's390x'), os('In', 'linux')]), [], ['linux/arm64', 'linux/s390x']],
    ['affinity NotIn narrows the configured platforms', terms([arch('NotIn', 'amd64')]), configured, ['linux/arm64']],
    ['affinity NotIn alone names nothing to check: no narrowing', terms([arch('NotIn', 'amd64')]), [], undefined],
    ['os NotIn with arch In', terms([arch('In', 'amd64'), os('NotIn', 'windows')]), [], ['linux/amd64']],
    ['terms are ORed', terms([arch('In', 'arm64'), os('In', 'linux')], [arch('In', 'amd64'), os('In', 'windows')]), [], ['linux/arm64', 'windows/amd64']],
    ['a term that does not pin the arch allows anything', terms([arch('In', 'arm64')], [{ key: 'pool', operator: 'In', values: ['x'] }]), [], undefined],
    ['nodeSelector is ANDed into every term', { nodeSelector: { 'kubernetes.io/os': 'linux' }, ...terms([arch('In', 'arm64', 'amd64')]) }, [], ['linux/arm64', 'linux/amd64']],
    ['contradicting constraints allow no configured platform', { nodeSelector: { 'kubernetes.io/arch': 'ppc64le' } }, configured, []],
    ['unrelated labels do not narrow', { nodeSelector: { pool: 'x' } }, configured, undefined],
    ['no constraints', {}, configured, undefined],
  ];
  for (const [why, spec, fallback, want] of rows) {
    const got = platformsAllowedBySpec({ nodeSelector: {}, ...spec }, fallback);
    t.same(got?.map(formatPlatform), want, why);
  }
});

t.test('in a large cluster, eligibility decided per equivalence class equals eligibility decided per node', async (t) => {
  const pools: { labels: Record<string, string>; taints?: NodeTaint[]; unschedulable?: boolean }[] = [
    { labels: { pool: 'general', 'kubernetes.io/arch': 'amd64' } },
    { labels: { pool: 'arm', 'kubernetes.io/arch': 'arm64' }, taints: [ARM_TAINT] },
    { labels: { pool: 'gpu', 'kubernetes.io/arch': 'amd64', gpu: 'true' }, taints: [{ key: 'nvidia.com/gpu', effect: 'NoSchedule' }] },
    { labels: { pool: 'general', 'kubernetes.io/arch': 'amd64' }, unschedulable: true },
  ];
  const fleet: NodeInfo[] = Array.from({ length: 400 }, (_, i) => {
    const p = pools[i % pools.length] ?? pools[0];
    return {
      name: `n${i}`,
      labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': `n${i}`, ...p?.labels },
      platform: { os: 'linux', architecture: p?.labels['kubernetes.io/arch'] ?? 'amd64' },
      images: [],
      ...(p?.taints ? { taints: p.taints } : {}),
      ...(p?.unschedulable ? { unschedulable: true } : {}),
    };
  });
  const specs: [string, SchedulingSpec][] = [
    ['no constraints', { nodeSelector: {} }],
    ['a pool', { nodeSelector: { pool: 'general' } }],
    ['tolerating arm', { nodeSelector: {}, tolerations: [{ key: 'kubernetes.io/arch', operator: 'Exists' }] }],
    ['tolerating everything, DaemonSet-like', { nodeSelector: {}, tolerations: [{ operator: 'Exists' }], toleratesUnschedulable: true }],
    ['a template: taints not counted', { nodeSelector: {}, isTemplate: true }],
    ['affinity NotIn', { nodeSelector: {}, affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }] } } } }],
    ['the hostname label names single nodes', { nodeSelector: { 'kubernetes.io/hostname': 'n8' } }],
    ['matchFields names single nodes', { nodeSelector: {}, affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n4', 'n5'] }] }] } } } }],
  ];
  for (const [why, spec] of specs) {
    const perNode = fleet.filter((n) => eligibleNodes(spec, [n]).length === 1).map((n) => n.name);
    t.same(eligibleNodes(spec, fleet).map((n) => n.name), perNode, why);
    t.same(eligibleNodes(spec, fleet).map((n) => n.name), perNode, `${why}: again, from the cached classes`);
  }
});
