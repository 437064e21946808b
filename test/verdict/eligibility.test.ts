// Which nodes a pod may land on, as the scheduler (and, for nodeName, the kubelet's admission) decides:
// nodeName, cordons, nodeSelector, every node-affinity operator, matchFields, parse errors, and distinct platforms.
import t from 'tap';
import type { NodeInfo } from '../../src/cluster/types.ts';
import { podSpecOf } from '../../src/workloads/podspec.ts';
import { eligibleNodes, eligibleNodesRemembered, matchesNodeSelector, platformsOf, type SchedulingSpec } from '../../src/verdict/eligibility.ts';

const node = (name: string, labels: Record<string, string>, extra: Partial<NodeInfo> = {}): NodeInfo => ({
  name,
  labels: { 'kubernetes.io/hostname': name, ...labels },
  platform: { os: labels['kubernetes.io/os'] ?? 'linux', architecture: labels['kubernetes.io/arch'] ?? 'amd64' },
  images: [],
  ...extra,
});

const NODES: NodeInfo[] = [
  node('amd-1', { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', zone: 'a', gpu: 'true', cores: '8' }),
  node('amd-2', { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', zone: 'b', cores: '16' }),
  node('arm-1', { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'arm64', zone: 'a', cores: '4' }),
  node('arm-cordoned', { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'arm64', zone: 'b', cores: 'many' }, { unschedulable: true }),
  node('win-1', { 'kubernetes.io/os': 'windows', 'kubernetes.io/arch': 'amd64', zone: 'c' }, { platform: { os: 'windows', architecture: 'amd64', osVersion: '10.0.20348.2113' } }),
];

const names = (nodes: NodeInfo[]): string[] => nodes.map((n) => n.name);
const required = (...nodeSelectorTerms: unknown[]): SchedulingSpec => ({
  nodeSelector: {},
  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms } } },
});
const expr = (key: string, operator: string, values?: string[]): Record<string, unknown> => (values === undefined ? { key, operator } : { key, operator, values });

t.test('nodeName, cordons and nodeSelector', async (t) => {
  const cases: [why: string, spec: SchedulingSpec, want: string[]][] = [
    ['no constraints: every schedulable node', { nodeSelector: {} }, ['amd-1', 'amd-2', 'arm-1', 'win-1']],
    ['a cordoned node is skipped', { nodeSelector: { 'kubernetes.io/arch': 'arm64' } }, ['arm-1']],
    ['tolerating the cordon keeps it', { nodeSelector: { 'kubernetes.io/arch': 'arm64' }, toleratesUnschedulable: true }, ['arm-1', 'arm-cordoned']],
    ['nodeName picks that node only', { nodeSelector: {}, nodeName: 'amd-2' }, ['amd-2']],
    ['nodeName bypasses the cordon (no scheduler involved)', { nodeSelector: {}, nodeName: 'arm-cordoned' }, ['arm-cordoned']],
    ['nodeName with a selector it fails: the kubelet rejects the pod', { nodeSelector: { zone: 'a' }, nodeName: 'amd-2' }, []],
    ['nodeName with affinity it passes', { ...required({ matchExpressions: [expr('zone', 'In', ['b'])] }), nodeName: 'amd-2' }, ['amd-2']],
    ['nodeName of an unknown node', { nodeSelector: {}, nodeName: 'gone' }, []],
    ['all selector labels must be equal', { nodeSelector: { 'kubernetes.io/os': 'linux', zone: 'a' } }, ['amd-1', 'arm-1']],
    ['a selector label the node lacks', { nodeSelector: { gpu: 'true' } }, ['amd-1']],
    ['an empty selector value needs the label present and empty', { nodeSelector: { gpu: '' } }, []],
    ['selector and affinity both apply', { nodeSelector: { zone: 'a' }, affinity: required({ matchExpressions: [expr('kubernetes.io/arch', 'In', ['arm64'])] }).affinity }, ['arm-1']],
    ['the windows node by os', { nodeSelector: { 'kubernetes.io/os': 'windows' } }, ['win-1']],
  ];
  for (const [why, spec, want] of cases) t.same(names(eligibleNodes(spec, NODES)), want, why);
});

t.test('required node affinity operators', async (t) => {
  const cases: [why: string, terms: unknown[], want: string[]][] = [
    ['In', [{ matchExpressions: [expr('zone', 'In', ['a', 'c'])] }], ['amd-1', 'arm-1', 'win-1']],
    ['NotIn also matches nodes without the label', [{ matchExpressions: [expr('gpu', 'NotIn', ['true'])] }], ['amd-2', 'arm-1', 'win-1']],
    ['Exists', [{ matchExpressions: [expr('gpu', 'Exists')] }], ['amd-1']],
    ['DoesNotExist', [{ matchExpressions: [expr('cores', 'DoesNotExist')] }], ['win-1']],
    ['Gt compares integers', [{ matchExpressions: [expr('cores', 'Gt', ['7'])] }], ['amd-1', 'amd-2']],
    ['Lt compares integers; a non-integer label never matches', [{ matchExpressions: [expr('cores', 'Lt', ['10'])] }], ['amd-1', 'arm-1']],
    ['Gt with zero', [{ matchExpressions: [expr('cores', 'Gt', ['0'])] }], ['amd-1', 'amd-2', 'arm-1']],
    ['Gt with leading zeros', [{ matchExpressions: [expr('cores', 'Gt', ['0008'])] }], ['amd-2']],
    ['expressions in a term are ANDed', [{ matchExpressions: [expr('zone', 'In', ['a']), expr('kubernetes.io/arch', 'In', ['amd64'])] }], ['amd-1']],
    ['terms are ORed', [{ matchExpressions: [expr('zone', 'In', ['c'])] }, { matchExpressions: [expr('gpu', 'Exists')] }], ['amd-1', 'win-1']],
    ['matchFields metadata.name In', [{ matchFields: [expr('metadata.name', 'In', ['arm-1'])] }], ['arm-1']],
    ['matchFields metadata.name NotIn', [{ matchFields: [expr('metadata.name', 'NotIn', ['arm-1'])] }], ['amd-1', 'amd-2', 'win-1']],
    ['matchFields and matchExpressions in one term are ANDed', [{ matchExpressions: [expr('zone', 'In', ['a'])], matchFields: [expr('metadata.name', 'In', ['amd-1'])] }], ['amd-1']],
    ['DaemonSet-style pinning by name', [{ matchFields: [expr('metadata.name', 'In', ['win-1'])] }], ['win-1']],
    // Terms that never match
    ['an empty term matches nothing', [{}], []],
    ['a term with empty lists matches nothing', [{ matchExpressions: [], matchFields: [] }], []],
    ['no terms: no node', [], []],
    ['an unknown operator fails its term only', [{ matchExpressions: [expr('zone', 'Like', ['a'])] }, { matchExpressions: [expr('zone', 'In', ['c'])] }], ['win-1']],
    ['In without values does not parse', [{ matchExpressions: [expr('zone', 'In', [])] }], []],
    ['NotIn without values does not parse', [{ matchExpressions: [expr('zone', 'NotIn')] }], []],
    ['Exists with values does not parse', [{ matchExpressions: [expr('gpu', 'Exists', ['true'])] }], []],
    ['DoesNotExist with values does not parse', [{ matchExpressions: [expr('gpu', 'DoesNotExist', ['x'])] }], []],
    ['Gt with two values does not parse', [{ matchExpressions: [expr('cores', 'Gt', ['1', '2'])] }], []],
    ['a negative Gt bound does not parse: values must also be valid label values', [{ matchExpressions: [expr('cores', 'Gt', ['-1'])] }], []],
    ['a signed Gt bound does not parse either', [{ matchExpressions: [expr('cores', 'Gt', ['+8'])] }], []],
    ['Gt with a non-integer does not parse', [{ matchExpressions: [expr('cores', 'Gt', ['1.5'])] }], []],
    ['Lt beyond int64 does not parse', [{ matchExpressions: [expr('cores', 'Lt', ['9223372036854775808'])] }], []],
    ['Lt at the int64 limit parses', [{ matchExpressions: [expr('cores', 'Lt', ['9223372036854775807'])] }], ['amd-1', 'amd-2', 'arm-1']],
    ['an invalid label key does not parse', [{ matchExpressions: [expr('bad key', 'Exists')] }], []],
    ['an invalid prefix does not parse', [{ matchExpressions: [expr('Bad_Prefix/zone', 'Exists')] }], []],
    ['an invalid label value does not parse', [{ matchExpressions: [expr('zone', 'In', ['-a'])] }], []],
    ['a prefixed key is fine', [{ matchExpressions: [expr('kubernetes.io/os', 'In', ['windows'])] }], ['win-1']],
    ['matchFields with two values does not parse', [{ matchFields: [expr('metadata.name', 'In', ['amd-1', 'amd-2'])] }], []],
    ['matchFields with Exists does not parse', [{ matchFields: [expr('metadata.name', 'Exists')] }], []],
    ['matchFields on another field sees an empty value', [{ matchFields: [expr('spec.unschedulable', 'NotIn', ['true'])] }], ['amd-1', 'amd-2', 'arm-1', 'win-1']],
    ['matchExpressions not a list does not parse', [{ matchExpressions: { key: 'zone' } }], []],
    ['an expression that is not an object does not parse', [{ matchExpressions: ['zone'] }], []],
    ['values with a non-string do not parse', [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 1] }] }], []],
    ['a term that is not an object', [null, 'x', { matchExpressions: [expr('zone', 'In', ['b'])] }], ['amd-2']],
  ];
  for (const [why, terms, want] of cases) t.same(names(eligibleNodes(required(...terms), NODES)), want, why);
});

