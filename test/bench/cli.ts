// The CLI's figures (issue #13): `pullguard resolve` of N images in one process against the undici floor (the same
// requests by hand, 8 in flight, in a fresh `node` of its own), and a cold `resolve` of one image against `node -e 0`
// (same binary). Each process reports its own CPU time and peak RSS through a module hook, so the ratios hold on a
// loaded machine too. Its own registry (token auth, Docker Hub's protocol) behind the fault proxy, which counts
// manifest requests; tokens are counted at the token server. Run alone with `node test/bench/cli.ts` (compiles src/
// into .scratch/), or in `npm run bench` (BENCH_SCENARIOS=cli), which runs the build the bench compiled.
// BENCH_CLI_IMAGES (50), BENCH_CLI_RUNS (3), BENCH_CLI_MAIN (another build's cli/main.js, for a before/after).
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { makeTempDir, removeTempDir } from '../harness/lifecycle.ts';
import { pushImage } from '../harness/push.ts';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** What `npm run bench` compiled (world.ts), when it did. */
export const BENCH_BUILT_MAIN = fileURLToPath(new URL('./.build/cli/main.js', import.meta.url));
const OWN_BUILD = join(REPO_ROOT, '.scratch', 'bench-cli-build');
const PLATFORMS = [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }];
export const CLI_TARGETS = { batchRatio: 1.5, coldRatio: 12 } as const;
const MARK = 'pullguard-bench-usage:';
/** Prints the process's CPU time and peak RSS at exit, as one line on stderr. */
const USAGE_HOOK = `data:text/javascript,${encodeURIComponent(`import { writeSync } from 'node:fs';
process.on('exit', () => { const u = process.resourceUsage(); writeSync(2, '\\n${MARK}' + JSON.stringify({ cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssKiB: u.maxRSS }) + '\\n'); });`)}`;

/**
 * The floor: what any Node client must do for the same answers — one undici Agent, GET /v2/ for the challenge, an
 * anonymous token per repository, then a GET of each image's manifest (the index names its platforms), 8 in flight.
 */
const FLOOR = `import { Agent, request } from 'undici';
const { origin, ca, images } = JSON.parse(process.argv[1]);
const dispatcher = new Agent({ connect: { ca }, connections: 8 });
const ping = await request(origin + '/v2/', { dispatcher });
await ping.body.dump();
const challenge = String(ping.headers['www-authenticate']);
const realm = /realm="([^"]+)"/.exec(challenge)[1];
const service = /service="([^"]+)"/.exec(challenge)[1];
const tokens = new Map();
const token = (repo) => {
  if (!tokens.has(repo)) tokens.set(repo, (async () => {
    const u = new URL(realm);
    u.searchParams.set('service', service);
    u.searchParams.set('scope', 'repository:' + repo + ':pull');
    const r = await request(u, { dispatcher });
    if (r.statusCode !== 200) throw new Error('token ' + r.statusCode);
    return (await r.body.json()).token;
  })());
  return tokens.get(repo);
};
const accept = 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
const queue = [...images];
await Promise.all(Array.from({ length: 8 }, async () => {
  for (let image = queue.shift(); image; image = queue.shift()) {
    const [repo, tag] = image.split(':');
    const r = await request(origin + '/v2/' + repo + '/manifests/' + tag, { dispatcher, headers: { accept, authorization: 'Bearer ' + await token(repo) } });
    const index = await r.body.json();
    if (r.statusCode !== 200 || !r.headers['docker-content-digest'] || !index.manifests.some((m) => m.platform.architecture === 'amd64')) throw new Error(image + ': ' + r.statusCode);
  }
}));
await dispatcher.close();`;

export interface CliBenchOptions {
  images: number;
  runs: number;
  /** The CLI entry point to run (compiled cli/main.js, or src/cli/main.ts). */
  main: string;
}

interface ProcessRun {
  wallMs: number;
  cpuMs: number;
  maxRssBytes: number;
}

interface Figure {
  runs: ProcessRun[];
  median: ProcessRun;
}

