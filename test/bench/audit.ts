// The audit's figures: `pullguard audit -A` (the real CLI, its own process) against a fake cluster of N workloads of
// every kind over M images in a real registry behind the fault proxy, which counts every request. Reports
// workloads per second and registry requests per distinct image; the bar is at most one manifest question
// per image (1,000 workloads over 200 images: at most 200). Run alone with `node test/bench/audit.ts`, or as part
// of `npm run bench`. BENCH_AUDIT_WORKLOADS and BENCH_AUDIT_IMAGES override the sizes; BENCH_AUDIT_SHARED_DIGEST=1 pushes
// every tag on one manifest (quicker set-up) instead of one digest per image.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeApiServer } from '../harness/fake-apiserver.ts';
import { startFaultProxy } from '../harness/fault-proxy.ts';
import { makeTempDir, removeTempDir } from '../harness/lifecycle.ts';
import { pushImage, pushTags } from '../harness/push.ts';
import { startRegistry } from '../harness/registry.ts';
import { cronJob, daemonSet, deployment, job, pod, replicaSet, replicationController, statefulSet } from '../audit/workloads.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface AuditBenchOptions {
  workloads: number;
  images: number;
  namespaces: number;
  /** Each image its own digest (pushed one by one), or every tag on one manifest (quick to push). */
  distinctDigests: boolean;
}

export interface AuditBenchResult {
  workloads: number;
  images: number;
  distinctDigests: boolean;
  exitCode: number;
  wallMs: number;
  workloadsPerSecond: number;
  /** Requests the registry saw, by kind (counted at the fault proxy). */
  requests: { total: number; manifests: number; manifestHead: number; manifestGet: number; other: number };
  manifestRequestsPerImage: number;
  requestsPerImage: number;
  /** What the CLI itself reports (`run` of --json). */
  registryQuestions: number;
  summary: { allow: number; deny: number; unknown: number; workloads: number };
}

const KINDS = [deployment, statefulSet, daemonSet, cronJob, job, replicaSet, replicationController, pod] as const;

export async function auditBench(opts: AuditBenchOptions): Promise<AuditBenchResult> {
  const registry = await startRegistry({ auth: 'none' });
  const proxy = await startFaultProxy(registry);
  const api = await startFakeApiServer();
  const dir = makeTempDir('pullguard-bench-audit-');
  try {
    const tags = Array.from({ length: opts.images }, (_, i) => `v${i}`);
    if (opts.distinctDigests) {
      const queue = [...tags];
      const AMD64 = { os: 'linux', architecture: 'amd64' };
      await Promise.all(Array.from({ length: 8 }, async () => {
        for (let tag = queue.shift(); tag !== undefined; tag = queue.shift()) await pushImage(registry, { repository: 'fleet/app', tag, platforms: [AMD64] });
      }));
    } else {
      await pushTags(registry, 'fleet/app', tags);
    }
    api.setNode({ name: 'node-1' });
    for (let i = 0; i < opts.workloads; i++) {
      const make = KINDS[i % KINDS.length]!;
      api.setWorkload(make(`w-${i}`, { namespace: `team-${i % opts.namespaces}`, images: [`${proxy.host}/fleet/app:${tags[i % opts.images]}`] }));
    }
    const registryConfig = join(dir, 'registries.yaml');
    writeFileSync(registryConfig, `registries:\n  "${proxy.host}":\n    ca: ${registry.caFile}\n`);
    proxy.reset();
    const started = performance.now();
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      execFile(process.execPath, [MAIN, 'audit', '-A', '--json', '--kubeconfig', api.kubeconfigFile, '--registry-config', registryConfig], { maxBuffer: 256 * 1024 * 1024, timeout: 300_000 }, (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') reject(err);
        else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      });
    });
    const wallMs = performance.now() - started;
    let out: { summary: AuditBenchResult['summary']; run: { registryQuestions: number } };
    try {
      out = JSON.parse(run.stdout) as typeof out;
    } catch {
      throw new Error(`pullguard audit printed no JSON (exit ${run.code}): ${run.stderr.slice(0, 2000)}`);
    }
    const manifestHead = proxy.requests.filter((r) => r.path.includes('/manifests/') && r.method === 'HEAD').length;
    const manifestGet = proxy.requests.filter((r) => r.path.includes('/manifests/') && r.method === 'GET').length;
    const total = proxy.requests.length;
    return {
      workloads: opts.workloads,
      images: opts.images,
      distinctDigests: opts.distinctDigests,
      exitCode: run.code,
      wallMs,
      workloadsPerSecond: opts.workloads / (wallMs / 1000),
      requests: { total, manifests: manifestHead + manifestGet, manifestHead, manifestGet, other: total - manifestHead - manifestGet },
      manifestRequestsPerImage: (manifestHead + manifestGet) / opts.images,
      requestsPerImage: total / opts.images,
      registryQuestions: out.run.registryQuestions,
      summary: { allow: out.summary.allow, deny: out.summary.deny, unknown: out.summary.unknown, workloads: out.summary.workloads },
    };
  } finally {
    await api.stop();
    await proxy.stop();
    await registry.stop();
    removeTempDir(dir);
  }
}

/** One Markdown table row set, the same shape as the main bench table. */
export function auditTable(r: AuditBenchResult): string {
  const rows = [
    ['Figure', 'pullguard', 'Target'],
    [`pullguard audit -A: ${r.workloads.toLocaleString('en-US')} workloads over ${r.images} images${r.distinctDigests ? '' : ' (one digest)'} (CLI start-up included)`, `${r.workloadsPerSecond.toFixed(0)} workloads/s (${(r.wallMs / 1000).toFixed(1)} s, exit ${r.exitCode})`, ''],
    ['Manifest questions (distinct image × credentials × platforms)', `${r.registryQuestions}`, `≤ ${r.images} (${r.registryQuestions <= r.images ? '✔ met' : '✘ missed'})`],
    ['Manifest requests per image', `${r.manifestRequestsPerImage.toFixed(2)} (${r.requests.manifests}: ${r.requests.manifestHead} HEAD, ${r.requests.manifestGet} GET)`, ''],
    ['Registry requests per image (all kinds)', `${r.requestsPerImage.toFixed(2)} (${r.requests.total}; ${r.requests.other} other)`, ''],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]): string => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(rows[0]!), `| ${widths.map((n) => '-'.repeat(n)).join(' | ')} |`, ...rows.slice(1).map(line)].join('\n');
}

export function auditPlan(env: Readonly<Record<string, string | undefined>>, scale: number): AuditBenchOptions {
  const n = (name: string, full: number, least: number) => {
    const raw = env[name];
    const v = raw ? Number(raw) : Math.max(least, Math.round(full * scale));
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${name}=${JSON.stringify(raw)}: expected a positive whole number`);
    return v;
  };
  return { workloads: n('BENCH_AUDIT_WORKLOADS', 1000, 50), images: n('BENCH_AUDIT_IMAGES', 200, 10), namespaces: 20, distinctDigests: env['BENCH_AUDIT_SHARED_DIGEST'] !== '1' };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const plan = auditPlan(process.env, Number(process.env['BENCH_SCALE'] ?? '1') || 1);
  auditBench(plan).then((r) => {
    process.stdout.write(`${auditTable(r)}\n\n${JSON.stringify(r, null, 2)}\n`);
    process.exit(0);
  }, (err: unknown) => {
    process.stderr.write(`audit bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
