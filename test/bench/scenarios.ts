// The four measurements of the "Fast and frugal" issue, each with its baseline measured in the same run:
// warm reviews against a bare Fastify route, a cold review against the raw token + HEAD round trip, the registry
// requests a herd of identical reviews costs against the minimum, and memory after many reviews of many images.
// Each returns figures only; judging them is the report's job.
import { readFileSync } from 'node:fs';
import { Client, type Dispatcher } from 'undici';
import { pushTags } from '../harness/push.ts';
import { latencyStats, median, openPool, runLoad, sendReview, type LatencyStats, type LoadResult } from './load.ts';
import { WARM_IMAGE, collectGarbage, metricSum, sampleProcess, scrape, type MetricSample, type ServerProcess, type World } from './world.ts';

/** Every Accept a current client sends for a manifest (what pullguard sends too). */
const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface Checks {
  /** Reviews answered 200 with an AdmissionReview for the right uid. */
  ok: number;
  failures: number;
  firstFailure?: string;
}

function checks(...results: LoadResult[]): Checks {
  const out: Checks = { ok: 0, failures: 0 };
  for (const r of results) {
    out.ok += r.ok;
    out.failures += r.failures;
    if (r.firstFailure !== undefined) out.firstFailure ??= r.firstFailure;
  }
  return out;
}

// --- 1. warm reviews ---------------------------------------------------------------------------------------

export interface WarmOptions {
  /** Measured reviews per target. */
  count: number;
  warmup: number;
  concurrency: number;
  /** Measured in this many alternating rounds (bare, pullguard, pullguard, bare, ...), to spread drift. */
  rounds: number;
  maxMs: number;
}

export interface TargetFigures {
  latency: LatencyStats;
  reviewsPerSecond: number;
  /** The server process's CPU time (user + system) per review, µs. */
  cpuUsPerReview: number;
  checks: Checks;
  allowed: number;
}

export interface WarmResult {
  image: string;
  requestBytes: number;
  responseBytes: { pullguard: number; bare: number; shell: number };
  concurrency: number;
  pullguard: TargetFigures;
  bare: TargetFigures;
  /** Measured reviews pullguard answered from its memo of clean checks (pullguard_check_memo_hits_total). */
  memoHits: number;
  /** A second pullguard with the memo off (cache.cleanCheckTtlMs: 0): every review checked. */
  unmemoized: TargetFigures;
  /** pullguard's webhook app with a canned review (shell-server.ts): what the webhook costs apart from the review. */
  shell: TargetFigures;
}

type WarmTarget = 'pullguard' | 'bare' | 'unmemoized' | 'shell';

async function responseBytes(origin: string, world: World, image: string): Promise<number> {
  const pool = openPool(origin, world.pki.caPem, 1);
  try {
    const res = await pool.request({ path: '/validate?timeout=10s', method: 'POST', headers: { 'content-type': 'application/json' }, body: world.review('bench-size', image) });
    return Buffer.byteLength(await res.body.text());
  } finally {
    await pool.close();
  }
}

