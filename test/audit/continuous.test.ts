// The continuous audit of `serve`, in process against the fake API server (workload lists, Leases, Events) and a
// real registry: one of two replicas audits (the Lease), the metrics it fills and their series cap, GET /audit on
// the metrics port, Events off by default and on when asked, and the config's namespace filter.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { buildOpsApp } from '../../src/admission/server.ts';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { createContinuousAudit, namespaceFilter } from '../../src/audit/continuous.ts';
import { setupContinuousAudit, type AuditInServe } from '../../src/audit/in-serve.ts';
import { buildRuntime, checkerFor, type Runtime } from '../../src/cli/runtime.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import type { FakeApiServer } from '../harness/fake-apiserver.ts';
import { AMD64, startWorld, type World } from '../harness/pullguard-kit.ts';
import { deployment, statefulSet } from './workloads.ts';

t.setTimeout(300_000);

let world: World;
let api: FakeApiServer;
let dir: string;
const log = pino({ level: 'silent' });

t.before(async () => {
  world = await startWorld({
    registries: { registry: { auth: 'none' } },
    images: [{ registry: 'registry', repository: 'team/app', tag: '1.0', platforms: [AMD64] }],
    cluster(cluster, { registry: seeded }) {
      const at = (name: string) => `${seeded!.host}/${name}`;
      cluster.setNode({ name: 'node-1' });
      cluster.setWorkload(deployment('web', { namespace: 'shop', images: [at('team/app:1.0'), at('team/app:1.9')] }));
      cluster.setWorkload(statefulSet('db', { namespace: 'shop', images: [at('team/gone:1.0')] }));
      cluster.setWorkload(deployment('tool', { namespace: 'kube-system', images: [at('team/app:2.0')] }));
      for (let i = 0; i < 3; i++) cluster.setWorkload(deployment(`fine-${i}`, { namespace: 'ok', images: [at('team/app:1.0')] }));
    },
    dirPrefix: 'pullguard-audit-serve-',
  });
  [api, dir] = [world.api!, world.dir];
});
t.teardown(() => world?.close());

interface Replica {
  config: Config;
  rt: Runtime;
  metrics: Metrics;
  audit: AuditInServe;
  close(): Promise<void>;
}

function replica(identity: string, audit: Record<string, unknown> = {}): Replica {
  const file = join(dir, `${identity}.yaml`);
  writeFileSync(file, JSON.stringify({ logLevel: 'silent', audit: { enabled: true, intervalMinutes: 0.001, lease: { namespace: 'pullguard' }, namespaces: { exclude: ['kube-*'] }, ...audit } }));
  const loaded = loadConfig({ file, flags: { kubeconfig: api.kubeconfigFile, registryConfig: world.registryConfig } });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const config = loaded.config;
  const metrics = createMetrics({ defaultMetrics: false });
  const built = buildRuntime(config, { log, metrics });
  if (!built.ok) throw new Error(built.errors.join('\n'));
  const rt = built.runtime;
  const setup = setupContinuousAudit(config, {
    registry: rt.registry,
    checkerFor: (r) => checkerFor(config, { registry: r, cluster: rt.cluster, nodeCredentials: rt.nodeCredentials, fallbackPlatforms: rt.fallbackPlatforms }),
    metricsRegistry: metrics.registry,
    logger: log,
    identity,
  });
  if (!setup.ok || !setup.value) throw new Error(setup.ok ? 'audit not enabled' : setup.error);
  const value = setup.value;
  return {
    config, rt, metrics, audit: value,
    async close() {
      await value.audit.stop();
      await rt.close();
    },
  };
}

async function scrape(m: Metrics): Promise<string> {
  return m.registry.metrics();
}