export interface CliBenchResult {
  images: number;
  repositories: number;
  runs: number;
  main: string;
  /** `resolve` of every image in one process, with --platform linux/amd64. */
  batch: { pullguard: Figure; floor: Figure; requests: { pullguard: RequestCount; floor: RequestCount }; exitCodes: number[] };
  /** `resolve` of one image, a new process each run. */
  cold: { pullguard: Figure; nodeBare: Figure; exitCodes: number[] };
  /** 1-minute load average before and after: wall times on a shared machine mean little without it. */
  loadAverage: { start: number; end: number };
}

export interface RequestCount {
  total: number;
  ping: number;
  token: number;
  manifestHead: number;
  manifestGet: number;
  other: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function figure(runs: ProcessRun[]): Figure {
  return { runs, median: { wallMs: median(runs.map((r) => r.wallMs)), cpuMs: median(runs.map((r) => r.cpuMs)), maxRssBytes: median(runs.map((r) => r.maxRssBytes)) } };
}

/** Runs `node ARGS` with the usage hook; wall time from spawn to exit, CPU and peak RSS as the process saw them. */
function timed(args: string[]): Promise<ProcessRun & { code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(https?_proxy|no_proxy|all_proxy|kubeconfig|pullguard_.*|node_options)$/i.test(k)) env[k] = v;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', USAGE_HOOK, ...args], { cwd: REPO_ROOT, env, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      const wallMs = performance.now() - started;
      if (err && typeof err.code !== 'number') return reject(new Error(`node ${args.slice(0, 2).join(' ')}: ${err.message}\n${stderr}`));
      const line = stderr.split('\n').find((l) => l.startsWith(MARK));
      if (!line) return reject(new Error(`node ${args.slice(0, 2).join(' ')} reported no usage (exit ${err?.code ?? 0}):\n${stderr.slice(-2000)}`));
      const u = JSON.parse(line.slice(MARK.length)) as { cpuMs: number; maxRssKiB: number };
      resolve({ wallMs, cpuMs: u.cpuMs, maxRssBytes: u.maxRssKiB * 1024, code: err ? (err.code as number) : 0, stdout, stderr: stderr.replace(line, '') });
    });
  });
}

function countRequests(proxy: FaultProxy, reg: TestRegistry, tokensBefore: number): RequestCount {
  const manifests = proxy.requests.filter((r) => r.path.includes('/manifests/'));
  const manifestHead = manifests.filter((r) => r.method === 'HEAD').length;
  const manifestGet = manifests.filter((r) => r.method === 'GET').length;
  const ping = proxy.requests.filter((r) => /^\/v2\/?(\?.*)?$/.test(r.path)).length;
  const token = reg.tokenServer!.requests.length - tokensBefore;
  return { total: proxy.requests.length + token, ping, token, manifestHead, manifestGet, other: proxy.requests.length - manifests.length - ping };
}

/** src/ compiled as the image ships it, for a standalone run. */
export function compileCli(outDir = OWN_BUILD): string {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  rmSync(outDir, { recursive: true, force: true });
  const out = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--outDir', outDir, '--sourceMap', 'false', '--noCheck'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`cannot compile src/ (tsc exit ${out.status}):\n${out.stdout}${out.stderr}`);
  return join(outDir, 'cli', 'main.js');
}