export async function warmLatency(world: World, opts: WarmOptions): Promise<WarmResult> {
  const image = world.image(WARM_IMAGE);
  const unmemoized = await world.startPullguard(world.api.kubeconfigFile, { cleanCheckTtlMs: 0 });
  const shell = await world.startShell();
  const targets: { name: WarmTarget; server: ServerProcess }[] = [
    { name: 'bare', server: world.bare },
    { name: 'shell', server: shell },
    { name: 'pullguard', server: world.pullguard },
    { name: 'unmemoized', server: unmemoized },
  ];
  const collected: Record<WarmTarget, LoadResult[]> = { pullguard: [], bare: [], unmemoized: [], shell: [] };
  const cpuMs: Record<WarmTarget, number> = { pullguard: 0, bare: 0, unmemoized: 0, shell: 0 };
  const pools = new Map(targets.map((t) => [t.name, openPool(t.server.origin, world.pki.caPem, opts.concurrency)]));
  const memo = { hits: 0 };
  try {
    const load = (name: WarmTarget, tag: string, count: number) =>
      runLoad({
        pool: pools.get(name)!,
        count,
        concurrency: opts.concurrency,
        maxMs: opts.maxMs,
        review: (i) => {
          const uid = `warm-${name}-${tag}-${i}`;
          return { uid, body: world.review(uid, image) };
        },
      });
    for (const t of targets) {
      const w = await load(t.name, 'warmup', opts.warmup);
      if (w.failures > 0) throw new Error(`warm-up of ${t.name} failed: ${w.firstFailure}`);
    }
    const hitsBefore = metricSum(await scrape(world.pullguard), 'pullguard_check_memo_hits_total');
    const perRound = Math.max(1, Math.ceil(opts.count / opts.rounds));
    for (let round = 0; round < opts.rounds; round++) {
      for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
        const before = sampleProcess(t.server.pid).cpuMs;
        collected[t.name].push(await load(t.name, `r${round}`, perRound));
        cpuMs[t.name] += sampleProcess(t.server.pid).cpuMs - before;
      }
    }
    memo.hits = metricSum(await scrape(world.pullguard), 'pullguard_check_memo_hits_total') - hitsBefore;
  } finally {
    await Promise.all([...pools.values()].map((p) => p.close()));
    await unmemoized.stop();
  }
  const shellBytes = await responseBytes(shell.origin, world, image).finally(() => shell.stop());
  const figures = (name: WarmTarget): TargetFigures => {
    const runs = collected[name];
    const ok = runs.reduce((n, r) => n + r.ok, 0);
    const wallMs = runs.reduce((n, r) => n + r.wallMs, 0);
    return {
      latency: latencyStats(runs.flatMap((r) => r.latenciesMs)),
      reviewsPerSecond: ok / (wallMs / 1000),
      cpuUsPerReview: ok > 0 ? (cpuMs[name] * 1000) / ok : NaN,
      checks: checks(...runs),
      allowed: runs.reduce((n, r) => n + r.allowed, 0),
    };
  };
  return {
    image,
    requestBytes: Buffer.byteLength(world.review('warm-pullguard-r0-0', image)),
    responseBytes: { pullguard: await responseBytes(world.pullguard.origin, world, image), bare: await responseBytes(world.bare.origin, world, image), shell: shellBytes },
    concurrency: opts.concurrency,
    pullguard: figures('pullguard'),
    bare: figures('bare'),
    memoHits: memo.hits,
    unmemoized: figures('unmemoized'),
    shell: figures('shell'),
  };
}

// --- 2. cold reviews ---------------------------------------------------------------------------------------

export interface ColdOptions {
  images: number;
  maxMs: number;
}

export interface ColdResult {
  images: number;
  /** Review latency, ms, each the first review of a new image in a new repository (token exchange included). */
  pullguardMs: number[];
  /** Anonymous token GET + manifest HEAD by hand, fresh connections (TLS handshakes included), ms. */
  rawHeadMs: number[];
  /** The same plus GET of the index by digest: the least a client must do to learn the platforms, ms. */
  rawHeadIndexMs: number[];
  /**
   * Like with like: a warm review (the webhook round trip and the check, answered from the resolution cache, never
   * from the memo of clean checks) plus the requests pullguard
   * sends for a cold review of a known host (token GET + one manifest GET, which answers the digest and the
   * platforms) on connections kept open across images as pullguard's are, ms.
   */
  rawReusedMs: number[];
  median: { pullguard: number; rawHead: number; rawHeadIndex: number; rawReused: number };
  /** pullguard's CPU time (user + system, from /proc) over each cold review, per cold review, ms. */
  pullguardCpuMsPerReview: number;
  /** The same over the like-with-like baseline's warm review (same pacing: one at a time, between the baselines), ms. */
  warmHopCpuMsPerReview: number;
  /** Token requests per cold review counted at the token server (pullguard's and the baselines' together). */
  tokenServerRequestsPerImage: number;
  /** Registry and token requests pullguard made per cold review (from its metrics). */
  registryRequestsPerReview: Record<string, number>;
  checks: Checks;
  allowed: number;
}

