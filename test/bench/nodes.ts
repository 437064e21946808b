// Cluster scale: `pullguard serve` against 5,000 and 15,000 realistic Node objects (~20 KB each, as the API server
// sends them: managedFields, conditions, addresses, 50 images with sizes, labels, taints, nodeInfo), listed page by
// page from a fake API server, next to the same pullguard against 2 such nodes measured in the same run. Each count
// gets its own API server and its own pullguard process, one after the other, so no figure carries another's heap.
import { request } from 'undici';
import { startFakeApiServer, type FakeApiServer, type FakeNode } from '../harness/fake-apiserver.ts';
import type { Pool } from 'undici';
import { latencyStats, openPool, runLoad, type LatencyStats } from './load.ts';
import { WARM_IMAGE, collectGarbage, sampleProcess, type PullguardProcess, type World } from './world.ts';

export interface NodesOptions {
  /** Node counts measured against the 2-node baseline. */
  counts: number[];
  /** Measured warm reviews per count. */
  reviews: number;
  warmup: number;
  concurrency: number;
  maxMs: number;
  /** How long pullguard may take to list the nodes. */
  syncTimeoutMs: number;
}

export interface NodeScaleFigures {
  nodes: number;
  /** Mean size of one Node as the API server sent it (JSON bytes). */
  nodeJsonBytes: number;
  /** From starting pullguard until it opened the node watch (the paginated list is stored by then). */
  syncMs: number;
  /** RSS after the list and a full GC, before any load. */
  idleAfterGcRssBytes: number;
  /** Highest RSS sampled while the warm reviews ran. */
  underLoadRssBytes: number;
  /** After the reviews and a full GC. */
  afterGc: { rssBytes: number; heapUsedBytes: number };
  /** VmHWM at the end: the most the process ever held (the list included). */
  peakRssBytes: number;
  cpuUsPerReview: number;
  reviewsPerSecond: number;
  latency: LatencyStats;
  ok: number;
  failures: number;
  firstFailure?: string;
}

export interface NodesResult {
  /** Each larger cluster with the 2-node pullguard measured beside it. */
  pairs: { baseline: NodeScaleFigures; scaled: NodeScaleFigures }[];
}

// --- realistic Node objects -----------------------------------------------------------------------------------

