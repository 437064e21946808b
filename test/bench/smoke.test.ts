// Keeps the bench from rotting: runs every scenario at a tiny scale against the same world `npm run bench` builds,
// and checks only what must be true whatever the machine (right answers, requests counted, memory read), never
// how fast. Timing belongs to `npm run bench`, not to tests.
import t from 'tap';
import { latencyStats } from './load.ts';
import { planFrom } from './plan.ts';
import { details, nodesTable, table, verdicts, type Results } from './report.ts';
import { nodeScale } from './nodes.ts';
import { MINIMUM_HERD_REQUESTS, coldLatency, herd, memory, memoryImage, memorySnapshot, requestKind, warmLatency } from './scenarios.ts';
import { parseMetrics, metricSum, startWorld, type World } from './world.ts';
import { hostileReport, stallingRegistry } from './hostile.ts';

t.test('request kinds are told apart by method and path, as the fault proxy logs them', async (t) => {
  const cases: [string, string, string][] = [
    ['GET', '/v2/', 'ping'],
    ['HEAD', '/v2/public/herd/manifests/1.0', 'manifest HEAD'],
    ['GET', '/v2/public/herd/manifests/sha256:abc', 'manifest GET'],
    ['GET', '/v2/a/b/c/blobs/sha256:abc', 'blob'],
    ['GET', '/v2/public/herd/tags/list?n=100', 'tags'],
    ['PUT', '/v2/public/herd/manifests/1.0', 'other'],
  ];
  for (const [method, path, kind] of cases) t.equal(requestKind(method, path), kind, `${method} ${path}`);
});

t.test('percentiles are nearest-rank over the samples', async (t) => {
  const s = latencyStats(Array.from({ length: 100 }, (_, i) => 100 - i));
  t.match(s, { count: 100, p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 });
});

t.test('memory images spread over repositories, the first tags of each existing', async (t) => {
  const shape = { repositories: 2, existingTags: 1 };
  t.same([0, 1, 2, 3].map((i) => memoryImage(i, shape)), [
    { repository: 'public/mem-000', tag: 'v0', exists: true },
    { repository: 'public/mem-001', tag: 'v0', exists: true },
    { repository: 'public/mem-000', tag: 'missing-1', exists: false },
    { repository: 'public/mem-001', tag: 'missing-1', exists: false },
  ]);
});

t.test('the plan scales every count down but never to nothing, and each can be set alone', async (t) => {
  const quick = planFrom({ BENCH_SCALE: '0.001' });
  t.ok(quick.warm.count >= 1 && quick.cold.images >= 1 && quick.herd.reviews >= 1 && quick.memory.reviews >= 1);
  t.equal(planFrom({}).memory.reviews, 100_000);
  t.equal(planFrom({ BENCH_HERD_REVIEWS: '7' }).herd.reviews, 7);
  t.throws(() => planFrom({ BENCH_SCALE: 'fast' }), /BENCH_SCALE/);
});

t.test('Prometheus text is read back into samples', async (t) => {
  const samples = parseMetrics('# HELP x\nx_total{a="1",b="q\\"t"} 3\nx_total{a="2"} 4\ny 1.5e3\n');
  t.equal(metricSum(samples, 'x_total'), 7);
  t.equal(metricSum(samples, 'x_total', { a: '2' }), 4);
  t.equal(metricSum(samples, 'y'), 1500);
});

