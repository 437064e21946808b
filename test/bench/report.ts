// The bench's output: one Markdown table of figures, each next to the baseline measured in the same run, the ratio
// and the issue's target; details below it; and the same figures as JSON. Figures, never assertions.
import type { Plan } from './plan.ts';
import type { ColdResult, HerdResult, MemoryResult, MemorySnapshot, RequestKind, WarmResult } from './scenarios.ts';
import type { NodesResult } from './nodes.ts';

export interface Results {
  meta: { date: string; node: string; cpus: number; commit: string; pullguard: string; loadAverage: { start: number; end: number } };
  plan: Plan;
  cache: { tagTtlSeconds: number; digestTtlSeconds: number; negativeTtlSeconds: number; maxEntries: number; maxBytes: number; cleanCheckTtlMs: number };
  atStart: MemorySnapshot;
  warm: WarmResult;
  cold: ColdResult;
  herd: HerdResult;
  memory: MemoryResult;
}

export interface Verdicts {
  warmP99: Verdict;
  warmThroughput: Verdict;
  cold: Verdict;
  herd: Verdict;
  rss: Verdict;
}

export interface Verdict {
  target: string;
  met: boolean;
}

const MIB = 1024 * 1024;
/** The issue's targets (#13): warm p99 and throughput against the bare route, cold against a warm review + raw token + manifest GET on kept-alive connections, peak RSS. */
export const TARGETS = { warmP99Ratio: 1.25, warmThroughputRatio: 0.8, coldRatio: 1.2, peakRssBytes: 160 * MIB } as const;

export function verdicts(r: Results): Verdicts {
  const manifests = r.herd.requests['manifest HEAD'] + r.herd.requests['manifest GET'];
  const minimumManifests = r.herd.minimum['manifest HEAD'] + r.herd.minimum['manifest GET'];
  return {
    warmP99: { target: `≤ ${TARGETS.warmP99Ratio}×`, met: r.warm.pullguard.latency.p99 / r.warm.bare.latency.p99 <= TARGETS.warmP99Ratio },
    warmThroughput: { target: `≥ ${TARGETS.warmThroughputRatio}×`, met: r.warm.pullguard.reviewsPerSecond / r.warm.bare.reviewsPerSecond >= TARGETS.warmThroughputRatio },
    // Like with like (#13): the baseline sends what pullguard sends, over connections kept open as pullguard's are.
    cold: { target: `≤ ${TARGETS.coldRatio}×`, met: r.cold.median.pullguard / r.cold.median.rawReused <= TARGETS.coldRatio },
    herd: {
      target: 'one manifest HEAD (+ one GET of the index for platforms)',
      met: manifests === minimumManifests && (Object.keys(r.herd.minimum) as RequestKind[]).every((k) => r.herd.requests[k] <= r.herd.minimum[k]),
    },
    rss: { target: `≤ ${TARGETS.peakRssBytes / MIB} MiB`, met: r.memory.after.peakRssBytes <= TARGETS.peakRssBytes },
  };
}

const ms = (x: number): string => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(2) : x.toFixed(1)} ms` : 'n/a');
const mib = (x: number): string => (Number.isFinite(x) ? `${(x / MIB).toFixed(1)} MiB` : 'n/a');
const ratio = (a: number, b: number): string => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : 'n/a');
const count = (x: number): string => Math.round(x).toLocaleString('en-US');
const met = (v: Verdict): string => `${v.target} ${v.met ? '✔ met' : '✘ missed'}`;

function kinds(requests: Record<string, number>): string {
  return Object.entries(requests).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${Number.isInteger(n) ? n : n.toFixed(2)}`).join(', ') || 'none';
}