const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
const POOLS = [
  { name: 'general', arch: 'amd64', instance: 'm6i.2xlarge' },
  { name: 'general-arm', arch: 'arm64', instance: 'm7g.2xlarge' },
  { name: 'memory', arch: 'amd64', instance: 'r6i.4xlarge' },
  { name: 'gpu', arch: 'amd64', instance: 'g5.2xlarge', taint: { key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' } },
];
/** Images every node runs (DaemonSets, the kubelet's pause image): the same names on every node. */
const COMMON_IMAGES = 20;
const POOL_IMAGES = 600;
const IMAGES_PER_NODE = 50;

const hex = (seed: number, length: number): string => {
  let out = '';
  let x = seed >>> 0 || 1;
  while (out.length < length) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out += x.toString(16).padStart(8, '0');
  }
  return out.slice(0, length);
};

/** One image as status.images lists it: by digest and by tag, with its size. */
function imageEntry(i: number): { names: string[]; sizeBytes: number } {
  const registry = ['602401143452.dkr.ecr.us-east-1.amazonaws.com', 'registry.k8s.io', 'quay.io', 'docker.io', 'ghcr.io'][i % 5]!;
  const repository = `${['platform/ingress', 'payments/checkout-backend', 'search/indexing-pipeline', 'observability/collectors', 'library/base-images'][i % 5]}/service-${String(i).padStart(4, '0')}-${['api', 'worker', 'sidecar', 'migrations'][i % 4]}`;
  return { names: [`${registry}/${repository}@sha256:${hex(i * 7919 + 1, 64)}`, `${registry}/${repository}:v1.${i % 40}.${i % 7}`], sizeBytes: 10_000_000 + ((i * 104_729) % 900_000_000) };
}

const IMAGES = Array.from({ length: COMMON_IMAGES + POOL_IMAGES }, (_, i) => imageEntry(i));

const TIME = '2026-11-30T08:14:07Z';
const CONDITIONS = [
  ['MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
  ['DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
  ['PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
  ['Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'],
].map(([type, status, reason, message]) => ({ type, status, lastHeartbeatTime: TIME, lastTransitionTime: '2026-11-01T02:00:41Z', reason, message }));

/** What the kubelet and controllers record in metadata.managedFields for a Node (fieldsV1 as Server-Side Apply writes it). */
function managedFields(): unknown[] {
  const conditionFields = Object.fromEntries(['DiskPressure', 'MemoryPressure', 'PIDPressure', 'Ready'].map((type) => [`k:{"type":"${type}"}`, { '.': {}, 'f:lastHeartbeatTime': {}, 'f:lastTransitionTime': {}, 'f:message': {}, 'f:reason': {}, 'f:status': {}, 'f:type': {} }]));
  const labelFields = Object.fromEntries(['beta.kubernetes.io/arch', 'beta.kubernetes.io/instance-type', 'beta.kubernetes.io/os', 'eks.amazonaws.com/capacityType', 'eks.amazonaws.com/nodegroup', 'eks.amazonaws.com/nodegroup-image', 'eks.amazonaws.com/sourceLaunchTemplateId', 'eks.amazonaws.com/sourceLaunchTemplateVersion', 'failure-domain.beta.kubernetes.io/region', 'failure-domain.beta.kubernetes.io/zone', 'k8s.io/cloud-provider-aws', 'kubernetes.io/arch', 'kubernetes.io/hostname', 'kubernetes.io/os', 'node.kubernetes.io/instance-type', 'topology.k8s.aws/zone-id', 'topology.kubernetes.io/region', 'topology.kubernetes.io/zone'].map((k) => [`f:${k}`, {}]));
  return [
    { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: '2026-11-01T02:00:11Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:annotations': { '.': {}, 'f:alpha.kubernetes.io/provided-node-ip': {}, 'f:volumes.kubernetes.io/controller-managed-attach-detach': {} }, 'f:labels': { '.': {}, ...labelFields } }, 'f:spec': { 'f:providerID': {} } } },
    { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: '2026-11-01T02:00:41Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:node.alpha.kubernetes.io/ttl': {} } }, 'f:spec': { 'f:podCIDR': {}, 'f:podCIDRs': { '.': {}, 'v:"10.244.17.0/24"': {} } } } },
    { manager: 'aws-cloud-controller-manager', operation: 'Update', apiVersion: 'v1', time: '2026-11-01T02:00:29Z', fieldsType: 'FieldsV1', subresource: 'status', fieldsV1: { 'f:status': { 'f:addresses': { 'k:{"type":"ExternalDNS"}': { '.': {}, 'f:address': {}, 'f:type': {} }, 'k:{"type":"ExternalIP"}': { '.': {}, 'f:address': {}, 'f:type': {} }, 'k:{"type":"InternalDNS"}': { '.': {}, 'f:address': {}, 'f:type': {} } } } } },
    { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: TIME, fieldsType: 'FieldsV1', subresource: 'status', fieldsV1: { 'f:status': { 'f:allocatable': { 'f:cpu': {}, 'f:ephemeral-storage': {}, 'f:memory': {} }, 'f:capacity': { 'f:ephemeral-storage': {} }, 'f:conditions': conditionFields, 'f:images': {}, 'f:nodeInfo': { 'f:bootID': {}, 'f:kernelVersion': {}, 'f:osImage': {} }, 'f:volumesAttached': {}, 'f:volumesInUse': {} } } },
  ];
}

const MANAGED_FIELDS = managedFields();

/**
 * Node `i` of a cluster as an EKS-like control plane would serve it: pools by architecture and instance type over
 * three zones (a dozen scheduling classes), a GPU pool tainted, every node with the 20 DaemonSet images and 30 of a
 * pool of 600. Shared parts are shared objects here (cheap for the bench process); on the wire each node is whole.
 */