/** Connections to the token server and the registry that a baseline keeps open across images, as pullguard does. */
export interface RawClients {
  token: Client;
  registry: Client;
}

function tokenRealm(world: World): URL {
  const token = world.registry.tokenServer;
  if (!token) throw new Error('the bench registry runs with token auth');
  const realm = new URL(token.realm);
  realm.searchParams.set('service', token.service);
  return realm;
}

/** Opens the baseline's kept-alive connections (a ping each), as pullguard's were opened by the connect review. */
export async function openRawClients(world: World): Promise<RawClients> {
  const connect = { ca: world.registry.caPem };
  const clients = { token: new Client(tokenRealm(world).origin, { connect }), registry: new Client(world.registry.url, { connect }) };
  await (await clients.registry.request({ path: '/v2/', method: 'GET' })).body.text();
  await (await clients.token.request({ path: '/', method: 'GET' })).body.text();
  return clients;
}

/**
 * What any client must do at minimum to know an image exists: a token, then HEAD, each on a fresh connection
 * (`withIndex`: then GET the index by digest). With `reused`, the token GET and one manifest GET (what pullguard
 * sends once a host is known to count no pulls) on the given kept-alive connections.
 */
export async function rawPull(world: World, repository: string, tag: string, withIndex: boolean, reused?: RawClients): Promise<number> {
  const realm = tokenRealm(world);
  realm.searchParams.set('scope', `repository:${repository}:pull`);
  const connect = { ca: world.registry.caPem };
  const tokenClient = reused?.token ?? new Client(realm.origin, { connect });
  const registryClient = reused?.registry ?? new Client(world.registry.url, { connect });
  const expect = async (res: Dispatcher.ResponseData, what: string): Promise<string> => {
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`raw ${what} for ${repository}:${tag}: ${res.statusCode} ${text.slice(0, 300)}`);
    return text;
  };
  try {
    const started = performance.now();
    const t = JSON.parse(await expect(await tokenClient.request({ path: `${realm.pathname}${realm.search}`, method: 'GET', headers: { accept: 'application/json' } }), 'token')) as { token: string };
    const headers = { accept: MANIFEST_ACCEPT, authorization: `Bearer ${t.token}` };
    if (reused) {
      await expect(await registryClient.request({ path: `/v2/${repository}/manifests/${tag}`, method: 'GET', headers }), 'GET manifest');
      return performance.now() - started;
    }
    const head = await registryClient.request({ path: `/v2/${repository}/manifests/${tag}`, method: 'HEAD', headers });
    await expect(head, 'HEAD');
    if (withIndex) {
      const digest = String(head.headers['docker-content-digest']);
      await expect(await registryClient.request({ path: `/v2/${repository}/manifests/${digest}`, method: 'GET', headers }), 'GET index');
    }
    return performance.now() - started;
  } finally {
    if (!reused) await Promise.all([tokenClient.close(), registryClient.close()]);
  }
}

function registryRequests(samples: MetricSample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== 'pullguard_registry_requests_total') continue;
    const key = s.labels.operation === 'manifest' ? `manifest ${s.labels.method}` : (s.labels.operation ?? '?');
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) !== 0) out[k] = v - (before[k] ?? 0);
  return out;
}

async function pushAll(world: World, images: [string, string][], concurrency = 4): Promise<void> {
  const queue = [...images];
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) await world.push(next[0], next[1]);
  }));
}