t.test('the shape of affinity', async (t) => {
  const cases: [why: string, affinity: unknown, want: number][] = [
    ['no affinity', undefined, 4],
    ['affinity without nodeAffinity (podAffinity only)', { podAffinity: {} }, 4],
    ['only preferred node affinity is not a constraint', { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: {} }] } }, 4],
    ['required null is no constraint', { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: null } }, 4],
    ['required without terms matches no node', { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: {} } }, 0],
    ['required that is not an object matches no node', { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: 'zone=a' } }, 0],
    ['nodeAffinity that is not an object is ignored', { nodeAffinity: 7 }, 4],
    ['affinity that is not an object is ignored', 'x', 4],
  ];
  for (const [why, affinity, want] of cases) t.equal(eligibleNodes({ nodeSelector: {}, affinity }, NODES).length, want, why);
});

t.test('from a real pod spec view', async (t) => {
  const got = podSpecOf('DaemonSet', {
    spec: {
      template: {
        spec: {
          containers: [{ name: 'agent', image: 'agent:1' }],
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [expr('kubernetes.io/arch', 'In', ['arm64'])] }] } } },
        },
      },
    },
  });
  t.ok(got.ok);
  if (got.ok) t.same(names(eligibleNodes(got.view, NODES)), ['arm-1', 'arm-cordoned'], 'a DaemonSet runs on cordoned nodes too');
});