export function realisticNode(i: number): FakeNode {
  const pool = POOLS[i % POOLS.length]!;
  const zone = ZONES[Math.floor(i / POOLS.length) % ZONES.length]!;
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const name = `ip-${ip.replaceAll('.', '-')}.ec2.internal`;
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': pool.arch,
    'beta.kubernetes.io/instance-type': pool.instance,
    'beta.kubernetes.io/os': 'linux',
    'eks.amazonaws.com/capacityType': 'ON_DEMAND',
    'eks.amazonaws.com/nodegroup': `${pool.name}-${zone}`,
    'eks.amazonaws.com/nodegroup-image': 'ami-0a1b2c3d4e5f60718',
    'eks.amazonaws.com/sourceLaunchTemplateId': 'lt-0123456789abcdef0',
    'eks.amazonaws.com/sourceLaunchTemplateVersion': '3',
    'failure-domain.beta.kubernetes.io/region': 'us-east-1',
    'failure-domain.beta.kubernetes.io/zone': zone,
    'k8s.io/cloud-provider-aws': 'a94967527effcefb5f5829f529c0a1b9',
    'kubernetes.io/arch': pool.arch,
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'node.kubernetes.io/instance-type': pool.instance,
    'topology.k8s.aws/zone-id': `use1-az${ZONES.indexOf(zone) + 1}`,
    'topology.kubernetes.io/region': 'us-east-1',
    'topology.kubernetes.io/zone': zone,
  };
  const images = [...IMAGES.slice(0, COMMON_IMAGES)];
  for (let k = 0; images.length < IMAGES_PER_NODE; k++) images.push(IMAGES[COMMON_IMAGES + ((i * 7 + k * 13) % POOL_IMAGES)]!);
  return {
    name,
    labels,
    arch: pool.arch,
    kubeletVersion: 'v1.33.5-eks-3025e55',
    containerRuntimeVersion: 'containerd://1.7.27',
    ...(pool.taint ? { taints: [pool.taint] } : {}),
    extra: {
      metadata: {
        annotations: { 'alpha.kubernetes.io/provided-node-ip': ip, 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true', 'csi.volume.kubernetes.io/nodeid': `{"ebs.csi.aws.com":"i-0${hex(i, 16)}"}` },
        managedFields: MANAGED_FIELDS,
      },
      status: {
        capacity: { cpu: '8', 'ephemeral-storage': '104845292Ki', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '32386156Ki', pods: '58' },
        allocatable: { cpu: '7910m', 'ephemeral-storage': '95551679124', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '31369324Ki', pods: '58' },
        conditions: CONDITIONS,
        addresses: [
          { type: 'InternalIP', address: ip },
          { type: 'ExternalIP', address: `54.${(i >> 8) & 255}.${i & 255}.17` },
          { type: 'InternalDNS', address: name },
          { type: 'Hostname', address: name },
          { type: 'ExternalDNS', address: `ec2-54-${(i >> 8) & 255}-${i & 255}-17.compute-1.amazonaws.com` },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
        nodeInfo: {
          machineID: hex(i + 17, 32),
          systemUUID: `ec2${hex(i + 31, 5)}-${hex(i + 37, 4)}-${hex(i + 41, 4)}-${hex(i + 43, 4)}-${hex(i + 47, 12)}`,
          bootID: `${hex(i + 53, 8)}-${hex(i + 59, 4)}-${hex(i + 61, 4)}-${hex(i + 67, 4)}-${hex(i + 71, 12)}`,
          kernelVersion: '6.1.141-165.249.amzn2023.x86_64',
          osImage: 'Amazon Linux 2023.8.20250707',
          containerRuntimeVersion: 'containerd://1.7.27',
          kubeletVersion: 'v1.33.5-eks-3025e55',
          kubeProxyVersion: 'v1.33.5-eks-3025e55',
          operatingSystem: 'linux',
          architecture: pool.arch,
        },
        images,
        volumesInUse: [`kubernetes.io/csi/ebs.csi.aws.com^vol-0${hex(i + 3, 16)}`],
        volumesAttached: [{ name: `kubernetes.io/csi/ebs.csi.aws.com^vol-0${hex(i + 3, 16)}`, devicePath: '' }],
      },
    },
  };
}

// --- the measurement --------------------------------------------------------------------------------------------

/** Waits until pullguard has listed the nodes: it opens the node watch right after storing the list. */
async function synced(api: FakeApiServer, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!api.requests.some((r) => r.path === '/api/v1/nodes' && /(^|&)watch=true/.test(r.query))) {
    if (performance.now() > until) throw new Error(`pullguard did not list the nodes within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One pullguard with its own fake cluster of `count` nodes, and what its reviews cost so far. */
interface Subject {
  count: number;
  api: FakeApiServer;
  pullguard: PullguardProcess;
  pool: Pool;
  nodeJsonBytes: number;
  syncMs: number;
  idleAfterGcRssBytes: number;
  underLoadRssBytes: number;
  cpuMs: number;
  wallMs: number;
  ok: number;
  failures: number;
  firstFailure?: string;
  latenciesMs: number[];
  stop(): Promise<void>;
}

async function startSubject(world: World, count: number, opts: NodesOptions): Promise<Subject> {
  const api = await startFakeApiServer();
  let pullguard: PullguardProcess | undefined;
  try {
    api.setNamespace('demo', {});
    api.setServiceAccount('demo', 'default', []);
    for (let i = 0; i < count; i++) api.setNode(realisticNode(i));
    const nodeJsonBytes = await meanNodeBytes(api);
    const started = performance.now();
    pullguard = await world.startPullguard(api.kubeconfigFile);
    await synced(api, opts.syncTimeoutMs);
    const syncMs = performance.now() - started;
    const pool = openPool(pullguard.origin, world.pki.caPem, opts.concurrency);
    const p = pullguard;
    const subject: Subject = {
      count, api, pullguard: p, pool, nodeJsonBytes, syncMs, idleAfterGcRssBytes: NaN, underLoadRssBytes: 0, cpuMs: 0, wallMs: 0, ok: 0, failures: 0, latenciesMs: [],
      async stop() {
        await pool.close();
        await p.stop();
        await api.stop();
      },
    };
    const warm = await runLoad({ pool, count: opts.warmup, concurrency: opts.concurrency, maxMs: opts.maxMs, review: reviewOf(world, count, 'warmup') });
    if (warm.failures > 0) throw new Error(`nodes ${count}: warm-up failed: ${warm.firstFailure}`);
    subject.idleAfterGcRssBytes = (await collectGarbage(p)).rssBytes;
    return subject;
  } catch (err) {
    await pullguard?.stop();
    await api.stop();
    throw err;
  }
}

function reviewOf(world: World, count: number, tag: string): (i: number) => { uid: string; body: string } {
  const image = world.image(WARM_IMAGE);
  return (i) => ({ uid: `nodes-${count}-${tag}-${i}`, body: world.review(`nodes-${count}-${tag}-${i}`, image) });
}

/** One round of warm reviews: CPU time from /proc, RSS sampled every 100 ms. */
async function round(world: World, s: Subject, reviews: number, tag: string, opts: NodesOptions): Promise<void> {
  const pid = s.pullguard.pid;
  const watch = setInterval(() => (s.underLoadRssBytes = Math.max(s.underLoadRssBytes, sampleProcess(pid).rssBytes)), 100);
  const cpuBefore = sampleProcess(pid).cpuMs;
  try {
    const load = await runLoad({ pool: s.pool, count: reviews, concurrency: opts.concurrency, maxMs: opts.maxMs, review: reviewOf(world, s.count, tag) });
    s.ok += load.ok;
    s.failures += load.failures;
    s.firstFailure ??= load.firstFailure;
    s.wallMs += load.wallMs;
    s.latenciesMs.push(...load.latenciesMs);
  } finally {
    clearInterval(watch);
  }
  s.cpuMs += sampleProcess(pid).cpuMs - cpuBefore;
  s.underLoadRssBytes = Math.max(s.underLoadRssBytes, sampleProcess(pid).rssBytes);
}

async function figures(s: Subject): Promise<NodeScaleFigures> {
  const afterGc = await collectGarbage(s.pullguard);
  return {
    nodes: s.count,
    nodeJsonBytes: s.nodeJsonBytes,
    syncMs: s.syncMs,
    idleAfterGcRssBytes: s.idleAfterGcRssBytes,
    underLoadRssBytes: s.underLoadRssBytes,
    afterGc,
    peakRssBytes: sampleProcess(s.pullguard.pid).peakRssBytes,
    cpuUsPerReview: s.ok > 0 ? (s.cpuMs * 1000) / s.ok : NaN,
    reviewsPerSecond: s.ok / (s.wallMs / 1000),
    latency: latencyStats(s.latenciesMs),
    ok: s.ok,
    failures: s.failures,
    ...(s.firstFailure !== undefined ? { firstFailure: s.firstFailure } : {}),
  };
}

/** The mean JSON size of the nodes as the API server lists them (one page of up to 50). */
async function meanNodeBytes(api: FakeApiServer): Promise<number> {
  const res = await request(`${api.url}/api/v1/nodes?limit=50`, { headers: { authorization: 'Bearer bench' } });
  const list = (await res.body.json()) as { items: unknown[] };
  return list.items.reduce<number>((n, item) => n + Buffer.byteLength(JSON.stringify(item)), 0) / Math.max(1, list.items.length);
}

/**
 * The 2-node pullguard runs beside each larger one, and their reviews alternate in rounds (2, N, N, 2, ...), so the
 * machine's load drifts over both alike; each pair is reported with its own baseline.
 */
export async function nodeScale(world: World, opts: NodesOptions): Promise<NodesResult> {
  const baseline = await startSubject(world, 2, opts);
  const pairs: NodesResult['pairs'] = [];
  try {
    for (const count of opts.counts) {
      const scaled = await startSubject(world, count, opts);
      try {
        const fresh = { ...baseline, cpuMs: 0, wallMs: 0, ok: 0, failures: 0, latenciesMs: [] as number[], underLoadRssBytes: 0 };
        Object.assign(baseline, fresh);
        const rounds = 4;
        const perRound = Math.max(1, Math.ceil(opts.reviews / rounds));
        for (let r = 0; r < rounds; r++) {
          for (const s of r % 2 === 0 ? [baseline, scaled] : [scaled, baseline]) await round(world, s, perRound, `r${r}`, opts);
        }
        pairs.push({ baseline: await figures(baseline), scaled: await figures(scaled) });
      } finally {
        await scaled.stop();
      }
    }
  } finally {
    await baseline.stop();
  }
  return { pairs };
}