export async function cliBench(opts: CliBenchOptions): Promise<CliBenchResult> {
  const loadAtStart = loadavg()[0]!;
  const reg = await startRegistry({ auth: 'token' });
  const proxy = await startFaultProxy(reg);
  const dir = makeTempDir('pullguard-bench-cli-');
  try {
    // Two tags per repository, as images of one project are: tokens are per repository scope.
    const repositories = Math.max(1, Math.ceil(opts.images / 2));
    const images = Array.from({ length: opts.images }, (_, i) => `public/app${i % repositories}:v${Math.floor(i / repositories)}`);
    const queue = [...images];
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let image = queue.shift(); image !== undefined; image = queue.shift()) {
        const [repository, tag] = image.split(':') as [string, string];
        await pushImage(reg, { repository, tag, platforms: PLATFORMS });
      }
    }));
    const registryConfig = join(dir, 'registries.yaml');
    writeFileSync(registryConfig, `registries:\n  "${proxy.host}":\n    ca: ${reg.caFile}\n`);
    const refs = images.map((i) => `${proxy.host}/${i}`);
    const resolveArgs = (list: string[]) => [opts.main, 'resolve', '--registry-config', registryConfig, '--platform', 'linux/amd64', ...list];
    const floorArgs = ['--input-type=module', '-e', FLOOR, JSON.stringify({ origin: proxy.url, ca: reg.caPem, images })];

    const batch = { pullguard: [] as ProcessRun[], floor: [] as ProcessRun[], exitCodes: [] as number[] };
    let requests: CliBenchResult['batch']['requests'] | undefined;
    const cold = { pullguard: [] as ProcessRun[], nodeBare: [] as ProcessRun[], exitCodes: [] as number[] };
    for (let run = 0; run < opts.runs; run++) {
      // The order alternates, so neither side always runs right after the other on a warm page cache.
      const order = run % 2 === 0 ? ['pullguard', 'floor'] as const : ['floor', 'pullguard'] as const;
      for (const who of order) {
        proxy.reset();
        const tokensBefore = reg.tokenServer!.requests.length;
        const r = await timed(who === 'pullguard' ? resolveArgs(refs) : floorArgs);
        if (who === 'pullguard') {
          batch.exitCodes.push(r.code);
          if (r.code !== 0) throw new Error(`pullguard resolve exited ${r.code}:\n${r.stdout.slice(0, 2000)}${r.stderr.slice(0, 2000)}`);
        } else if (r.code !== 0) throw new Error(`the undici floor failed (exit ${r.code}):\n${r.stderr.slice(0, 2000)}`);
        batch[who].push({ wallMs: r.wallMs, cpuMs: r.cpuMs, maxRssBytes: r.maxRssBytes });
        const counted = countRequests(proxy, reg, tokensBefore);
        requests = { ...(requests ?? { pullguard: counted, floor: counted }), [who]: counted };
      }
      for (const who of run % 2 === 0 ? ['pullguard', 'node'] as const : ['node', 'pullguard'] as const) {
        const r = await timed(who === 'pullguard' ? resolveArgs([refs[run % refs.length]!]) : ['-e', '0']);
        if (who === 'pullguard') {
          cold.exitCodes.push(r.code);
          cold.pullguard.push({ wallMs: r.wallMs, cpuMs: r.cpuMs, maxRssBytes: r.maxRssBytes });
        } else cold.nodeBare.push({ wallMs: r.wallMs, cpuMs: r.cpuMs, maxRssBytes: r.maxRssBytes });
      }
    }
    return {
      images: opts.images,
      repositories,
      runs: opts.runs,
      main: opts.main,
      batch: { pullguard: figure(batch.pullguard), floor: figure(batch.floor), requests: requests!, exitCodes: batch.exitCodes },
      cold: { pullguard: figure(cold.pullguard), nodeBare: figure(cold.nodeBare), exitCodes: cold.exitCodes },
      loadAverage: { start: loadAtStart, end: loadavg()[0]! },
    };
  } finally {
    await proxy.stop();
    await reg.stop();
    removeTempDir(dir);
  }
}

const ms = (x: number): string => `${x < 10 ? x.toFixed(2) : x.toFixed(0)} ms`;
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
const mib = (x: number): string => `${(x / 1024 / 1024).toFixed(0)} MiB`;
const met = (value: number, target: number): string => `≤ ${target}× ${value <= target ? '✔ met' : '✘ missed'}`;
const kinds = (c: RequestCount): string => `${c.total} (ping ${c.ping}, token ${c.token}, manifest HEAD ${c.manifestHead}, GET ${c.manifestGet}${c.other ? `, other ${c.other}` : ''})`;

