// The review entry point below HTTP: mode resolution (with its API server read), the check and the decision, under
// one deadline budget. The cluster and the checker are the injected interfaces, filled in memory.
import t from 'tap';
import type { ClusterReader, Lookup } from '../../src/cluster/types.ts';
import { DEFAULT_CONFIG, type Config } from '../../src/config.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { Checker, CheckResult, PodPullSpec } from '../../src/verdict/check.ts';
import { CLUSTER_READS_SHARE, NAMESPACE_READ_SHARE, shareOfTimeLeft } from '../../src/verdict/deadline.ts';
import type { Finding, ImageTarget } from '../../src/verdict/finding.ts';
import { resolveMode, reviewImages, workloadAnnotation, type ImageReview, type ReviewLog } from '../../src/verdict/review.ts';
import { resolution } from '../../src/verdict/classify.ts';

const target: ImageTarget = { containerName: 'app', field: 'containers', image: 'nginx:lates', fieldPath: 'spec.containers[0].image', pullPolicy: 'IfNotPresent', pullPolicyDefaulted: true };

function cluster(labels: Record<string, Lookup<Record<string, string>> | 'never'>): ClusterReader {
  return {
    connected: true,
    getSecret: async () => ({ found: false, reason: 'NotFound', message: 'none' }),
    getServiceAccountPullSecrets: async () => ({ found: true, value: [] }),
    listNodes: async () => [],
    getNamespaceLabels: (ns) => {
      const l = labels[ns] ?? { found: true, value: {} };
      return l === 'never' ? new Promise(() => {}) : Promise.resolve(l);
    },
    close: async () => {},
  };
}

function checker(reason: Parameters<typeof resolution>[0], calls: { deadline: number; spec: PodPullSpec }[] = []): Checker {
  return {
    async check(spec, targets, deadline): Promise<CheckResult> {
      calls.push({ deadline, spec });
      const findings: Finding[] = targets.map((tg) => ({
        target: tg, resolution: resolution(reason, tg.image, { reference: `docker.io/library/${tg.image}`, suggestions: ['latest'] }),
        namespace: spec.namespace, secrets: [], serviceAccountName: 'default', eligiblePlatforms: [], platformSource: 'any',
      }));
      return { findings, excluded: [] };
    },
  };
}

const logs: { msg: string; obj: object }[] = [];
const log: ReviewLog = { info: (obj, msg) => logs.push({ obj, msg }), debug: (obj, msg) => logs.push({ obj, msg }) };

function deps(c: ClusterReader, ch: Checker, mode: Config['mode'] = 'enforce') {
  const config: Config = structuredClone(DEFAULT_CONFIG);
  config.mode = mode;
  return { config, cluster: c, checker: ch, metrics: createMetrics({ defaultMetrics: false }) };
}

function review(object: unknown, namespace = 'demo'): ImageReview {
  return { kind: 'CronJob', namespace, uid: 'u-7', object, spec: { isTemplate: true, serviceAccountName: '', imagePullSecrets: [] } as unknown as ImageReview['spec'], targets: [target] };
}

t.test('the deadline budget: the namespace read gets a quarter of the time left, the check\'s API server reads half', async (t) => {
  t.equal(NAMESPACE_READ_SHARE, 1 / 4);
  t.equal(CLUSTER_READS_SHARE, 1 / 2);
  t.equal(shareOfTimeLeft(1400, NAMESPACE_READ_SHARE, () => 1000), 1100);
  t.equal(shareOfTimeLeft(1400, CLUSTER_READS_SHARE, () => 1000), 1200);
  t.equal(shareOfTimeLeft(900, CLUSTER_READS_SHARE, () => 1000), 1000, 'a deadline behind us leaves no time');
});

t.test('a CronJob\'s pod template annotation sets the mode; the workload\'s own wins over it', async (t) => {
  const key = DEFAULT_CONFIG.modeLabel;
  const cron = { spec: { jobTemplate: { spec: { template: { metadata: { annotations: { [key]: 'warn' } } } } } } };
  t.equal(workloadAnnotation(cron, key), 'warn');
  t.equal(workloadAnnotation({ ...cron, metadata: { annotations: { [key]: 'off' } } }, key), 'off');
  const { mode } = await resolveMode({ namespace: 'demo', object: cron }, Date.now() + 1000, deps(cluster({ demo: { found: true, value: { [key]: 'enforce' } } }), checker('Resolved')));
  t.same(mode, { mode: 'warn', source: 'workload' });
});