t.test('two replicas: the one holding the Lease audits, the other does not; the Lease passes on when released', async (t) => {
  const a = replica('replica-a');
  const b = replica('replica-b');
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  await a.audit.audit.tick();
  await b.audit.audit.tick();
  const sa = a.audit.audit.status();
  const sb = b.audit.audit.status();
  t.equal(sa.leader, true);
  t.not(sa.lastRun, null, 'the leader ran an audit');
  t.equal(sb.leader, false);
  t.equal(sb.holder, 'replica-a', 'the follower knows who audits');
  t.equal(sb.lastRun, null, 'the follower did not');
  const lease = api.leases.get('pullguard/pullguard-audit') as { spec: { holderIdentity: string; leaseDurationSeconds: number } } | undefined;
  t.equal(lease?.spec.holderIdentity, 'replica-a');
  t.equal(lease?.spec.leaseDurationSeconds, 60);
  t.notMatch(await scrape(b.metrics), /pullguard_audit_workload_problems\{/, 'no problem series on the follower');

  await a.audit.audit.stop();
  await b.audit.audit.tick();
  t.equal(b.audit.audit.status().leader, true, 'released: the other replica takes over at once');
  t.not(b.audit.audit.status().lastRun, null);
});

t.test('the metrics: problems only, by workload and container, images by verdict, time and duration of the last run', async (t) => {
  const a = replica('metrics');
  t.teardown(() => a.close());
  await a.audit.audit.tick();
  const text = await scrape(a.metrics);
  t.match(text, 'pullguard_audit_workload_problems{namespace="shop",kind="Deployment",name="web",container="c1",reason="TagNotFound",verdict="deny"} 1');
  t.match(text, 'pullguard_audit_workload_problems{namespace="shop",kind="StatefulSet",name="db",container="c0",reason="RepositoryNotFound",verdict="deny"} 1');
  t.notMatch(text, /pullguard_audit_workload_problems\{[^}]*container="c0"[^}]*name="web"/, 'the image that pulls has no series');
  t.notMatch(text, /kube-system/, 'excluded namespaces are not audited');
  t.match(text, 'pullguard_audit_images{verdict="allow"} 4');
  t.match(text, 'pullguard_audit_images{verdict="deny"} 2');
  t.match(text, 'pullguard_audit_images{verdict="unknown"} 0');
  const last = Number(/^pullguard_audit_last_run_timestamp_seconds (\S+)$/m.exec(text)?.[1]);
  t.ok(Math.abs(last - Date.now() / 1000) < 600, `last run timestamp ${last}`);
  t.match(text, /pullguard_audit_duration_seconds \d/);
  t.match(text, 'pullguard_audit_series_dropped_total 0');
});