export function table(r: Results): string {
  const v = verdicts(r);
  const w = r.warm;
  const c = r.cold;
  const h = r.herd;
  const m = r.memory;
  const rows: string[][] = [
    ['Figure', 'pullguard', 'Baseline (same run)', 'Ratio', 'Target'],
    [`Warm review p50 (${count(w.pullguard.latency.count)} reviews, ${w.concurrency} in flight)`, ms(w.pullguard.latency.p50), `${ms(w.bare.latency.p50)} bare Fastify route`, ratio(w.pullguard.latency.p50, w.bare.latency.p50), ''],
    ['Warm review p99', ms(w.pullguard.latency.p99), `${ms(w.bare.latency.p99)} bare Fastify route`, ratio(w.pullguard.latency.p99, w.bare.latency.p99), met(v.warmP99)],
    ['Warm throughput', `${count(w.pullguard.reviewsPerSecond)}/s`, `${count(w.bare.reviewsPerSecond)}/s bare Fastify route`, ratio(w.pullguard.reviewsPerSecond, w.bare.reviewsPerSecond), met(v.warmThroughput)],
    ['Server CPU per warm review', `${count(w.pullguard.cpuUsPerReview)} µs`, `${count(w.bare.cpuUsPerReview)} µs bare Fastify route`, ratio(w.pullguard.cpuUsPerReview, w.bare.cpuUsPerReview), ''],
    [`Warm review p99, memo off (cache.cleanCheckTtlMs: 0, every review checked)`, ms(w.unmemoized.latency.p99), `${ms(w.bare.latency.p99)} bare Fastify route`, ratio(w.unmemoized.latency.p99, w.bare.latency.p99), ''],
    ['Warm throughput, memo off', `${count(w.unmemoized.reviewsPerSecond)}/s`, `${count(w.bare.reviewsPerSecond)}/s bare Fastify route`, ratio(w.unmemoized.reviewsPerSecond, w.bare.reviewsPerSecond), ''],
    ['Server CPU per warm review, memo off', `${count(w.unmemoized.cpuUsPerReview)} µs`, `${count(w.bare.cpuUsPerReview)} µs bare Fastify route`, ratio(w.unmemoized.cpuUsPerReview, w.bare.cpuUsPerReview), ''],
    ['Server CPU per warm review, the webhook without its review (its app, handler, metrics, logger; a canned answer)', `${count(w.shell.cpuUsPerReview)} µs`, `${count(w.bare.cpuUsPerReview)} µs bare Fastify route`, ratio(w.shell.cpuUsPerReview, w.bare.cpuUsPerReview), ''],
    ['Warm review p99, the webhook without its review', ms(w.shell.latency.p99), `${ms(w.bare.latency.p99)} bare Fastify route`, ratio(w.shell.latency.p99, w.bare.latency.p99), ''],
    ['Warm throughput, the webhook without its review', `${count(w.shell.reviewsPerSecond)}/s`, `${count(w.bare.reviewsPerSecond)}/s bare Fastify route`, ratio(w.shell.reviewsPerSecond, w.bare.reviewsPerSecond), ''],
    [`Cold review, median of ${c.images} new images (token exchange included)`, ms(c.median.pullguard), `${ms(c.median.rawHead)} raw token GET + HEAD, fresh connections`, ratio(c.median.pullguard, c.median.rawHead), ''],
    ['Cold review vs the platform-aware minimum', ms(c.median.pullguard), `${ms(c.median.rawHeadIndex)} raw token GET + HEAD + GET index, fresh connections`, ratio(c.median.pullguard, c.median.rawHeadIndex), ''],
    ['Cold review vs the same requests on kept-alive connections (like with like)', ms(c.median.pullguard), `${ms(c.median.rawReused)} a warm review + raw token GET + manifest GET, connections kept open as pullguard's`, ratio(c.median.pullguard, c.median.rawReused), met(v.cold)],
    [`Registry requests for ${count(h.reviews)} identical concurrent reviews, empty cache`, `${h.total} (${kinds(h.requests)})`, `${h.minimumTotal} minimum (${kinds(h.minimum)})`, ratio(h.total, h.minimumTotal), met(v.herd)],
    [`RSS after ${count(m.reviews)} reviews of ${count(m.images)} images${m.stoppedEarly ? ' (stopped early)' : ''}`, mib(m.after.rssBytes), `${mib(m.before.rssBytes)} before them (${mib(r.atStart.rssBytes)} at start)`, ratio(m.after.rssBytes, m.before.rssBytes), ''],
    ['RSS after them and a full GC', mib(m.after.afterGc.rssBytes), `${mib(m.before.afterGc.rssBytes)} before them`, ratio(m.after.afterGc.rssBytes, m.before.afterGc.rssBytes), ''],
    ['Heap used after them and a full GC', mib(m.after.afterGc.heapUsedBytes), `${mib(m.before.afterGc.heapUsedBytes)} before them`, ratio(m.after.afterGc.heapUsedBytes, m.before.afterGc.heapUsedBytes), ''],
    ['Peak RSS during the whole run (VmHWM)', mib(m.after.peakRssBytes), `${mib(r.atStart.rssBytes)} at start`, ratio(m.after.peakRssBytes, r.atStart.rssBytes), met(v.rss)],
  ];
  return markdown(rows);
}

