// The hostile-input load figures (issue "Hostile input and hostile registries"): many reviews against a registry
// that never answers, counting answers that came after the review's own deadline, with pullguard's RSS before and
// after; and one review naming 20,000 distinct images, with its RSS, latency and log volume.
//
// The stall scenario's client runs in a process of its own (load-client.ts): lateness is measured where only the
// client's own work can delay it, and both sides' event-loop delay is reported beside it.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dieWithParent, trackChild } from '../harness/lifecycle.ts';
import type { ClientJob, ClientResult, LoopDelay } from './load-client.ts';
import { openPool, latencyStats, type LatencyStats } from './load.ts';
import { WARM_IMAGE, collectGarbage, metricSum, sampleProcess, scrape, type World } from './world.ts';

const LOAD_CLIENT = fileURLToPath(new URL('./load-client.ts', import.meta.url));

export interface StallOptions {
  reviews: number;
  concurrency: number;
  /** The `?timeout=` each review carries, seconds (the API server's timeoutSeconds). */
  timeoutSeconds: number;
  maxMs: number;
}

export interface Rss {
  rssBytes: number;
  afterGcRssBytes: number;
}

export interface StallResult {
  reviews: number;
  concurrency: number;
  timeoutSeconds: number;
  /** When pullguard means to answer: the timeout less its margin (config defaults), ms after receipt. */
  deadlineMs: number;
  latency: LatencyStats;
  /** pullguard's own mean handling time (its admission duration histogram), ms. */
  serverMeanMs: number;
  /** Answers pullguard itself had ready only after the deadline, counted from the request's headers. */
  serverLate: number;
  /** Answers read after the review's own deadline (measured at the client, so transit counts against us). */
  late: number;
  /** Answers read after the API server's timeout itself. */
  afterTimeout: number;
  /** How far after the deadline the latest answer came, ms (0: none late). */
  worstLateMs: number;
  /** The client's own event-loop delay during the run (its own process). */
  clientLoopDelay: LoopDelay;
  /** pullguard's event-loop delay over the run (its nodejs_eventloop_lag metrics), ms. */
  serverLoopDelay: { p99Ms: number; maxMs: number };
  /** pullguard's lag margin at the end of the run (pullguard_admission_lag_margin_seconds), ms. */
  lagMarginMs: number;
  /** CPU time, ms: the client process's and pullguard's over the run. */
  clientCpuMs: number;
  serverCpuMs: number;
  /** 1-minute load average at the start and end of the run. */
  loadAverage: { start: number; end: number };
  failures: number;
  firstFailure?: string;
  allowed: number;
  wallMs: number;
  before: Rss;
  after: Rss;
  peakRssBytes: number;
  stoppedEarly?: string;
}

/** The webhook's default deadline margin (config server.deadlineMarginMs), at most half the timeout. */
const MARGIN_MS = 1500;

async function rss(world: World): Promise<Rss> {
  const rssBytes = sampleProcess(world.pullguard.pid).rssBytes;
  const gc = await collectGarbage(world.pullguard);
  return { rssBytes, afterGcRssBytes: gc.rssBytes };
}

