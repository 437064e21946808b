// `pullguard audit`: what enforce mode would block today. Lists the running workloads (src/cluster/workloads-list),
// checks every image with the webhook's own engine (pull secrets, ServiceAccount secrets, eligible nodes, pull
// policy, the shared cache and per-registry limits), each distinct registry question once, and prints the same
// explanations as `check`, then a summary by reason and namespace.
import { pino } from 'pino';
import type { RequestEvent } from '../registry/index.ts';
import { explain } from '../verdict/explain.ts';
import type { Finding } from '../verdict/finding.ts';
import { AUDIT_OPTIONS, configFrom, parse } from './flags.ts';
import { EXIT_CODES_TEXT, EXIT_DENY, EXIT_UNKNOWN, EXIT_USAGE, exitCode, toJson, verdictMark } from './output.ts';

export const AUDIT_USAGE = `Usage: pullguard audit [-n NAMESPACE | -A] [options]

Checks the images of the workloads running in a cluster as the webhook would check them at admission: which
would enforce mode deny today, and why. Lists Deployments, StatefulSets, DaemonSets, CronJobs, and the Jobs,
ReplicaSets, ReplicationControllers and Pods no controller owns; prints each image that would not pull (or could
not be checked) with its explanation, then a summary by reason and by namespace.

Options:
  -n, --namespace NS            audit one namespace (default: the kubeconfig context's namespace)
  -A, --all-namespaces          audit every namespace
  --only deny|unknown           print only images that cannot be pulled, or only those that could not be checked
                                (the exit code still counts every image)
  --kubeconfig FILE             the cluster (default: $KUBECONFIG, then the in-cluster service account)
  --platform os/arch[/variant]  platforms to check when the nodes cannot be read (repeatable)
  --docker-config FILE          node-level credentials, e.g. the kubelet's config.json (repeatable)
  --registry-config FILE        per-registry settings: CA bundles, mirrors, plain HTTP
  --config FILE                 pullguard's config file
  --json                        print {"findings": [...], "summary": {...}} instead of text
  -h, --help                    print this help

A progress line goes to stderr when it is a terminal.

${EXIT_CODES_TEXT}A kind that could not be listed (RBAC) counts as could not be checked.
`;

/** Everything one workload waits for the registries, pull secrets and nodes. */
const DEADLINE_MS = 30_000;
const CONCURRENCY = 16;
const PROGRESS_EVERY_MS = 200;

