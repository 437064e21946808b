// The continuous audit inside `serve`: every audit.intervalMinutes, the replica holding the Lease lists the
// workloads (namespace include/exclude applied), checks them with the webhook's checker and cache, its new registry
// questions paced evenly over the first half of the interval, then publishes the findings as metrics, as the JSON of
// `GET /audit` on the metrics port, and optionally as Warning Events (reason ImageWouldNotPull) on the workloads.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { AuditConfig } from '../config.ts';
import type { EventRecorder } from '../cluster/events.ts';
import type { LeaseElector } from '../cluster/lease.ts';
import { listWorkloads, type ListedWorkload } from '../cluster/workloads-list.ts';
import type { RegistryClient } from '../registry/index.ts';
import type { Checker } from '../verdict/check.ts';
import { explain } from '../verdict/explain.ts';
import { createAuditMetrics } from './metrics.ts';
import { createPacer, runQuestions } from './questions.ts';
import { findingRows, summarize, type AuditSummary, type FindingRow } from './summary.ts';
import { auditWorkloads } from './walk.ts';
import { globToRegExp } from '../verdict/check.ts';
import { podSpecOf } from '../workloads/podspec.ts';

export interface AuditReport {
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  summary: AuditSummary;
  /** Problems only: images that would not pull or could not be checked. */
  findings: FindingRow[];
  listingErrors: string[];
  registryQuestions: number;
  eventsCreated: number;
  eventErrors: string[];
}

export interface AuditStatus {
  enabled: true;
  /** This replica holds the Lease and runs the audits. */
  leader: boolean;
  holder?: string;
  /** The last run this replica made (null before its first). */
  lastRun: AuditReport | null;
}

export interface ContinuousAuditDeps {
  config: AuditConfig;
  kc: KubeConfig;
  lease: LeaseElector;
  events?: EventRecorder;
  /** Builds the checker over a registry client: the runtime's checkerFor, with this run's paced questions. */
  checkerFor(registry: Pick<RegistryClient, 'resolve' | 'close'>): Checker;
  registry: Pick<RegistryClient, 'resolve'>;
  metricsRegistry: Registry;
  logger: { info(o: object, m: string): void; warn(o: object, m: string): void };
  clock?: () => number;
}

export interface ContinuousAudit {
  status(): AuditStatus;
  /** One lease attempt and, when held and due, one run; the timer calls this. Resolves when the run is done. */
  tick(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

/** Namespace filter: include (empty = all) less exclude; `*` globs as in exclude.images. */
export function namespaceFilter(ns: AuditConfig['namespaces']): (namespace: string) => boolean {
  const include = ns.include.map(globToRegExp);
  const exclude = ns.exclude.map(globToRegExp);
  return (n) => (include.length === 0 || include.some((re) => re.test(n))) && !exclude.some((re) => re.test(n));
}

export function createContinuousAudit(deps: ContinuousAuditDeps): ContinuousAudit {
  const clock = deps.clock ?? Date.now;
  const intervalMs = deps.config.intervalMinutes * 60_000;
  const metrics = createAuditMetrics(deps.metricsRegistry, { maxSeries: deps.config.maxSeries });
  const included = namespaceFilter(deps.config.namespaces);
  let leader = false;
  let holder: string | undefined;
  let lastRun: AuditReport | null = null;
  let nextRunAt = 0;
  let running: Promise<void> | undefined;
  let acquiring: Promise<unknown> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const stopping = new AbortController();
  let pacer: ReturnType<typeof createPacer> | undefined;

  async function run(): Promise<void> {
    const started = clock();
    const listing = await listWorkloads(deps.kc, { signal: stopping.signal });
    const workloads: ListedWorkload[] = listing.workloads.filter((w) => included(w.namespace));
    const distinct = new Set(workloads.flatMap((w) => {
      const spec = podSpecOf(w.kind, w.object);
      return spec.ok ? spec.view.images.map((i) => i.image) : [];
    })).size;
    // New questions spaced over half the interval, so the run ends well before the next one is due.
    pacer = createPacer(distinct > 1 ? intervalMs / 2 / distinct : 0, clock);
    const questions = runQuestions(deps.registry, pacer);
    const audited = await auditWorkloads(workloads, {
      checker: deps.checkerFor(questions),
      concurrency: 8,
      // The pacing wait is part of each check: the deadline is the run's, and never less than a CLI check's 30 s.
      deadline: (at) => Math.max(started + intervalMs, at + 30_000),
      clock,
    });
    pacer = undefined;
    const finished = clock();
    metrics.record(audited, { finishedAt: finished, durationMs: finished - started });
    let eventsCreated = 0;
    const eventErrors: string[] = [];
    if (deps.events) {
      for (const w of audited) {
        const denied = w.findings.filter((f) => f.resolution.verdict === 'deny');
        if (denied.length === 0) continue;
        const error = await deps.events.warn(w, 'ImageWouldNotPull', denied.map((f) => explain(f)).join('\n'));
        if (error) eventErrors.push(error);
        else eventsCreated++;
      }
    }
    lastRun = {
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(finished).toISOString(),
      durationSeconds: (finished - started) / 1000,
      summary: summarize(audited),
      findings: findingRows(audited),
      listingErrors: listing.errors,
      registryQuestions: questions.asked,
      eventsCreated,
      eventErrors: [...new Set(eventErrors)].slice(0, 20),
    };
    deps.logger.info({ workloads: lastRun.summary.workloads, deny: lastRun.summary.deny, unknown: lastRun.summary.unknown, seconds: lastRun.durationSeconds }, 'audit run finished');
    for (const e of listing.errors) deps.logger.warn({ error: e }, 'audit: a workload kind could not be listed');
  }

  /** One lease attempt; its outcome decides `leader`. */
  async function renewLease(): Promise<void> {
    // Renewed during a run too: a long run must not let the Lease lapse to another replica.
    const attempt = await deps.lease.tryAcquire();
    if (attempt.held !== leader) deps.logger.info({ leader: attempt.held }, attempt.held ? 'audit lease acquired: this replica audits' : 'audit lease lost');
    leader = attempt.held;
    holder = attempt.held ? undefined : attempt.holder;
    if (!attempt.held && attempt.error) deps.logger.warn({ error: attempt.error }, 'audit lease');
  }

  async function tick(): Promise<void> {
    if (stopping.signal.aborted) return;
    const renewal = renewLease();
    acquiring = renewal;
    try {
      await renewal;
    } finally {
      if (acquiring === renewal) acquiring = undefined;
    }
    if (stopping.signal.aborted) return;
    if (!leader || running || clock() < nextRunAt) return;
    nextRunAt = clock() + intervalMs;
    running = run().catch((err: unknown) => deps.logger.warn({ error: (err as Error).message }, 'audit run failed')).finally(() => {
      running = undefined;
    });
    return running;
  }

  // Lease renewals come at a third of its duration (client-go's RenewDeadline/RetryPeriod are of that order).
  const tickMs = Math.max(100, Math.min(intervalMs, (deps.config.lease.durationSeconds * 1000) / 3));
  return {
    status: () => ({ enabled: true, leader, ...(holder ? { holder } : {}), lastRun }),
    tick,
    start() {
      if (timer) return;
      void tick();
      timer = setInterval(() => void tick(), tickMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      stopping.abort();
      pacer?.stop();
      // A renewal still in flight would land after the release (or make it conflict) and keep the Lease held.
      await acquiring?.catch(() => {});
      await running;
      if (leader) await deps.lease.release();
      leader = false;
    },
  };
}