export async function coldLatency(world: World, opts: ColdOptions): Promise<ColdResult> {
  const repos = Array.from({ length: opts.images }, (_, i) => `public/cold-${String(i).padStart(3, '0')}`);
  await pushAll(world, repos.map((r) => [r, '1.0']));
  const result: ColdResult = {
    images: 0, pullguardMs: [], rawHeadMs: [], rawHeadIndexMs: [], rawReusedMs: [],
    median: { pullguard: NaN, rawHead: NaN, rawHeadIndex: NaN, rawReused: NaN }, pullguardCpuMsPerReview: NaN, warmHopCpuMsPerReview: NaN, tokenServerRequestsPerImage: NaN,
    registryRequestsPerReview: {}, checks: { ok: 0, failures: 0 }, allowed: 0,
  };
  // The webhook connection is open before the first cold review, as the API server's would be.
  const pool = openPool(world.pullguard.origin, world.pki.caPem, 1);
  let raw: RawClients | undefined;
  try {
    const warm = await sendReview(pool, { uid: 'cold-connect', body: world.review('cold-connect', world.image(WARM_IMAGE)) });
    if (warm.failure) throw new Error(`cold: the webhook does not answer: ${warm.failure}`);
    raw = await openRawClients(world);
    const reused = raw;
    const before = registryRequests(await scrape(world.pullguard));
    const tokensBefore = world.registry.tokenServer?.requests.length ?? 0;
    let cpuMs = 0;
    let hopCpuMs = 0;
    const stopAt = performance.now() + opts.maxMs;
    for (let i = 0; i < repos.length && performance.now() < stopAt; i++) {
      const repo = repos[i]!;
      const steps: (() => Promise<void>)[] = [
        async () => {
          const uid = `cold-${i}`;
          const cpuBefore = sampleProcess(world.pullguard.pid).cpuMs;
          const r = await sendReview(pool, { uid, body: world.review(uid, world.image(`${repo}:1.0`)) });
          cpuMs += sampleProcess(world.pullguard.pid).cpuMs - cpuBefore;
          result.pullguardMs.push(r.ms);
          if (r.failure !== undefined) {
            result.checks.failures++;
            result.checks.firstFailure ??= r.failure;
          } else {
            result.checks.ok++;
            if (r.allowed) result.allowed++;
          }
        },
        async () => void result.rawHeadMs.push(await rawPull(world, repo, '1.0', false)),
        async () => void result.rawHeadIndexMs.push(await rawPull(world, repo, '1.0', true)),
        async () => {
          // The webhook round trip and the check a cold review also pays (a review the resolution cache answers, same
          // connection; a container name of its own, so the memo of clean checks cannot answer it), then the requests.
          const uid = `cold-hop-${i}`;
          const cpuBefore = sampleProcess(world.pullguard.pid).cpuMs;
          const hop = await sendReview(pool, { uid, body: world.review(uid, world.image(WARM_IMAGE), `hop-${i}`) });
          hopCpuMs += sampleProcess(world.pullguard.pid).cpuMs - cpuBefore;
          if (hop.failure !== undefined) throw new Error(`cold: the warm review failed: ${hop.failure}`);
          result.rawReusedMs.push(hop.ms + await rawPull(world, repo, '1.0', false, reused));
        },
      ];
      // Who goes first rotates, so no one always meets the registry's colder files.
      for (let k = 0; k < steps.length; k++) await steps[(i + k) % steps.length]!();
      result.images++;
    }
    // Each image: one token for pullguard and one for each of the three baselines.
    result.tokenServerRequestsPerImage = ((world.registry.tokenServer?.requests.length ?? 0) - tokensBefore) / Math.max(1, result.images);
    result.pullguardCpuMsPerReview = cpuMs / Math.max(1, result.images);
    result.warmHopCpuMsPerReview = hopCpuMs / Math.max(1, result.images);
    const after = registryRequests(await scrape(world.pullguard));
    const used = delta(after, before);
    // The connect review hit the cache; everything else came from the cold reviews.
    for (const [k, v] of Object.entries(used)) result.registryRequestsPerReview[k] = v / Math.max(1, result.images);
  } finally {
    await Promise.all([pool.close(), raw?.token.close(), raw?.registry.close()]);
  }
  result.median = { pullguard: median(result.pullguardMs), rawHead: median(result.rawHeadMs), rawHeadIndex: median(result.rawHeadIndexMs), rawReused: median(result.rawReusedMs) };
  return result;
}

// --- 3. a herd of identical reviews --------------------------------------------------------------------------

export interface HerdOptions {
  reviews: number;
}

export type RequestKind = 'ping' | 'token' | 'manifest HEAD' | 'manifest GET' | 'blob' | 'tags' | 'other';