/** N reviews, each of its own image behind the fault proxy, which stalls every request (never answers). */
export async function stallingRegistry(world: World, opts: StallOptions): Promise<StallResult> {
  const timeoutMs = opts.timeoutSeconds * 1000;
  const deadlineMs = timeoutMs - Math.min(MARGIN_MS, Math.floor(timeoutMs / 2));
  const before = await rss(world);
  const histogram = async () => {
    const m = await scrape(world.pullguard);
    return {
      sum: metricSum(m, 'pullguard_admission_duration_seconds_sum'),
      count: metricSum(m, 'pullguard_admission_duration_seconds_count'),
      late: metricSum(m, 'pullguard_admission_late_total'),
      // prom-client's loop-delay figures cover the time since the previous scrape.
      lagP99: metricSum(m, 'pullguard_nodejs_eventloop_lag_p99_seconds'),
      lagMax: metricSum(m, 'pullguard_nodejs_eventloop_lag_max_seconds'),
      margin: metricSum(m, 'pullguard_admission_lag_margin_seconds'),
    };
  };
  const h0 = await histogram();
  const run = `${process.pid}-${Date.now()}`;
  const job: ClientJob = {
    origin: world.pullguard.origin,
    caPem: world.pki.caPem,
    count: opts.reviews,
    concurrency: opts.concurrency,
    maxMs: opts.maxMs,
    path: `/validate?timeout=${opts.timeoutSeconds}s`,
    imagePrefix: world.proxied('stalled/app'),
    run,
    openImage: world.image(WARM_IMAGE),
  };
  const [command, ...prefix] = [...dieWithParent(), process.execPath];
  const child = spawn(command!, [...prefix, LOAD_CLIENT, JSON.stringify(job)], { stdio: ['pipe', 'pipe', 'inherit'] });
  trackChild(child);
  const lines = createInterface({ input: child.stdout! });
  const next = (): Promise<string> => new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`stall: the load client exited (${code})`));
    child.once('exit', onExit);
    lines.once('line', (line) => {
      child.off('exit', onExit);
      resolve(line);
    });
  });
  try {
    await next();
    world.proxy.setFault({ kind: 'stall' });
    const loadStart = loadavg()[0]!;
    const cpu0 = sampleProcess(world.pullguard.pid).cpuMs;
    child.stdin!.write('go\n');
    const client = JSON.parse(await next()) as ClientResult;
    const result = client.load;
    const serverCpuMs = sampleProcess(world.pullguard.pid).cpuMs - cpu0;
    const loadEnd = loadavg()[0]!;
    const h1 = await histogram();
    const after = await rss(world);
    const lateBy = result.latenciesMs.map((ms) => ms - deadlineMs).filter((x) => x > 0);
    return {
      serverMeanMs: h1.count > h0.count ? ((h1.sum - h0.sum) * 1000) / (h1.count - h0.count) : NaN,
      serverLate: h1.late - h0.late,
      reviews: result.sent,
      concurrency: opts.concurrency,
      timeoutSeconds: opts.timeoutSeconds,
      deadlineMs,
      latency: latencyStats(result.latenciesMs),
      late: lateBy.length,
      worstLateMs: lateBy.length > 0 ? Math.max(...lateBy) : 0,
      afterTimeout: result.latenciesMs.filter((ms) => ms > timeoutMs).length,
      clientLoopDelay: client.loopDelay,
      serverLoopDelay: { p99Ms: h1.lagP99 * 1000, maxMs: h1.lagMax * 1000 },
      lagMarginMs: h1.margin * 1000,
      clientCpuMs: client.cpuMs,
      serverCpuMs,
      loadAverage: { start: loadStart, end: loadEnd },
      failures: result.failures,
      ...(result.firstFailure !== undefined ? { firstFailure: result.firstFailure } : {}),
      allowed: result.allowed,
      wallMs: result.wallMs,
      before,
      after,
      peakRssBytes: sampleProcess(world.pullguard.pid).peakRssBytes,
      ...(result.stoppedEarly !== undefined ? { stoppedEarly: result.stoppedEarly } : {}),
    };
  } finally {
    if (child.exitCode === null) child.kill();
    world.proxy.reset();
  }
}

export interface WideReviewResult {
  images: number;
  requestBytes: number;
  latencyMs: number;
  status?: number;
  allowed?: boolean;
  /** The warning that says how many images were not checked, if any. */
  notCheckedWarning?: string;
  failure?: string;
  before: Rss;
  /** Right after the answer (before any forced GC), and after a full GC. */
  after: Rss;
  peakRssBefore: number;
  peakRssAfter: number;
  logBytes: number;
  /** Registry requests the review caused, as seen at the fault proxy (pass-through). */
  registryRequests: number;
}

