// The continuous audit's Prometheus series, registered on the server's own registry beside the webhook's. Problems
// only, one series per (workload, container, reason), capped so a broken registry cannot explode the cardinality;
// what the cap leaves out is counted.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AuditedWorkload } from './walk.ts';

export interface AuditMetrics {
  /** Replace the problem series and the totals with those of a finished run. */
  record(workloads: AuditedWorkload[], run: { finishedAt: number; durationMs: number }): void;
}

export function createAuditMetrics(registry: Registry, opts: { maxSeries: number }): AuditMetrics {
  const registers = [registry];
  const problems = new Gauge({
    name: 'pullguard_audit_workload_problems',
    help: 'Images of running workloads that would not pull (verdict deny) or could not be checked (unknown), as of the last audit run; 1 per series.',
    labelNames: ['namespace', 'kind', 'name', 'container', 'reason', 'verdict'],
    registers,
  });
  const dropped = new Counter({
    name: 'pullguard_audit_series_dropped_total',
    help: 'Problems the last audit runs found but left out of pullguard_audit_workload_problems (audit.maxSeries reached).',
    registers,
  });
  const lastRun = new Gauge({ name: 'pullguard_audit_last_run_timestamp_seconds', help: 'When the last audit run finished (Unix time).', registers });
  const duration = new Gauge({ name: 'pullguard_audit_duration_seconds', help: 'How long the last audit run took, pacing included.', registers });
  const images = new Gauge({
    name: 'pullguard_audit_images',
    help: 'Images (one per container) of the workloads in the last audit run, by verdict.',
    labelNames: ['verdict'],
    registers,
  });
  return {
    record(workloads, run) {
      problems.reset();
      let series = 0;
      let over = 0;
      const counts = { allow: 0, deny: 0, unknown: 0 };
      for (const w of workloads) {
        for (const f of w.findings) {
          counts[f.resolution.verdict]++;
          if (f.resolution.verdict === 'allow') continue;
          const labels = { namespace: w.namespace, kind: w.kind, name: w.name, container: f.target.containerName, reason: f.resolution.reason, verdict: f.resolution.verdict };
          // Deny before unknown would be nicer, but a stable first-come order keeps series from flapping between runs.
          if (series < opts.maxSeries) {
            problems.set(labels, 1);
            series++;
          } else {
            over++;
          }
        }
      }
      if (over > 0) dropped.inc(over);
      for (const [verdict, n] of Object.entries(counts)) images.set({ verdict }, n);
      lastRun.set(run.finishedAt / 1000);
      duration.set(run.durationMs / 1000);
    },
  };
}