export interface HerdResult {
  reviews: number;
  image: string;
  /** Requests that reached the registry (through the fault proxy) and its token server, by kind. */
  requests: Record<RequestKind, number>;
  total: number;
  /** The least any resolver could send: see MINIMUM_HERD_REQUESTS. */
  minimum: Record<RequestKind, number>;
  minimumTotal: number;
  /** pullguard's resolution cache events during the herd. */
  cache: { miss: number; coalesced: number; hit: number };
  checks: Checks;
  allowed: number;
  wallMs: number;
}

/**
 * For a multi-arch image on a host pullguard has not talked to yet, with nodes of two platforms: one ping
 * (GET /v2/ learns the token realm), one anonymous token for the repository, one HEAD (exists? which digest?),
 * one GET of the index (which platforms?; the index names them, so no config blob).
 */
export const MINIMUM_HERD_REQUESTS: Record<RequestKind, number> = { ping: 1, token: 1, 'manifest HEAD': 1, 'manifest GET': 1, blob: 0, tags: 0, other: 0 };

export function requestKind(method: string, path: string): RequestKind {
  const p = path.split('?')[0] ?? '';
  if (p === '/v2/' || p === '/v2') return 'ping';
  if (/^\/v2\/.+\/manifests\/[^/]+$/.test(p)) return method === 'HEAD' ? 'manifest HEAD' : method === 'GET' ? 'manifest GET' : 'other';
  if (/^\/v2\/.+\/blobs\/[^/]+$/.test(p)) return 'blob';
  if (/^\/v2\/.+\/tags\/list$/.test(p)) return 'tags';
  return 'other';
}

function cacheEvents(samples: MetricSample[]): { miss: number; coalesced: number; hit: number } {
  const of = (event: string) => metricSum(samples, 'pullguard_cache_events_total', { cache: 'resolution', event });
  return { miss: of('miss'), coalesced: of('coalesced'), hit: of('hit') };
}

export async function herd(world: World, opts: HerdOptions): Promise<HerdResult> {
  const repository = 'public/herd';
  await world.push(repository, '1.0');
  const image = world.proxied(`${repository}:1.0`);
  const pool = openPool(world.pullguard.origin, world.pki.caPem, opts.reviews);
  try {
    // Open every connection first (with reviews of the cached warm image), so the herd arrives at once.
    // On a loaded 2-core machine some of 500 simultaneous TLS handshakes outlast the server's handshake timeout
    // (5 s): those are opened again, up to three times, before the herd is let go.
    let pending = Array.from({ length: opts.reviews }, (_, i) => i);
    let broken: string | undefined;
    for (let attempt = 0; attempt < 3 && pending.length > 0; attempt++) {
      const opened = await Promise.all(pending.map((i) => sendReview(pool, { uid: `herd-open-${attempt}-${i}`, body: world.review(`herd-open-${attempt}-${i}`, world.image(WARM_IMAGE)) })));
      broken = opened.find((r) => r.failure !== undefined)?.failure;
      pending = pending.filter((_, k) => opened[k]!.failure !== undefined);
    }
    if (pending.length > 0) throw new Error(`herd: opening connections failed ${pending.length} times on the third try: ${broken}`);

    world.proxy.reset();
    const tokenLog = world.registry.tokenServer?.requests ?? [];
    const tokensBefore = tokenLog.length;
    const cacheBefore = cacheEvents(await scrape(world.pullguard));
    const bodies = Array.from({ length: opts.reviews }, (_, i) => ({ uid: `herd-${i}`, body: world.review(`herd-${i}`, image) }));
    const started = performance.now();
    const answers = await Promise.all(bodies.map((b) => sendReview(pool, b)));
    const wallMs = performance.now() - started;
    const cacheAfter = cacheEvents(await scrape(world.pullguard));

    const requests: Record<RequestKind, number> = { ping: 0, token: 0, 'manifest HEAD': 0, 'manifest GET': 0, blob: 0, tags: 0, other: 0 };
    for (const r of world.proxy.requests) requests[requestKind(r.method, r.path)]++;
    // The token realm is the token server itself, not the proxied registry host: count its log.
    requests.token = tokenLog.slice(tokensBefore).filter((t) => t.scopes.some((s) => s.startsWith(`repository:${repository}:`))).length;
    const failures = answers.filter((a) => a.failure !== undefined);
    return {
      reviews: opts.reviews,
      image,
      requests,
      total: Object.values(requests).reduce((a, b) => a + b, 0),
      minimum: MINIMUM_HERD_REQUESTS,
      minimumTotal: Object.values(MINIMUM_HERD_REQUESTS).reduce((a, b) => a + b, 0),
      cache: { miss: cacheAfter.miss - cacheBefore.miss, coalesced: cacheAfter.coalesced - cacheBefore.coalesced, hit: cacheAfter.hit - cacheBefore.hit },
      checks: { ok: answers.length - failures.length, failures: failures.length, ...(failures[0]?.failure !== undefined ? { firstFailure: failures[0].failure } : {}) },
      allowed: answers.filter((a) => a.allowed === true).length,
      wallMs,
    };
  } finally {
    await pool.close();
  }
}

