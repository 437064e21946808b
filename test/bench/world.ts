// What a bench run stands on: a real distribution registry with token auth (Docker Hub's protocol) and its token
// server, the fault proxy in pass-through in front of it (configured as a second registry host, to count requests),
// a fake API server with a namespace, a ServiceAccount and two nodes (linux/amd64, linux/arm64), the real
// `pullguard serve` CLI in its own process, and a bare Fastify route in its own process with the same certificate.
// The load generator stays in this process, so neither server shares an event loop with it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket, request } from 'undici';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { bundle } from '../../scripts/bundle.ts';
import { startFakeApiServer, type FakeApiServer } from '../harness/fake-apiserver.ts';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { dieWithParent, makeTempDir, removeTempDir, trackChild } from '../harness/lifecycle.ts';
import { makeTestPki, type TestPki } from '../harness/pki.ts';
import { pushImage, type PushedImage } from '../harness/push.ts';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { chartMaxOldSpaceMiB } from './chart-limits.ts';
import { openPool, sendReview } from './load.ts';
import { UID_MARKER, deploymentReviewBody, type ReviewBody } from './review-body.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where src/ is compiled for the run (git-ignored); inside the repository so node_modules resolve. */
const BUILD_DIR = fileURLToPath(new URL('./.build/', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const STDERR_TAIL = 16 * 1024;

export const MULTI_ARCH = [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }];
/**
 * Production cache defaults, except that certain negatives are kept 600 s instead of 10 s: the memory scenario's
 * answers are mostly denials, and keeping every one cached is the worst case for memory (a full cache of the
 * largest entries) and keeps the run short (each image costs the registry once).
 */
export const BENCH_CACHE = { ...DEFAULT_CONFIG.cache, negativeTtlSeconds: 600 };
/** The image every warm review asks about (a two-platform OCI index). */
export const WARM_IMAGE = 'public/warm:1.0';

/** One server under test, in its own process. */
export interface ServerProcess {
  name: string;
  pid: number;
  /** `https://127.0.0.1:PORT`. */
  origin: string;
  /** Bytes the process wrote to stdout (pullguard: its JSON log). */
  stdoutBytes(): number;
  stop(): Promise<void>;
}

export interface PullguardProcess extends ServerProcess {
  /** `http://127.0.0.1:PORT`: /metrics, /healthz. */
  opsOrigin: string;
  /** The V8 inspector's WebSocket, used only to force a full GC before a memory reading. */
  inspectorUrl: string;
}

export interface World {
  pki: TestPki;
  registry: TestRegistry;
  proxy: FaultProxy;
  api: FakeApiServer;
  pullguard: PullguardProcess;
  bare: ServerProcess;
  /** The cache bounds and TTLs `pullguard serve` runs with. */
  cache: typeof DEFAULT_CONFIG.cache;
  review: ReviewBody;
  /** `127.0.0.1:PORT/name:tag` on the registry itself. */
  image(name: string): string;
  /** The same image through the fault proxy (another registry host to pullguard). */
  proxied(name: string): string;
  push(repository: string, tag: string): Promise<PushedImage>;
  /** Another `pullguard serve`, configured as the first but reading the cluster at `kubeconfigFile` (stopped by close). */
  startPullguard(kubeconfigFile: string, cache?: Partial<typeof DEFAULT_CONFIG.cache>): Promise<PullguardProcess>;
  /** pullguard's webhook app with a canned review (shell-server.ts), answering as the bare route does (stopped by close). */
  startShell(): Promise<ServerProcess>;
  close(): Promise<void>;
}

/** Resident set (now and peak) and CPU time of a process, from /proc. */
export interface ProcessSample {
  rssBytes: number;
  peakRssBytes: number;
  cpuMs: number;
}

const CLOCK_TICKS = (() => {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(out.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

export function sampleProcess(pid: number): ProcessSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  // /proc/PID/stat: the command may hold spaces, so count fields after its closing parenthesis; utime, stime are 14, 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM'), cpuMs: (ticks * 1000) / CLOCK_TICKS };
}

export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition → samples (enough of the format for prom-client's output). */
export function parseMetrics(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of a metric's samples whose labels include `match`. */
export function metricSum(samples: MetricSample[], name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of samples) if (s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  return sum;
}

export async function scrape(p: PullguardProcess): Promise<MetricSample[]> {
  const res = await request(`${p.opsOrigin}/metrics`);
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET /metrics answered ${res.statusCode}`);
  return parseMetrics(text);
}

/**
 * Forces a full garbage collection in pullguard through its inspector and reads its heap afterwards: what is
 * live, as opposed to what V8 has not collected yet (on a machine with this much RAM it lets garbage pile up).
 */
export async function collectGarbage(p: PullguardProcess, timeoutMs = 15_000): Promise<{ heapUsedBytes: number; rssBytes: number; peakMallocedBytes: number }> {
  const ws = new WebSocket(p.inspectorUrl);
  const timer = setTimeout(() => ws.close(), timeoutMs);
  try {
    const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
    ws.addEventListener('message', (e) => {
      const msg = JSON.parse(String(e.data)) as { id?: number; result?: unknown; error?: { message: string } };
      const waiter = msg.id === undefined ? undefined : pending.get(msg.id);
      if (!waiter) return;
      pending.delete(msg.id!);
      if (msg.error) waiter.reject(new Error(msg.error.message));
      else waiter.resolve(msg.result);
    });
    ws.addEventListener('close', () => {
      for (const w of pending.values()) w.reject(new Error('the inspector connection closed'));
      pending.clear();
    });
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new Error(`cannot reach pullguard's inspector at ${p.inspectorUrl}`)), { once: true });
    });
    let id = 0;
    const call = (method: string, params: Record<string, unknown> = {}): Promise<unknown> =>
      new Promise((resolve, reject) => {
        pending.set(++id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      });
    await call('HeapProfiler.collectGarbage');
    // peak_malloced_memory: the most V8 held outside its heap at once (parser and compiler zones), a cause of peak RSS.
    const expression = "JSON.stringify({ ...process.memoryUsage(), peakMalloced: process.getBuiltinModule('v8').getHeapStatistics().peak_malloced_memory })";
    const out = (await call('Runtime.evaluate', { expression, returnByValue: true })) as { result?: { value?: unknown } };
    const usage = JSON.parse(String(out.result?.value)) as { heapUsed: number; peakMalloced: number };
    return { heapUsedBytes: usage.heapUsed, rssBytes: sampleProcess(p.pid).rssBytes, peakMallocedBytes: usage.peakMalloced };
  } finally {
    clearTimeout(timer);
    ws.close();
  }
}

/** The environment the container image sets (Dockerfile ENV), so both servers run as in production. */
export const PRODUCTION_ENV = { NODE_OPTIONS: '--max-semi-space-size=4', MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '32768' } as const;

/** What the chart adds with its default values: the old-space limit derived from its memory limit. */
const CHART_NODE_OPTIONS = `--max-old-space-size=${chartMaxOldSpaceMiB()}`;

/** The environment of a server under test: the image's and the chart's, no proxy variables or cluster config of ours. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...PRODUCTION_ENV, NODE_OPTIONS: `${PRODUCTION_ENV.NODE_OPTIONS} ${CHART_NODE_OPTIONS}` };
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(https?_proxy|no_proxy|all_proxy|kubeconfig|pullguard_.*)$/i.test(k)) continue;
    env[k] = v;
  }
  return env;
}

/**
 * Spawns `node ARGS` and waits until `ready(line)` returns a result for a line of its stdout. Its stdout is drained
 * (and counted) for as long as it runs, so a chatty logger never blocks on a full pipe.
 */
async function spawnServer<T>(name: string, args: string[], ready: (line: string) => T | undefined): Promise<{ child: ChildProcess; value: T; stdoutBytes: () => number; stderr: () => string; stop: () => Promise<void> }> {
  const [command, ...prefix] = [...dieWithParent(), process.execPath];
  const child = spawn(command!, [...prefix, ...args], { cwd: REPO_ROOT, env: serverEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  // BENCH_SERVER_OUTPUT=DIR: each server's stdout and stderr also go to DIR/NAME-PID.log (with BENCH_NODE_FLAGS=--trace-gc, say).
  const copy = process.env.BENCH_SERVER_OUTPUT ? createWriteStream(join(process.env.BENCH_SERVER_OUTPUT, `${name.replace(/\W+/g, '-')}-${child.pid}.log`)) : undefined;
  if (copy) {
    child.stdout!.on('data', (chunk: Buffer) => copy.write(chunk));
    child.stderr!.on('data', (chunk: Buffer) => copy.write(chunk));
    child.once('exit', () => copy.end());
  }
  let stderr = '';
  let bytes = 0;
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(killer);
    }
  };
  const value = await new Promise<T>((resolve, reject) => {
    let pending = '';
    let found = false;
    const timer = setTimeout(() => fail(`${name} did not start within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const fail = (why: string): void => {
      clearTimeout(timer);
      reject(new Error(`${why}\n--- ${name} stderr ---\n${stderr}`));
    };
    child.stdout!.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (found) return;
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const v = ready(line);
        if (v !== undefined) {
          found = true;
          pending = '';
          clearTimeout(timer);
          resolve(v);
          return;
        }
      }
    });
    child.once('exit', (code, signal) => fail(`${name} exited before it was ready (code ${code}, signal ${signal})`));
    child.once('error', (err) => fail(`cannot start ${name}: ${err.message}`));
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  return { child, value, stdoutBytes: () => bytes, stderr: () => stderr, stop };
}

function jsonLine(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Builds src/ as it is now (working tree) into what the image ships and runs: the esbuild bundle (scripts/bundle.ts,
 * `node dist/bundle/main.js`). Running the .ts sources instead costs Node's type stripper about 17 MiB of RSS that
 * production never pays. BENCH_BUILD=tsc: tsc's unbundled output (the image before the bundle), to compare the two.
 */
async function buildPullguard(): Promise<string> {
  if (process.env.BENCH_BUILD === 'tsc') {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    rmSync(BUILD_DIR, { recursive: true, force: true });
    const out = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--outDir', BUILD_DIR, '--sourceMap', 'false', '--noCheck'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`cannot compile src/ for the bench (tsc exit ${out.status}):\n${out.stdout}${out.stderr}`);
    return join(BUILD_DIR, 'cli', 'main.js');
  }
  // Inside the repository, so the one package the bundle still requires at run time (pino) resolves as in the image.
  return (await bundle(BUILD_DIR)).main;
}

/** `pullguard serve` as the Deployment would run it, with ephemeral ports on 127.0.0.1. */
async function startPullguard(main: string, configFile: string): Promise<PullguardProcess> {
  // The inspector only listens (no session) until a memory reading asks for a full GC.
  // BENCH_CPU_PROF=DIR: a V8 CPU profile of pullguard, written to DIR when it stops (`node --cpu-prof`).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  // BENCH_NODE_FLAGS: node/V8 flags before the script (V8 flags that NODE_OPTIONS refuses), to measure one before adopting it.
  const extra = process.env.BENCH_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? [];
  const s = await spawnServer('pullguard serve', ['--inspect=127.0.0.1:0', ...profile, ...extra, main, 'serve', '--config', configFile], (line) => {
    const log = jsonLine(line);
    if (log?.msg !== 'pullguard is serving' || typeof log.webhook !== 'string' || typeof log.ops !== 'string') return undefined;
    return { webhook: new URL(log.webhook), ops: new URL(log.ops) };
  });
  const inspectorUrl = /Debugger listening on (ws:\/\/\S+)/.exec(s.stderr())?.[1];
  if (!inspectorUrl) {
    await s.stop();
    throw new Error(`pullguard serve did not announce its inspector:\n${s.stderr()}`);
  }
  return { name: 'pullguard', pid: s.child.pid!, origin: s.value.webhook.origin, opsOrigin: s.value.ops.origin, inspectorUrl, stdoutBytes: s.stdoutBytes, stop: s.stop };
}

/** The bare route, answering `template` (an AdmissionReview JSON holding the uid marker) to every review. */
export async function startBare(pki: TestPki, template: string): Promise<ServerProcess> {
  return startAnswering('bare', 'bare-server.ts', pki, template);
}

/** pullguard's webhook app with a canned review (shell-server.ts), answering `template` as the bare route does. */
export async function startShell(pki: TestPki, template: string): Promise<ServerProcess> {
  return startAnswering('shell', 'shell-server.ts', pki, template);
}

async function startAnswering(name: string, file: string, pki: TestPki, template: string): Promise<ServerProcess> {
  const script = fileURLToPath(new URL(`./${file}`, import.meta.url));
  const s = await spawnServer(`${name} route`, [script, pki.certFile, pki.keyFile, template], (line) => {
    const port = jsonLine(line)?.port;
    return typeof port === 'number' && port > 0 ? port : undefined;
  });
  return { name, pid: s.child.pid!, origin: `https://127.0.0.1:${s.value}`, stdoutBytes: s.stdoutBytes, stop: s.stop };
}

export interface WorldOptions {
  /** Run `src/cli/main.ts` directly instead of compiling first (quicker; RSS then includes the type stripper). */
  fromSource?: boolean;
}

export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const cleanups: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    cleanups.length = 0;
  };
  try {
    const pki = await makeTestPki();
    const registry = await startRegistry({ auth: 'token' });
    cleanups.push(() => registry.stop());
    const proxy = await startFaultProxy(registry);
    cleanups.push(() => proxy.stop());
    const api = await startFakeApiServer();
    cleanups.push(() => api.stop());
    api.setNamespace('demo', {});
    api.setServiceAccount('demo', 'default', []);
    api.setNode({ name: 'node-amd64', arch: 'amd64' });
    api.setNode({ name: 'node-arm64', arch: 'arm64' });

    const dir = makeTempDir('bench');
    cleanups.push(async () => removeTempDir(dir));
    const registryConfig = join(dir, 'registries.yaml');
    writeFileSync(registryConfig, JSON.stringify({ registries: { [registry.host]: { ca: registry.caFile }, [proxy.host]: { ca: registry.caFile } } }));
    let configs = 0;
    const configFor = (kubeconfig: string, cache: Partial<typeof BENCH_CACHE> = {}): string => {
      const configFile = join(dir, `pullguard-${configs++}.yaml`);
      // Production defaults everywhere (cache bounds, log level info, ...) except ports, files, the cluster and BENCH_CACHE.
      writeFileSync(configFile, JSON.stringify({
        server: { host: '127.0.0.1', port: 0, metricsHost: '127.0.0.1', metricsPort: 0, tlsCertFile: pki.certFile, tlsKeyFile: pki.keyFile },
        cache: { ...BENCH_CACHE, ...cache },
        registry: { configFile: registryConfig },
        kubernetes: { enabled: true, kubeconfig },
      }));
      return configFile;
    };
    const configFile = configFor(api.kubeconfigFile);
    let main = join(REPO_ROOT, 'src', 'cli', 'main.ts');
    if (!opts.fromSource) {
      main = await buildPullguard();
      cleanups.push(async () => rmSync(BUILD_DIR, { recursive: true, force: true }));
    }
    const pullguard = await startPullguard(main, configFile);
    cleanups.push(() => pullguard.stop());

    const image = (name: string): string => `${registry.host}/${name}`;
    const push = (repository: string, tag: string): Promise<PushedImage> => pushImage(registry, { repository, tag, platforms: MULTI_ARCH });
    const review = deploymentReviewBody();

    // The bare route answers what pullguard answers for the warm image, so both send the same number of bytes.
    await push(...(WARM_IMAGE.split(':') as [string, string]));
    const pool = openPool(pullguard.origin, pki.caPem, 1);
    let template: string;
    try {
      const uid = 'bench-template';
      const res = await pool.request({ path: '/validate?timeout=10s', method: 'POST', headers: { 'content-type': 'application/json' }, body: review(uid, image(WARM_IMAGE)) });
      const text = await res.body.text();
      const answer = jsonLine(text) as { response?: { allowed?: unknown } } | undefined;
      if (res.statusCode !== 200 || answer?.response?.allowed !== true) throw new Error(`pullguard did not admit ${image(WARM_IMAGE)}: ${res.statusCode} ${text.slice(0, 500)}`);
      template = text.replace(JSON.stringify(uid), JSON.stringify(UID_MARKER));
    } finally {
      await pool.close();
    }
    const bare = await startBare(pki, template);
    cleanups.push(() => bare.stop());
    // One answer from the bare route proves it works (and has the same size as pullguard's).
    const check = openPool(bare.origin, pki.caPem, 1);
    try {
      const r = await sendReview(check, { uid: 'bench-bare-check', body: review('bench-bare-check', image(WARM_IMAGE)) });
      if (r.failure) throw new Error(`the bare route does not answer: ${r.failure}`);
    } finally {
      await check.close();
    }

    return {
      pki,
      registry,
      proxy,
      api,
      pullguard,
      bare,
      cache: BENCH_CACHE,
      review,
      image,
      proxied: (name) => `${proxy.host}/${name}`,
      push,
      async startPullguard(kubeconfigFile, cache) {
        const other = await startPullguard(main, configFor(kubeconfigFile, cache));
        cleanups.push(() => other.stop());
        return other;
      },
      async startShell() {
        const shell = await startShell(pki, template);
        cleanups.push(() => shell.stop());
        return shell;
      },
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