/** The Markdown rows, in report.ts's shape: figure, pullguard, baseline (same run), ratio, target. Medians of the runs. */
export function cliTable(r: CliBenchResult): string {
  const b = r.batch;
  const c = r.cold;
  const rows: string[][] = [
    ['Figure', 'pullguard', 'Baseline (same run)', 'Ratio', 'Target'],
    [`\`resolve\` of ${r.images} images (${r.repositories} repositories, --platform), one process, wall`, ms(b.pullguard.median.wallMs), `${ms(b.floor.median.wallMs)} undici floor (same requests, 8 in flight, own process)`, ratio(b.pullguard.median.wallMs, b.floor.median.wallMs), met(b.pullguard.median.wallMs / b.floor.median.wallMs, CLI_TARGETS.batchRatio)],
    [`… CPU of that process`, ms(b.pullguard.median.cpuMs), `${ms(b.floor.median.cpuMs)} undici floor`, ratio(b.pullguard.median.cpuMs, b.floor.median.cpuMs), ''],
    [`… registry requests`, kinds(b.requests.pullguard), `${kinds(b.requests.floor)} undici floor`, ratio(b.requests.pullguard.total, b.requests.floor.total), ''],
    ['Cold `resolve` of one image, wall', ms(c.pullguard.median.wallMs), `${ms(c.nodeBare.median.wallMs)} \`node -e 0\``, ratio(c.pullguard.median.wallMs, c.nodeBare.median.wallMs), met(c.pullguard.median.wallMs / c.nodeBare.median.wallMs, CLI_TARGETS.coldRatio)],
    ['… CPU of that process', ms(c.pullguard.median.cpuMs), `${ms(c.nodeBare.median.cpuMs)} \`node -e 0\``, ratio(c.pullguard.median.cpuMs, c.nodeBare.median.cpuMs), ''],
    ['… peak RSS', mib(c.pullguard.median.maxRssBytes), `${mib(c.nodeBare.median.maxRssBytes)} \`node -e 0\``, ratio(c.pullguard.median.maxRssBytes, c.nodeBare.median.maxRssBytes), ''],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]): string => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  const note = `Medians of ${r.runs} run${r.runs === 1 ? '' : 's'} (1-min load average ${r.loadAverage.start.toFixed(1)} at start, ${r.loadAverage.end.toFixed(1)} at end): on a loaded machine compare the CPU ratios.`;
  return [line(rows[0]!), `| ${widths.map((n) => '-'.repeat(n)).join(' | ')} |`, ...rows.slice(1).map(line), '', note].join('\n');
}

export function cliPlan(env: Readonly<Record<string, string | undefined>>, scale: number): Omit<CliBenchOptions, 'main'> {
  const n = (name: string, full: number, least: number): number => {
    const raw = env[name];
    const v = raw ? Number(raw) : Math.max(least, Math.round(full * scale));
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${name}=${JSON.stringify(raw)}: expected a positive whole number`);
    return v;
  };
  return { images: n('BENCH_CLI_IMAGES', 50, 4), runs: n('BENCH_CLI_RUNS', 3, 1) };
}

/** The entry point to measure: BENCH_CLI_MAIN, else the bench's own build, else src/ compiled here. */
export function cliMain(env: Readonly<Record<string, string | undefined>>, fromSource: boolean): string {
  if (env['BENCH_CLI_MAIN']) return env['BENCH_CLI_MAIN'];
  if (fromSource) return join(REPO_ROOT, 'src', 'cli', 'main.ts');
  return existsSync(BENCH_BUILT_MAIN) ? BENCH_BUILT_MAIN : compileCli();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const plan = cliPlan(process.env, Number(process.env['BENCH_SCALE'] ?? '1') || 1);
  const main = cliMain(process.env, process.env['BENCH_FROM_SOURCE'] === '1');
  cliBench({ ...plan, main }).then((r) => {
    process.stdout.write(`${cliTable(r)}\n\n${JSON.stringify(r, null, 2)}\n`);
    process.exit(0);
  }, (err: unknown) => {
    process.stderr.write(`cli bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