export interface AuditIo {
  out: NodeJS.WritableStream;
  /** Progress goes here only when it is a terminal (`isTTY`). */
  err: NodeJS.WritableStream & { isTTY?: boolean };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export async function runAudit(args: string[], io: AuditIo = { out: process.stdout, err: process.stderr }): Promise<number> {
  const parsed = parse(args, AUDIT_OPTIONS);
  const usage = (message: string) => {
    io.err.write(`pullguard audit: ${message}\nRun "pullguard audit --help" for usage.\n`);
    return EXIT_USAGE;
  };
  if (!parsed.ok) return usage(parsed.error);
  const v = parsed.values;
  if (v['help']) {
    io.out.write(AUDIT_USAGE);
    return 0;
  }
  if (parsed.positionals.length > 0) return usage(`unexpected argument "${parsed.positionals[0]}"`);
  if (typeof v['namespace'] === 'string' && v['all-namespaces']) return usage('-n/--namespace and -A/--all-namespaces exclude each other');
  if (v['namespace'] === '') return usage('-n/--namespace needs a namespace name');
  const only = v['only'];
  if (only !== undefined && only !== 'deny' && only !== 'unknown') return usage(`--only: "${String(only)}" is not deny or unknown`);
  const cfg = configFrom(v);
  if (!cfg.ok) {
    io.err.write(cfg.errors.map((e) => `pullguard audit: ${e}\n`).join(''));
    return EXIT_USAGE;
  }
  // The audit is of a cluster: without one there is nothing to list, so a missing kubeconfig is an error.
  const config = { ...cfg.config, kubernetes: { ...cfg.config.kubernetes, enabled: true as const } };
  const [{ loadKubeConfig }, { listWorkloads }, { buildRuntime, checkerFor }, { runQuestions }, { auditWorkloads }, { summarize, formatSummary, shown }] = await Promise.all([
    import('../cluster/kubeconfig.ts'),
    import('../cluster/workloads-list.ts'),
    import('./runtime.ts'),
    import('../audit/questions.ts'),
    import('../audit/walk.ts'),
    import('../audit/summary.ts'),
  ]);
  const kc = loadKubeConfig(config.kubernetes.kubeconfig ? { kubeconfig: config.kubernetes.kubeconfig } : {});
  if (!kc.ok) {
    io.err.write(`pullguard audit: kubernetes: ${kc.reason}\n`);
    return EXIT_USAGE;
  }
  const namespace = v['all-namespaces']
    ? undefined
    : typeof v['namespace'] === 'string' ? v['namespace'] : (kc.kc.getContextObject(kc.kc.currentContext)?.namespace ?? 'default');

  let registryRequests = 0;
  const observer = { request: (_e: RequestEvent) => void registryRequests++ };
  const log = pino({ level: process.env['PULLGUARD_LOG_LEVEL'] ?? 'warn' }, io.err);
  const built = buildRuntime(config, { log, connectCluster: true, observer });
  if (!built.ok) {
    io.err.write(built.errors.map((e) => `pullguard audit: ${e}\n`).join(''));
    return EXIT_USAGE;
  }
  const rt = built.runtime;
  const started = Date.now();
  const tty = io.err.isTTY === true;
  let line = 'listing workloads';
  const draw = () => io.err.write(`\r\x1b[2K${line}`);
  const ticker = tty ? setInterval(draw, PROGRESS_EVERY_MS) : undefined;
  ticker?.unref();
  if (tty) draw();
  const warnings = [...built.warnings];
  let listingErrors: string[];
  let workloads;
  let questions;
  try {
    const listing = await listWorkloads(kc.kc, namespace === undefined ? {} : { namespace });
    listingErrors = listing.errors;
    questions = runQuestions(rt.registry);
    const checker = checkerFor(config, { registry: questions, cluster: rt.cluster, nodeCredentials: rt.nodeCredentials, fallbackPlatforms: rt.fallbackPlatforms });
    workloads = await auditWorkloads(listing.workloads, {
      checker,
      concurrency: CONCURRENCY,
      deadline: (at) => at + DEADLINE_MS,
      onProgress: (p) => {
        line = `audit: ${p.workloadsDone}/${p.workloadsTotal} workloads, ${p.imagesDone}/${p.imagesTotal} images, ${registryRequests} registry requests, ${seconds(p.elapsedMs)}`;
        // The last state is always shown, however fast the run.
        if (tty && p.workloadsDone === p.workloadsTotal) draw();
      },
    });
  } finally {
    if (ticker) {
      clearInterval(ticker);
      io.err.write('\r\x1b[2K');
    }
    await rt.close();
  }
  for (const w of workloads) for (const p of w.problems) warnings.push(`${w.kind} ${w.namespace}/${w.name}: ${p}; skipped`);
  io.err.write(warnings.map((w) => `pullguard audit: warning: ${w}\n`).join(''));
  io.err.write(listingErrors.map((e) => `pullguard audit: ${e}\n`).join(''));

  const summary = summarize(workloads);
  const filter = only as 'deny' | 'unknown' | undefined;
  if (v['json']) {
    const findings = workloads.flatMap((w) => w.findings.filter((f) => filter === undefined || f.resolution.verdict === filter).map((f) => ({
      kind: w.kind, namespace: w.namespace, name: w.name, container: f.target.containerName, field: f.target.fieldPath, ...toJson(f),
    })));
    const run = { durationSeconds: (Date.now() - started) / 1000, registryRequests, registryQuestions: questions.asked, listingErrors };
    io.out.write(`${JSON.stringify({ findings, summary, run }, null, 2)}\n`);
  } else {
    for (const w of workloads) {
      for (const f of w.findings) {
        if (shown(f, filter)) io.out.write(`${verdictMark(f)} ${w.kind} ${w.namespace}/${w.name}: ${explain(f)}\n`);
      }
    }
    io.out.write(formatSummary(summary));
    io.out.write(`${questions.asked} distinct registry questions, ${registryRequests} registry requests, ${seconds(Date.now() - started)}\n`);
  }
  const all: Finding[] = workloads.flatMap((w) => w.findings);
  const code = exitCode(all);
  return code === EXIT_DENY ? code : listingErrors.length > 0 ? EXIT_UNKNOWN : code;
}