t.test('the namespace label applies when the workload says nothing', async (t) => {
  const { mode, notes } = await resolveMode({ namespace: 'demo', object: {} }, Date.now() + 1000, deps(cluster({ demo: { found: true, value: { [DEFAULT_CONFIG.modeLabel]: 'off' } } }), checker('Resolved')));
  t.same(mode, { mode: 'off', source: 'namespace' });
  t.same(notes, []);
});

t.test('a namespace read that outlives its share turns enforce into warn, says so, and the check still runs to the full deadline', async (t) => {
  const calls: { deadline: number; spec: PodPullSpec }[] = [];
  const deadline = Date.now() + 200;
  const out = await reviewImages(review({}), deadline, deps(cluster({ demo: 'never' }), checker('TagNotFound', calls)), log);
  t.same(out.mode, { mode: 'warn', source: 'namespace' });
  t.equal(out.decision?.allowed, true, 'never a denial on a guess');
  t.match(out.decision?.warnings[0], /namespace demo's mode label could not be read; problems are warnings this time/);
  t.match(out.decision?.warnings[1], /^container app: nginx:lates: TagNotFound \(would deny\): tag not found; try latest$/);
  t.equal(calls.length, 1);
  t.equal(calls[0]?.deadline, deadline, 'the check is given the review\'s deadline');
  t.equal(calls[0]?.spec.namespace, 'demo');
});

t.test('enforce denies through the same entry point, logs every problem once, and counts verdicts', async (t) => {
  logs.length = 0;
  const d = deps(cluster({}), checker('TagNotFound'));
  const out = await reviewImages(review({}), Date.now() + 1000, d, log);
  t.equal(out.decision?.allowed, false);
  t.match(out.decision?.message, /TagNotFound: docker.io\/library\/nginx:lates: the tag does not exist\. Fix: use an existing tag; closest: latest\./);
  t.equal(logs.length, 1);
  t.equal(logs[0]?.msg, 'denied');
  t.match(logs[0]?.obj, { kind: 'CronJob', namespace: 'demo', mode: 'enforce', problems: [{ container: 'app', reason: 'TagNotFound' }] });
  const counted = await d.metrics.registry.getSingleMetricAsString('pullguard_image_verdicts_total');
  t.match(counted, /reason="TagNotFound",verdict="deny"} 1/);
});

t.test('mode off checks nothing', async (t) => {
  const calls: { deadline: number; spec: PodPullSpec }[] = [];
  const key = DEFAULT_CONFIG.modeLabel;
  const out = await reviewImages(review({ metadata: { annotations: { [key]: 'off' } } }), Date.now() + 1000, deps(cluster({}), checker('TagNotFound', calls)), log);
  t.equal(out.decision, undefined);
  t.equal(calls.length, 0);
});

t.test('a namespace label at hand (fresh in the reader\'s cache) is used without waiting; none at hand is read', async (t) => {
  const key = DEFAULT_CONFIG.modeLabel;
  // The getter never answers: a mode other than the default can only come from the label at hand.
  const atHand: ClusterReader = { ...cluster({ demo: 'never' }), peekNamespaceLabels: (ns) => (ns === 'demo' ? { found: true, value: { [key]: 'warn' } } : undefined) };
  const started = Date.now();
  const found = resolveMode({ namespace: 'demo', object: {} }, Date.now() + 4000, deps(atHand, checker('Resolved')));
  t.notOk(found instanceof Promise, 'the mode itself, not a promise of it');
  const { mode, notes } = await found;
  t.same(mode, { mode: 'warn', source: 'namespace' });
  t.same(notes, []);
  t.ok(Date.now() - started < 500, 'answered without waiting for the read');
  const read = await resolveMode({ namespace: 'other', object: {} }, Date.now() + 1000, deps({ ...cluster({ other: { found: true, value: { [key]: 'off' } } }), peekNamespaceLabels: () => undefined }, checker('Resolved')));
  t.same(read.mode, { mode: 'off', source: 'namespace' }, 'nothing at hand: read from the API server');
});