function markdown(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]): string => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(rows[0]!), `| ${widths.map((n) => '-'.repeat(n)).join(' | ')} |`, ...rows.slice(1).map(line)].join('\n');
}

export const NODE_TARGETS = { cpuRatio: 1.2, cpuAtNodes: 5000, rssRatio: 1.6, rssAtNodes: 15_000, headroom: 0.3 } as const;

/**
 * The cluster-scale figures, each against the same pullguard with 2 nodes in the same run; `limitBytes` is the
 * chart's default memory limit (the RSS must stay under it with NODE_TARGETS.headroom to spare).
 */
export function nodesTable(r: NodesResult, limitBytes: number): string {
  const rows: string[][] = [['Figure', 'pullguard', 'Baseline (same run)', 'Ratio', 'Target']];
  for (const { baseline: b, scaled: s } of r.pairs) {
    const n = count(s.nodes);
    const cpuTarget = s.nodes === NODE_TARGETS.cpuAtNodes ? `≤ ${NODE_TARGETS.cpuRatio}× ${s.cpuUsPerReview / b.cpuUsPerReview <= NODE_TARGETS.cpuRatio ? '✔ met' : '✘ missed'}` : '';
    const rssMet = s.afterGc.rssBytes / b.afterGc.rssBytes <= NODE_TARGETS.rssRatio && s.underLoadRssBytes * (1 + NODE_TARGETS.headroom) <= limitBytes;
    const rssTarget = s.nodes === NODE_TARGETS.rssAtNodes ? `≤ ${NODE_TARGETS.rssRatio}×, and under load ≤ ${mib(limitBytes / (1 + NODE_TARGETS.headroom))} (chart limit ${mib(limitBytes)} less 30 % headroom) ${rssMet ? '✔ met' : '✘ missed'}` : '';
    rows.push(
      [`Server CPU per warm review, ${n} nodes (${count(s.ok)} reviews)`, `${count(s.cpuUsPerReview)} µs`, `${count(b.cpuUsPerReview)} µs with 2 nodes`, ratio(s.cpuUsPerReview, b.cpuUsPerReview), cpuTarget],
      [`Warm review p99, ${n} nodes`, ms(s.latency.p99), `${ms(b.latency.p99)} with 2 nodes`, ratio(s.latency.p99, b.latency.p99), ''],
      [`RSS after a full GC, ${n} nodes listed and reviewed`, mib(s.afterGc.rssBytes), `${mib(b.afterGc.rssBytes)} with 2 nodes`, ratio(s.afterGc.rssBytes, b.afterGc.rssBytes), rssTarget],
      [`RSS under load, ${n} nodes`, mib(s.underLoadRssBytes), `${mib(b.underLoadRssBytes)} with 2 nodes`, ratio(s.underLoadRssBytes, b.underLoadRssBytes), ''],
      [`Peak RSS (VmHWM, the paginated list included), ${n} nodes`, mib(s.peakRssBytes), `${mib(b.peakRssBytes)} with 2 nodes`, ratio(s.peakRssBytes, b.peakRssBytes), ''],
      [`Heap used after a full GC, ${n} nodes`, mib(s.afterGc.heapUsedBytes), `${mib(b.afterGc.heapUsedBytes)} with 2 nodes`, ratio(s.afterGc.heapUsedBytes, b.afterGc.heapUsedBytes), ''],
    );
  }
  const notes = [r.pairs[0]?.baseline, ...r.pairs.map((p) => p.scaled)].filter((s) => s !== undefined).map((s) => `${count(s.nodes)} nodes: ${count(s.nodeJsonBytes / 1024)} KiB per Node as listed, listed in ${(s.syncMs / 1000).toFixed(1)} s from the process start (500 per page), ${count(s.reviewsPerSecond)} reviews/s, RSS after the list and a full GC ${mib(s.idleAfterGcRssBytes)}${s.failures > 0 ? `, ${s.failures} BAD ANSWERS (first: ${s.firstFailure})` : ''}`);
  return `${markdown(rows)}\n\nThe 2-node pullguard runs beside each larger one, reviews alternating in rounds. ${notes.join('; ')}.`;
}

/** Where the memory run's RSS peaked among its 2-second samples: the phase that sets the peak. */
function peakSample(m: MemoryResult): string {
  const top = m.rssTimeline.reduce((a, b) => (b.rssMiB > a.rssMiB ? b : a), m.rssTimeline[0] ?? { seconds: 0, reviews: 0, rssMiB: NaN });
  return `RSS sampled every 2 s: highest ${top.rssMiB} MiB after ${count(top.reviews)} reviews (${top.seconds} s)`;
}