// --- 4. memory ---------------------------------------------------------------------------------------------

export interface MemoryOptions {
  reviews: number;
  /** Distinct images the reviews cycle through. */
  images: number;
  /** Repositories the images spread over; each gets `existingTags` real tags, every other tag is missing. */
  repositories: number;
  existingTags: number;
  concurrency: number;
  maxMs: number;
  /** Stop early when pullguard's RSS passes this (protects the machine, and the answer is already clear). */
  rssCapBytes: number;
}

export interface MemorySnapshot {
  /** As found: what the pod's memory limit sees. */
  rssBytes: number;
  peakRssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** After a forced full GC: what is really held. */
  afterGc: { rssBytes: number; heapUsedBytes: number; peakMallocedBytes: number };
}

export interface MemoryResult {
  reviews: number;
  images: number;
  existingImages: number;
  repositories: number;
  concurrency: number;
  before: MemorySnapshot;
  after: MemorySnapshot;
  wallMs: number;
  reviewsPerSecond: number;
  registryRequests: Record<string, number>;
  cacheEvictions: number;
  checks: Checks;
  allowed: number;
  denied: number;
  /** Bytes of log pullguard wrote meanwhile (each denial is logged at info, as in production). */
  logBytes: number;
  /** Why fewer reviews than planned were sent. */
  stoppedEarly?: string;
  /**
   * pullguard's RSS every ~2 s of the run (and reviews sent by then): where the peak happens; `mallocMiB` is the
   * resident part of glibc's main malloc arena ([heap] in /proc/PID/smaps, all of malloc under MALLOC_ARENA_MAX=1
   * below the mmap threshold), the rest is mostly V8's heap pages and the binary's mapped text.
   */
  rssTimeline: { seconds: number; reviews: number; rssMiB: number; mallocMiB: number }[];
  /** pullguard's CPU time (user + sys) per review over the run, from /proc. */
  cpuUsPerReview: number;
}

export async function memorySnapshot(world: World): Promise<MemorySnapshot> {
  const metrics = await scrape(world.pullguard);
  const proc = sampleProcess(world.pullguard.pid);
  return {
    rssBytes: proc.rssBytes,
    peakRssBytes: proc.peakRssBytes,
    heapUsedBytes: metricSum(metrics, 'pullguard_nodejs_heap_size_used_bytes'),
    heapTotalBytes: metricSum(metrics, 'pullguard_nodejs_heap_size_total_bytes'),
    afterGc: await collectGarbage(world.pullguard),
  };
}

/** Resident bytes of glibc's main malloc arena (the `[heap]` mapping grown by brk); 0 when it has none. */
export function mallocArenaBytes(pid: number): number {
  const smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const at = smaps.search(/ \[heap\]\n/);
  if (at < 0) return 0;
  return Number(/\nRss:\s+(\d+) kB/.exec(smaps.slice(at))?.[1] ?? 0) * 1024;
}