t.test('matchesNodeSelector on its own', async (t) => {
  const n = NODES[0] as NodeInfo;
  t.equal(matchesNodeSelector({ nodeSelectorTerms: [{ matchExpressions: [expr('zone', 'In', ['a'])] }] }, n), true);
  t.equal(matchesNodeSelector({ nodeSelectorTerms: 'x' }, n), false);
  t.equal(matchesNodeSelector(null, n), false);
});

t.test('platformsOf gives the distinct platforms, first seen first', async (t) => {
  t.same(platformsOf(NODES), [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64' },
    { os: 'windows', architecture: 'amd64', osVersion: '10.0.20348.2113' },
  ]);
  t.same(platformsOf([]), []);
  const variants = [
    node('a', {}, { platform: { os: 'linux', architecture: 'arm', variant: 'v7' } }),
    node('b', {}, { platform: { os: 'linux', architecture: 'arm', variant: 'v6' } }),
    node('c', {}, { platform: { os: 'linux', architecture: 'arm', variant: 'v7' } }),
    node('d', {}, { platform: { os: 'windows', architecture: 'amd64', osVersion: '10.0.17763.1' } }),
    node('e', {}, { platform: { os: 'windows', architecture: 'amd64', osVersion: '10.0.20348.1' } }),
    node('f', {}, { platform: { os: 'linux', architecture: 'arm', variant: '' } }),
  ];
  t.same(platformsOf(variants), [
    { os: 'linux', architecture: 'arm', variant: 'v7' },
    { os: 'linux', architecture: 'arm', variant: 'v6' },
    { os: 'windows', architecture: 'amd64', osVersion: '10.0.17763.1' },
    { os: 'windows', architecture: 'amd64', osVersion: '10.0.20348.1' },
    { os: 'linux', architecture: 'arm' },
  ], 'variants and OS versions are distinct platforms; an empty variant is none');
});