export function details(r: Results): string {
  const w = r.warm;
  const c = r.cold;
  const h = r.herd;
  const m = r.memory;
  const problems = [
    ['warm pullguard', w.pullguard.checks], ['warm bare', w.bare.checks], ['warm pullguard, memo off', w.unmemoized.checks], ['warm webhook without review', w.shell.checks], ['cold', c.checks], ['herd', h.checks], ['memory', m.checks],
  ].filter(([, ch]) => (ch as { failures: number }).failures > 0).map(([name, ch]) => `${name as string}: ${(ch as { failures: number }).failures} bad answers, first: ${(ch as { firstFailure?: string }).firstFailure}`);
  return [
    `Run: ${r.meta.date}, Node ${r.meta.node}, ${r.meta.cpus} CPUs (1-min load average ${r.meta.loadAverage.start.toFixed(1)} at start, ${r.meta.loadAverage.end.toFixed(1)} at end), commit ${r.meta.commit}, BENCH_SCALE=${r.plan.scale}, pullguard from ${r.meta.pullguard}.`,
    `Warm: request ${count(w.requestBytes)} B, response ${count(w.responseBytes.pullguard)} B (pullguard) / ${count(w.responseBytes.bare)} B (bare) / ${count(w.responseBytes.shell)} B (webhook without review); p90 ${ms(w.pullguard.latency.p90)} vs ${ms(w.bare.latency.p90)}, max ${ms(w.pullguard.latency.max)} vs ${ms(w.bare.latency.max)}; ${count(w.pullguard.allowed)} admitted; ${count(w.memoHits)} of the ${count(w.pullguard.latency.count)} measured reviews answered from the memo of clean checks (the same Deployment every time; cache.cleanCheckTtlMs ${r.cache.cleanCheckTtlMs} ms).`,
    `Cold: pullguard sent per review ${kinds(c.registryRequestsPerReview)} (ping cached, pooled connections), ${c.pullguardCpuMsPerReview.toFixed(2)} ms of its CPU per review (${c.warmHopCpuMsPerReview.toFixed(2)} ms per warm review paced alike); the token server saw ${c.tokenServerRequestsPerImage.toFixed(2)} token requests per image (pullguard's and three baselines'); ${c.allowed}/${c.images} admitted.`,
    `Herd: cache ${h.cache.miss} miss, ${h.cache.coalesced} coalesced onto it, ${h.cache.hit} hits; ${h.allowed}/${h.reviews} admitted in ${ms(h.wallMs)}. The minimum: GET /v2/ once to learn the token realm (a new registry host), one anonymous token for the repository, one HEAD for the digest, one GET of the index because the nodes are amd64 and arm64 (the index names its platforms, so no config blob); tokens are counted at the token server, the rest at the fault proxy.`,
    `Memory: ${count(m.reviews)} reviews at ${m.concurrency} in flight, ${count(m.reviewsPerSecond)}/s, over ${count(m.images)} images in ${m.repositories} repositories (${count(m.existingImages)} exist, the rest are missing tags: denied); ${count(m.allowed)} admitted, ${count(m.denied)} denied; registry requests ${kinds(m.registryRequests)}; ${count(m.cacheEvictions)} cache evictions; ${mib(m.logBytes)} of log; V8 heap before GC ${mib(m.after.heapUsedBytes)} used of ${mib(m.after.heapTotalBytes)}; ${peakSample(m)}; V8's peak malloc'd memory (compiler zones) ${mib(m.after.afterGc.peakMallocedBytes)}; ${count(m.cpuUsPerReview)} µs of server CPU per review.${m.stoppedEarly ? ` Stopped early: ${m.stoppedEarly}.` : ''}`,
    `Cache bounds: ${count(r.cache.maxEntries)} entries, ${mib(r.cache.maxBytes)}; TTLs tag ${r.cache.tagTtlSeconds} s, digest ${r.cache.digestTtlSeconds} s, negative ${r.cache.negativeTtlSeconds} s (default 10 s: raised so every denial of the memory run stays cached, the worst case for memory).`,
    ...(problems.length > 0 ? ['BAD ANSWERS (figures above are suspect):', ...problems] : ['Every answer was an AdmissionReview for the uid sent.']),
  ].join('\n');
}
