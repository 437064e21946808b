// Attack 2 of the hostile-input issue: growing memory through metrics. Every registry host an image names used to
// become a label value; now only configured and well-known registries keep their name and every other host is
// `other`, so 10,000 hosts leave the number of series where 10 left it.
import t from 'tap';
import { createMetrics } from '../../src/metrics.ts';
import { hostLabeller } from '../../src/metrics.ts';
import { configuredHosts, registryObserver } from '../../src/cli/runtime.ts';

async function seriesCount(metrics: ReturnType<typeof createMetrics>): Promise<number> {
  const all = await metrics.registry.getMetricsAsJSON();
  return all.reduce((n, m) => n + (m.values as unknown[]).length, 0);
}

function traffic(observer: NonNullable<ReturnType<typeof registryObserver>>, host: string): void {
  observer.request!({ host, method: 'HEAD', operation: 'manifest', status: 404, durationMs: 12 });
  observer.request!({ host, method: 'GET', operation: 'token', error: 'ECONNREFUSED', durationMs: 3 });
  observer.rateLimit!({ host, remaining: 99, limit: 100 });
}

t.test('10,000 distinct registry hosts leave the series count flat', async (t) => {
  const metrics = createMetrics({ defaultMetrics: false });
  const observer = registryObserver(metrics, ['registry.internal:5000'])!;
  for (let i = 0; i < 10; i++) traffic(observer, `attacker-${i}.example:${1000 + i}`);
  const after10 = await seriesCount(metrics);
  for (let i = 10; i < 10_000; i++) traffic(observer, `attacker-${i}.example:${1000 + i}`);
  const after10k = await seriesCount(metrics);
  t.equal(after10k, after10, `${after10} series after 10 hosts, ${after10k} after 10,000`);
  const text = await metrics.registry.metrics();
  t.ok(text.length < 10_000, `/metrics is ${text.length} bytes`);
  t.match(text, /pullguard_registry_requests_total\{host="other",operation="manifest",method="HEAD",status="404"\} 10000/);
});

t.test('hosts under a wildcard share the pattern as their label: anyone can invent subdomains', async (t) => {
  const metrics = createMetrics({ defaultMetrics: false });
  const observer = registryObserver(metrics, [])!;
  for (let i = 0; i < 1000; i++) traffic(observer, `${i}.dkr.ecr.us-east-1.amazonaws.com`);
  for (let i = 0; i < 1000; i++) traffic(observer, `r${i}-docker.pkg.dev`);
  const text = await metrics.registry.metrics();
  t.match(text, /host="\*\.amazonaws\.com",operation="manifest",method="HEAD",status="404"\} 1000/);
  t.match(text, /host="\*\.pkg\.dev",operation="manifest",method="HEAD",status="404"\} 1000/);
  t.notMatch(text, /dkr\.ecr|r\d+-docker/);
});

t.test('host labels: configured and well-known registries by name, the rest as other', async (t) => {
  const label = hostLabeller(configuredHosts({ registries: { 'registry.internal:5000': { mirrors: [{ host: 'mirror.internal' }] }, 'Harbor.Example.com': {} } }));
  const cases: [string, string][] = [
    ['docker.io', 'docker.io'],
    ['registry-1.docker.io', 'registry-1.docker.io'],
    ['auth.docker.io', 'auth.docker.io'],
    ['registry.k8s.io', 'registry.k8s.io'],
    ['ghcr.io', 'ghcr.io'],
    ['quay.io', 'quay.io'],
    ['gcr.io', 'gcr.io'],
    ['eu.gcr.io', '*.gcr.io'],
    ['europe-west1-docker.pkg.dev', '*.pkg.dev'],
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com', '*.amazonaws.com'],
    ['myregistry.azurecr.io', '*.azurecr.io'],
    ['mcr.microsoft.com', 'mcr.microsoft.com'],
    ['registry.internal:5000', 'registry.internal:5000'],
    ['mirror.internal', 'mirror.internal'],
    ['harbor.example.com', 'harbor.example.com'],
    ['registry.internal:5001', 'other'],
    ['docker.io:443', 'other'],
    ['amazonaws.com.evil.example', 'other'],
    ['evil-gcr.io', 'other'],
    ['127.0.0.1:5000', 'other'],
    ['a\nb', 'other'],
  ];
  for (const [host, want] of cases) t.equal(label(host), want, JSON.stringify(host));
});

t.test('a status outside HTTP\'s range or an error that is not a plain code does not become a label', async (t) => {
  const metrics = createMetrics({ defaultMetrics: false });
  const observer = registryObserver(metrics, [])!;
  observer.request!({ host: 'docker.io', method: 'GET', operation: 'manifest', status: 9999, durationMs: 1 });
  observer.request!({ host: 'docker.io', method: 'GET', operation: 'manifest', error: 'something the registry said: <html>', durationMs: 1 });
  const text = await metrics.registry.metrics();
  t.match(text, /status="other"\} 1/);
  t.match(text, /status="error"\} 1/);
  t.notMatch(text, /9999|html/);
});