t.test('hostile input never throws', async (t) => {
  const hostile = [null, 'x', { name: 5 }, { name: 'ok' }, { name: 'p', labels: null, platform: null }, node('good', {})] as unknown as NodeInfo[];
  t.same(names(eligibleNodes({ nodeSelector: {} }, hostile)), ['ok', 'p', 'good'], 'non-nodes skipped; nodes without labels still count');
  t.same(names(eligibleNodes({ nodeSelector: { a: 'b' } }, hostile)), [], 'a node without labels fails any selector');
  t.same(eligibleNodes({ nodeSelector: {} }, 'nodes' as unknown as NodeInfo[]), []);
  t.same(eligibleNodes(undefined as unknown as SchedulingSpec, [node('n', {})]).length, 1, 'no spec: no constraints');
  t.same(eligibleNodes({ nodeSelector: null as unknown as Record<string, string> }, [node('n', {})]).length, 1);
  t.same(platformsOf([null, 'x', node('good', {})] as unknown as NodeInfo[]), [{ os: 'linux', architecture: 'amd64' }], 'values that are not nodes are skipped');
  t.same(platformsOf(hostile), [], 'a node whose platform is unknown could run anything: any platform');
  t.same(platformsOf([node('good', {}), { ...node('blank', {}), platform: { os: '', architecture: '' } }]), [], 'an empty os/arch is unknown, not absent');
  t.same(platformsOf('x' as unknown as NodeInfo[]), []);
  const proto = node('proto', { ['__proto__']: 'x' });
  t.same(names(eligibleNodes({ nodeSelector: { toString: 'x' } }, [proto])), [], 'inherited properties are not labels');
});

t.test('an absurdly large affinity does not narrow the nodes (bounded work, and never towards a denial)', async (t) => {
  const nodes = Array.from({ length: 100 }, (_, i) => node(`n${i}`, { 'kubernetes.io/arch': i % 2 ? 'arm64' : 'amd64' }));
  const values = Array.from({ length: 50_000 }, (_, i) => `v${i}`);
  const spec = { nodeSelector: {}, affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', ...values] }] }] } } } };
  t.equal(eligibleNodes(spec, nodes).length, 100, 'every node counts');
  const small = { ...spec, affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] }] }] } } } };
  t.equal(eligibleNodes(small, nodes).length, 50, 'a normal affinity still narrows');
});

t.test('eligible nodes are remembered per inventory and scheduling constraints, and dropped with the inventory', async (t) => {
  const specs: SchedulingSpec[] = [
    { nodeSelector: {} },
    { nodeSelector: { 'kubernetes.io/arch': 'arm64' } },
    { nodeSelector: { 'kubernetes.io/arch': 'arm64' }, toleratesUnschedulable: true },
    { nodeSelector: {}, nodeName: 'amd-2' },
    required({ matchExpressions: [expr('zone', 'In', ['a'])] }),
    { nodeSelector: {}, tolerations: [{ operator: 'Exists' }] },
    { nodeSelector: {}, isTemplate: true },
    { nodeSelector: {}, toleratesUnschedulable: true },
    { nodeSelector: {}, toleratesUnschedulable: true, isTemplate: true },
    { nodeSelector: null as unknown as Record<string, string> },
  ];
  // A tainted node: a Pod without tolerations may not land there, a template may (its tolerations are not final).
  const inventory = [...NODES, node('tainted', { 'kubernetes.io/arch': 'arm64' }, { taints: [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }] })];
  for (const spec of specs) {
    const first = eligibleNodesRemembered(spec, inventory);
    t.same(names(first), names(eligibleNodes(spec, inventory)), `the same nodes as eligibleNodes: ${JSON.stringify(spec)}`);
    t.equal(eligibleNodesRemembered(structuredClone(spec), inventory), first, 'equal constraints (another pod\'s copy): the same array, so what derives from it is derived once');
  }
  const arm = eligibleNodesRemembered(specs[1]!, inventory);
  t.not(eligibleNodesRemembered(specs[0]!, inventory), arm, 'other constraints: another answer');
  t.equal(platformsOf(arm), platformsOf(eligibleNodesRemembered(specs[1]!, inventory)), 'and its platforms are shared too');

  // A node changed: the inventory is a new array, and its answers start afresh.
  const changed = [...NODES.filter((n) => n.name !== 'arm-1'), node('arm-2', { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'arm64' })];
  const after = eligibleNodesRemembered(specs[1]!, changed);
  t.not(after, arm);
  t.same(names(after), ['arm-2'], 'the new inventory is read, not the remembered answer');

  const huge = required({ matchExpressions: [expr('zone', 'In', Array.from({ length: 2000 }, (_, i) => `z${i}`))] });
  t.not(eligibleNodesRemembered(huge, inventory), eligibleNodesRemembered(huge, inventory), 'constraints too large to keep are matched afresh');
  t.same(names(eligibleNodesRemembered(huge, inventory)), [], 'with the same answer');
  t.same(eligibleNodesRemembered({ nodeSelector: {} }, 'nodes' as unknown as NodeInfo[]), [], 'hostile input still never throws');
  t.same(names(eligibleNodesRemembered({ nodeSelector: { big: 1n } as unknown as Record<string, string> }, inventory)), names(eligibleNodes({ nodeSelector: {} }, inventory)), 'constraints JSON cannot write are matched afresh');
});