/** Image `i` of the set: round-robin over repositories; the first `existingTags` tags of each exist. */
export function memoryImage(i: number, opts: Pick<MemoryOptions, 'repositories' | 'existingTags'>): { repository: string; tag: string; exists: boolean } {
  const repository = `public/mem-${String(i % opts.repositories).padStart(3, '0')}`;
  const n = Math.floor(i / opts.repositories);
  return n < opts.existingTags ? { repository, tag: `v${n}`, exists: true } : { repository, tag: `missing-${n}`, exists: false };
}

export async function memory(world: World, opts: MemoryOptions): Promise<MemoryResult> {
  const repositories = Math.min(opts.repositories, opts.images);
  const shape = { repositories, existingTags: opts.existingTags };
  const repos = Array.from({ length: repositories }, (_, r) => memoryImage(r, shape).repository);
  const tags = Array.from({ length: opts.existingTags }, (_, n) => `v${n}`);
  if (tags.length > 0) {
    const queue = [...repos];
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let repo = queue.shift(); repo; repo = queue.shift()) await pushTags(world.registry, repo, tags);
    }));
  }
  const images = Array.from({ length: opts.images }, (_, i) => memoryImage(i, shape));
  const refs = images.map((m) => world.image(`${m.repository}:${m.tag}`));

  const metricsBefore = await scrape(world.pullguard);
  const before = await memorySnapshot(world);
  const logBefore = world.pullguard.stdoutBytes();
  const cpuBefore = sampleProcess(world.pullguard.pid).cpuMs;
  const pool = openPool(world.pullguard.origin, world.pki.caPem, opts.concurrency);
  let rss = before.rssBytes;
  let sent = 0;
  let ticks = 0;
  const started = performance.now();
  const rssTimeline: MemoryResult['rssTimeline'] = [];
  const record = (): void => {
    const mib = (bytes: number): number => Math.round(bytes / 1024 / 102.4) / 10;
    rssTimeline.push({ seconds: Math.round((performance.now() - started) / 1000), reviews: sent, rssMiB: mib(rss), mallocMiB: mib(mallocArenaBytes(world.pullguard.pid)) });
  };
  record();
  const watch = setInterval(() => {
    rss = sampleProcess(world.pullguard.pid).rssBytes;
    if (++ticks % 8 === 0) record();
  }, 250);
  let load: LoadResult;
  try {
    load = await runLoad({
      pool,
      count: opts.reviews,
      concurrency: opts.concurrency,
      maxMs: opts.maxMs,
      stopReason: () => (rss > opts.rssCapBytes ? `pullguard's RSS passed ${Math.round(opts.rssCapBytes / 1024 / 1024)} MiB` : undefined),
      review: (i) => {
        sent = i + 1;
        const uid = `mem-${i}`;
        return { uid, body: world.review(uid, refs[i % refs.length]!) };
      },
    });
  } finally {
    clearInterval(watch);
    await pool.close();
  }
  const end = sampleProcess(world.pullguard.pid);
  const cpuMs = end.cpuMs - cpuBefore;
  rss = end.rssBytes;
  record();
  const after = await memorySnapshot(world);
  const metricsAfter = await scrape(world.pullguard);
  return {
    reviews: load.sent,
    images: opts.images,
    existingImages: images.filter((m) => m.exists).length,
    repositories,
    concurrency: opts.concurrency,
    before,
    after,
    wallMs: load.wallMs,
    reviewsPerSecond: load.ok / (load.wallMs / 1000),
    registryRequests: delta(registryRequests(metricsAfter), registryRequests(metricsBefore)),
    cacheEvictions: metricSum(metricsAfter, 'pullguard_cache_events_total', { cache: 'resolution', event: 'eviction' }) - metricSum(metricsBefore, 'pullguard_cache_events_total', { cache: 'resolution', event: 'eviction' }),
    checks: checks(load),
    allowed: load.allowed,
    denied: load.denied,
    logBytes: world.pullguard.stdoutBytes() - logBefore,
    rssTimeline,
    cpuUsPerReview: load.sent > 0 ? (cpuMs * 1000) / load.sent : NaN,
    ...(load.stoppedEarly !== undefined ? { stoppedEarly: load.stoppedEarly } : {}),
  };
}