/** One review of `images` distinct images (missing tags on the real registry, through the pass-through proxy). */
export async function wideReview(world: World, opts: { images: number }): Promise<WideReviewResult> {
  const uid = `wide-${process.pid}-${Date.now()}`;
  const template = JSON.parse(world.review(uid, 'placeholder')) as { request: { object: { spec: { template: { spec: { containers: Record<string, unknown>[] } } } } } };
  const first = template.request.object.spec.template.spec.containers[0]!;
  // Only name and image: the attack's 20,000-image review is 1.9 MB, under the 3 MiB body limit.
  template.request.object.spec.template.spec.containers = Array.from({ length: opts.images }, (_, i) => ({ name: `c${i}`, image: world.proxied(`wide/app:t${i}`), imagePullPolicy: first['imagePullPolicy'] ?? 'IfNotPresent' }));
  const body = JSON.stringify(template);
  const before = await rss(world);
  const peakRssBefore = sampleProcess(world.pullguard.pid).peakRssBytes;
  const logBefore = world.pullguard.stdoutBytes();
  world.proxy.reset();
  const pool = openPool(world.pullguard.origin, world.pki.caPem, 1);
  try {
    const started = performance.now();
    const res = await pool.request({ path: '/validate?timeout=10s', method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const text = await res.body.text();
    const latencyMs = performance.now() - started;
    const afterRss = sampleProcess(world.pullguard.pid).rssBytes;
    const peakRssAfter = sampleProcess(world.pullguard.pid).peakRssBytes;
    // Let work still running after the answer (there should be none) show up in the request count.
    await new Promise((r) => setTimeout(r, 2000));
    const gc = await collectGarbage(world.pullguard);
    let answer: { response?: { allowed?: boolean; warnings?: string[] } } | undefined;
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      answer = undefined;
    }
    const warning = answer?.response?.warnings?.find((w) => /not checked/.test(w));
    return {
      images: opts.images,
      requestBytes: Buffer.byteLength(body),
      latencyMs,
      status: res.statusCode,
      ...(answer?.response?.allowed !== undefined ? { allowed: answer.response.allowed } : {}),
      ...(warning !== undefined ? { notCheckedWarning: warning } : {}),
      ...(res.statusCode !== 200 ? { failure: text.slice(0, 300) } : {}),
      before,
      after: { rssBytes: afterRss, afterGcRssBytes: gc.rssBytes },
      peakRssBefore,
      peakRssAfter,
      logBytes: world.pullguard.stdoutBytes() - logBefore,
      registryRequests: world.proxy.requests.length,
    };
  } finally {
    await pool.close();
  }
}

const MIB = 1024 * 1024;
const mib = (b: number): string => `${(b / MIB).toFixed(0)} MiB`;
const ms = (x: number): string => `${x.toFixed(0)} ms`;

export function hostileReport(stall: StallResult | undefined, wide: WideReviewResult | undefined): string {
  const out: string[] = [];
  if (stall) {
    out.push(
      `Stalling registry: ${stall.reviews} reviews at ${stall.concurrency} in flight, each of its own image, ?timeout=${stall.timeoutSeconds}s (deadline ${ms(stall.deadlineMs)} after receipt), in ${(stall.wallMs / 1000).toFixed(1)} s${stall.stoppedEarly ? ` (stopped early: ${stall.stoppedEarly})` : ''}:`,
      `  late answers (after the review's deadline): ${stall.late} of ${stall.reviews} measured at the client in its own process (transit and the client's own queueing included; the latest ${ms(stall.worstLateMs)} after the deadline), ${stall.serverLate} as pullguard counts them (from the request's headers); after the API server's timeout: ${stall.afterTimeout}`,
      `  event-loop delay: client p99 ${ms(stall.clientLoopDelay.p99Ms)}, max ${ms(stall.clientLoopDelay.maxMs)}; pullguard p99 ${ms(stall.serverLoopDelay.p99Ms)}, max ${ms(stall.serverLoopDelay.maxMs)}, lag margin at the end ${ms(stall.lagMarginMs)}; CPU client ${(stall.clientCpuMs / 1000).toFixed(1)} s, pullguard ${(stall.serverCpuMs / 1000).toFixed(1)} s; load average ${stall.loadAverage.start.toFixed(1)} → ${stall.loadAverage.end.toFixed(1)}`,
      `  pullguard's own mean handling time ${ms(stall.serverMeanMs)}; at the client: latency p50 ${ms(stall.latency.p50)}, p90 ${ms(stall.latency.p90)}, p99 ${ms(stall.latency.p99)}, max ${ms(stall.latency.max)}; ${stall.allowed} admitted, ${stall.failures} bad answers${stall.firstFailure ? ` (first: ${stall.firstFailure})` : ''}`,
      `  RSS before ${mib(stall.before.rssBytes)} (${mib(stall.before.afterGcRssBytes)} after GC), after ${mib(stall.after.rssBytes)} (${mib(stall.after.afterGcRssBytes)} after GC); peak so far ${mib(stall.peakRssBytes)}`,
    );
  }
  if (wide) {
    out.push(
      `One review of ${wide.images.toLocaleString('en-US')} distinct images (${(wide.requestBytes / MIB).toFixed(1)} MiB): answered ${wide.status} in ${ms(wide.latencyMs)}, allowed=${wide.allowed}${wide.failure ? `, failure: ${wide.failure}` : ''}`,
      `  ${wide.notCheckedWarning ?? 'no "not checked" warning'}`,
      `  RSS before ${mib(wide.before.rssBytes)} (${mib(wide.before.afterGcRssBytes)} after GC), right after the answer ${mib(wide.after.rssBytes)}, after GC ${mib(wide.after.afterGcRssBytes)}; peak RSS ${mib(wide.peakRssBefore)} before, ${mib(wide.peakRssAfter)} after`,
      `  ${wide.registryRequests} registry requests (including 2 s after the answer); ${(wide.logBytes / 1024).toFixed(1)} KiB of log`,
    );
  }
  return out.join('\n');
}