t.test('every scenario runs end to end at a tiny scale and gets right answers', async (t) => {
  // startWorld stops what it started when it fails part-way; after that, teardown does.
  const world: World = await startWorld({ fromSource: true });
  t.teardown(() => world.close());
  const atStart = await memorySnapshot(world);
  t.ok(atStart.rssBytes > 0 && atStart.heapUsedBytes > 0, 'memory is read from /proc and /metrics');

  const warm = await warmLatency(world, { count: 20, warmup: 4, concurrency: 4, rounds: 2, maxMs: 30_000 });
  for (const target of [warm.pullguard, warm.bare, warm.unmemoized, warm.shell]) {
    t.match(target.checks, { ok: 20, failures: 0 }, 'every warm answer is the AdmissionReview for its uid');
    t.equal(target.allowed, 20);
    t.equal(target.latency.count, 20);
    t.ok(target.reviewsPerSecond > 0);
  }
  t.equal(warm.responseBytes.bare, warm.responseBytes.pullguard, 'the bare route answers as many bytes as pullguard');
  t.equal(warm.responseBytes.shell, warm.responseBytes.pullguard, 'so does the webhook with a canned review');
  t.ok(warm.shell.cpuUsPerReview >= 0, 'the webhook without its review is measured like the others');
  t.ok(warm.memoHits > 0 && warm.memoHits <= 20, `the memo of clean checks answered some of the same Deployment's reviews (${warm.memoHits})`);

  // The review bodies differ only where asked: uid, image, and (for the cold baseline's warm review) the container's name.
  const spliced = JSON.parse(world.review('u-1', 'example.com/a:1', 'hop-1')) as { request: { uid: string; object: { spec: { template: { spec: { containers: { name: string; image: string }[] } } } } } };
  t.match(spliced.request, { uid: 'u-1', object: { spec: { template: { spec: { containers: [{ name: 'hop-1', image: 'example.com/a:1' }] } } } } });
  const plain = JSON.parse(world.review('u-2', 'example.com/a:1')) as typeof spliced;
  t.not(plain.request.object.spec.template.spec.containers[0]!.name, 'hop-1', 'the fixture\'s own name by default');

  const cold = await coldLatency(world, { images: 2, maxMs: 30_000 });
  t.match(cold.checks, { ok: 2, failures: 0 });
  t.equal(cold.allowed, 2);
  t.equal(cold.rawHeadMs.length, 2);
  t.ok(cold.median.rawHead > 0 && cold.median.rawHeadIndex > 0);
  t.equal(cold.rawReusedMs.length, 2, 'the like-with-like baseline ran for every image');
  t.ok(cold.median.rawReused > 0 && cold.pullguardCpuMsPerReview >= 0);
  t.equal(cold.tokenServerRequestsPerImage, 4, "the token server saw one token per image for pullguard and each of the three baselines");
  t.ok((cold.registryRequestsPerReview['token'] ?? 0) >= 1, 'a cold review includes a token exchange');
  // One manifest request: a GET alone since the registry host is known to count no pulls (issue #13), else a HEAD.
  t.ok((cold.registryRequestsPerReview['manifest HEAD'] ?? 0) + (cold.registryRequestsPerReview['manifest GET'] ?? 0) >= 1, 'and a manifest request');

  const h = await herd(world, { reviews: 10 });
  t.match(h.checks, { ok: 10, failures: 0 });
  t.equal(h.allowed, 10);
  t.ok(h.requests['manifest HEAD'] >= 1 && h.requests.token >= 1 && h.requests.ping >= 1, 'requests reaching the registry are counted');
  t.ok(h.cache.miss >= 1);
  t.same(h.minimum, MINIMUM_HERD_REQUESTS);

  const m = await memory(world, { reviews: 20, images: 8, repositories: 2, existingTags: 1, concurrency: 4, maxMs: 30_000, rssCapBytes: 64 * 1024 ** 3 });
  t.match(m.checks, { ok: 20, failures: 0 });
  t.equal(m.allowed + m.denied, 20);
  t.ok(m.allowed >= 1 && m.denied >= 1, 'both existing and missing tags are reviewed');
  t.ok(m.before.rssBytes > 0 && m.after.rssBytes > 0 && m.after.heapUsedBytes > 0 && m.after.peakRssBytes >= m.after.rssBytes);
  t.ok(m.after.afterGc.heapUsedBytes > 0 && m.after.afterGc.rssBytes > 0, 'a full GC through the inspector, then a reading');
  t.ok(m.after.afterGc.peakMallocedBytes > 0 && Number.isFinite(m.cpuUsPerReview), "V8's peak malloc'd memory and CPU per review are read");
  t.ok(m.rssTimeline.length >= 2 && m.rssTimeline.at(-1)!.reviews === 20 && m.rssTimeline.every((s) => s.rssMiB > 0), 'RSS is sampled from the start of the run to its end');
  t.ok((m.registryRequests['manifest HEAD'] ?? 0) + (m.registryRequests['manifest GET'] ?? 0) >= 1);

  const results: Results = {
    meta: { date: new Date().toISOString(), node: process.version, cpus: 2, commit: 'test', pullguard: 'src/', loadAverage: { start: 0, end: 0 } },
    plan: planFrom({ BENCH_SCALE: '0.001' }),
    cache: world.cache,
    atStart,
    warm,
    cold,
    herd: h,
    memory: m,
  };
  const text = `${table(results)}\n${details(results)}`;
  t.match(text, /Warm review p99/);
  for (const row of ['Warm review p99, the webhook without its review', 'Warm throughput, the webhook without its review', 'Server CPU per warm review, the webhook without its review']) t.ok(text.includes(row), `the table prints: ${row}`);
  t.match(text, /Every answer was an AdmissionReview for the uid sent/);
  t.notMatch(text, /NaN/);
  t.same(Object.keys(verdicts(results)).sort(), ['cold', 'herd', 'rss', 'warmP99', 'warmThroughput']);

  const stall = await stallingRegistry(world, { reviews: 4, concurrency: 2, timeoutSeconds: 2, maxMs: 30_000 });
  t.match(stall, { reviews: 4, failures: 0, allowed: 4, deadlineMs: 1000 }, 'a registry that never answers: every review admitted');
  t.equal(stall.latency.count, 4);
  t.ok(stall.before.rssBytes > 0 && stall.after.afterGcRssBytes > 0 && Number.isFinite(stall.serverMeanMs));
  const n = await nodeScale(world, { counts: [70], reviews: 8, warmup: 4, concurrency: 4, maxMs: 30_000, syncTimeoutMs: 60_000 });
  t.match(n.pairs, [{ baseline: { nodes: 2, ok: 8, failures: 0 }, scaled: { nodes: 70, ok: 8, failures: 0 } }], 'pullguard with many realistic nodes answers every review, beside a 2-node one');
  t.ok(n.pairs[0]!.scaled.nodeJsonBytes > 15_000 && n.pairs[0]!.scaled.afterGc.rssBytes > 0 && n.pairs[0]!.scaled.cpuUsPerReview > 0, 'realistic Node objects, memory and CPU read');
  t.notMatch(nodesTable(n, 384 * 1024 ** 2), /NaN/);
  // The wide review is left out: 200 real resolutions would double this test's time (test/e2e/bounded-work covers it).
  const hostile = hostileReport(stall, undefined);
  t.match(hostile, /late answers/);
  t.notMatch(hostile, /NaN/);
});

t.test('BENCH_SCENARIOS picks scenarios by name', async (t) => {
  t.same(planFrom({ BENCH_SCENARIOS: 'stall,wide' }).scenarios, ['stall', 'wide']);
  t.equal(planFrom({}).scenarios.length, 8, 'all of them by default, the CLI and nodes scenarios included');
  t.throws(() => planFrom({ BENCH_SCENARIOS: 'stall,nope' }), /unknown scenario "nope"/);
});