t.test('the series cap: past audit.maxSeries, problems are counted as dropped instead', async (t) => {
  const a = replica('capped', { maxSeries: 1 });
  t.teardown(() => a.close());
  await a.audit.audit.tick();
  const text = await scrape(a.metrics);
  t.equal(text.match(/^pullguard_audit_workload_problems\{/gm)?.length, 1);
  t.match(text, 'pullguard_audit_series_dropped_total 1');
  t.equal(a.audit.audit.status().lastRun?.findings.length, 2, 'GET /audit still has every finding');
});

t.test('GET /audit on the metrics port: the last run\'s findings and summary as JSON', async (t) => {
  const a = replica('json');
  t.teardown(() => a.close());
  const ops = buildOpsApp({ metrics: a.metrics, logger: log, readiness: { ready: () => ({ ready: true, reasons: [] }) }, routes: a.audit.routes });
  t.teardown(() => ops.close());
  const before = await ops.inject({ method: 'GET', url: '/audit' });
  t.equal(before.statusCode, 200);
  t.same(before.json(), { enabled: true, leader: false, lastRun: null });
  await a.audit.audit.tick();
  const after = await ops.inject({ method: 'GET', url: '/audit' });
  const body = after.json<{ leader: boolean; lastRun: { summary: { workloads: number; deny: number }; findings: { kind: string; name: string; reason: string; message: string; field: string }[]; registryQuestions: number } }>();
  t.equal(body.leader, true);
  t.equal(body.lastRun.summary.workloads, 5);
  t.equal(body.lastRun.summary.deny, 2);
  t.same(body.lastRun.findings.map((f) => [f.kind, f.name, f.field, f.reason]), [
    ['Deployment', 'web', 'spec.template.spec.containers[1].image', 'TagNotFound'],
    ['StatefulSet', 'db', 'spec.template.spec.containers[0].image', 'RepositoryNotFound'],
  ]);
  t.match(body.lastRun.findings[0]!.message, /Fix: use an existing tag/);
  t.equal(body.lastRun.registryQuestions, 3, 'team/app:1.0 asked once for four workloads');
  t.equal((await ops.inject({ method: 'GET', url: '/metrics' })).statusCode, 200, 'the other routes stay');
});

t.test('events: none by default; with audit.events, a Warning ImageWouldNotPull on each workload that cannot pull', async (t) => {
  const quiet = replica('quiet');
  await quiet.audit.audit.tick();
  await quiet.close();
  t.equal(api.events.length, 0, 'off by default');

  const loud = replica('loud', { events: true });
  t.teardown(() => loud.close());
  await loud.audit.audit.tick();
  const events = api.events as { involvedObject: { kind: string; name: string; namespace: string; uid: string }; reason: string; type: string; message: string; metadata: { namespace: string } }[];
  t.same(events.map((e) => [e.metadata.namespace, e.involvedObject.kind, e.involvedObject.name, e.reason, e.type]).sort(), [
    ['shop', 'Deployment', 'web', 'ImageWouldNotPull', 'Warning'],
    ['shop', 'StatefulSet', 'db', 'ImageWouldNotPull', 'Warning'],
  ]);
  t.match(events.find((e) => e.involvedObject.name === 'web')?.message, /container "c1" \(spec\.template\.spec\.containers\[1\]\.image\): .*TagNotFound/);
  t.ok(events.every((e) => e.involvedObject.uid !== ''), 'events point at the object by uid');
  t.equal(loud.audit.audit.status().lastRun?.eventsCreated, 2);
});

t.test('namespace include and exclude: globs, exclude wins', async (t) => {
  const f = namespaceFilter({ include: ['team-*', 'shop'], exclude: ['team-sandbox'] });
  t.same(['team-a', 'shop', 'team-sandbox', 'other'].map(f), [true, true, false, false]);
  t.same(['anything'].map(namespaceFilter({ include: [], exclude: [] })), [true]);
});

t.test('audit.enabled without a cluster is a configuration error, not a silent no-op', async (t) => {
  const loaded = loadConfig({ flags: {}, env: {} });
  if (!loaded.ok) throw new Error('defaults must load');
  t.equal(loaded.config.audit.enabled, false, 'off by default');
  const config = { ...loaded.config, kubernetes: { ...loaded.config.kubernetes, enabled: false as const }, audit: { ...loaded.config.audit, enabled: true } };
  const setup = setupContinuousAudit(config, { registry: { resolve: () => Promise.reject(new Error('unused')) }, checkerFor: () => ({ check: () => Promise.reject(new Error('unused')) }), metricsRegistry: createMetrics({ defaultMetrics: false }).registry, logger: log });
  t.same(setup, { ok: false, error: 'audit.enabled needs the API server, but kubernetes.enabled is false' });
});

t.test('stopping while a Lease renewal is in flight waits for it, then releases the Lease it won', async (t) => {
  let settle!: (held: boolean) => void;
  const calls: string[] = [];
  const lease = {
    tryAcquire: () => {
      calls.push('acquire');
      return new Promise<{ held: boolean }>((resolve) => (settle = (held) => resolve({ held })));
    },
    release: async () => void calls.push('release'),
  };
  const config = (loadConfig({ env: {} }) as { ok: true; config: Config }).config;
  const audit = createContinuousAudit({
    config: { ...config.audit, enabled: true },
    kc: new KubeConfig(),
    lease,
    checkerFor: () => ({ check: async () => ({ findings: [], excluded: [] }) }),
    registry: { resolve: async () => { throw new Error('not asked'); } },
    metricsRegistry: new Registry(),
    logger: { info() {}, warn() {} },
  });
  const ticking = audit.tick();
  const stopped = audit.stop();
  settle(true);
  await Promise.all([ticking, stopped]);
  t.same(calls, ['acquire', 'release'], 'the renewal landed first, and the release came after it');
  t.equal(audit.status().leader, false);
});
