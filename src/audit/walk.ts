// The audit's walk: every listed workload's pod spec checked by the webhook's own checker (pull secrets,
// ServiceAccount secrets, eligible nodes, pull policy), a bounded number at a time, with progress as it goes.
import type { ListedWorkload } from '../cluster/workloads-list.ts';
import type { Checker } from '../verdict/check.ts';
import type { Finding } from '../verdict/finding.ts';
import { podSpecOf } from '../workloads/podspec.ts';

export interface AuditedWorkload {
  kind: string;
  apiVersion: string;
  namespace: string;
  name: string;
  uid: string;
  /** One per image the kubelet would pull for it (excluded images are left out, as the webhook leaves them). */
  findings: Finding[];
  /** Malformed parts of the pod spec that were skipped, as sentences. */
  problems: string[];
}

export interface AuditProgress {
  workloadsDone: number;
  workloadsTotal: number;
  /** Distinct images (as written) whose every workload so far has been answered, and all distinct images. */
  imagesDone: number;
  imagesTotal: number;
  elapsedMs: number;
}

export interface WalkOptions {
  checker: Checker;
  /** Workloads checked at once (default 16). */
  concurrency?: number;
  /** The deadline (epoch ms) of one workload's check, given when it starts. */
  deadline: (startedAt: number) => number;
  onProgress?: (p: AuditProgress) => void;
  clock?: () => number;
}

export async function auditWorkloads(listed: ListedWorkload[], opts: WalkOptions): Promise<AuditedWorkload[]> {
  const clock = opts.clock ?? Date.now;
  const started = clock();
  const views = listed.map((w) => ({ w, spec: podSpecOf(w.kind, w.object) }));
  // How many workloads still wait on each image: an image is done when the last of them is answered.
  const pending = new Map<string, number>();
  for (const { spec } of views) {
    if (!spec.ok) continue;
    for (const image of new Set(spec.view.images.map((i) => i.image))) pending.set(image, (pending.get(image) ?? 0) + 1);
  }
  const imagesTotal = pending.size;
  let imagesDone = 0;
  let workloadsDone = 0;
  const report = () => opts.onProgress?.({ workloadsDone, workloadsTotal: listed.length, imagesDone, imagesTotal, elapsedMs: clock() - started });

  const results: AuditedWorkload[] = new Array(listed.length);
  let nextIndex = 0;
  const worker = async () => {
    for (let i = nextIndex++; i < views.length; i = nextIndex++) {
      const { w, spec } = views[i]!;
      const base = { kind: w.kind, apiVersion: w.apiVersion, namespace: w.namespace, name: w.name, uid: w.uid };
      if (!spec.ok) {
        // A Deployment without a pod spec cannot exist in a real cluster; say so rather than guess.
        results[i] = { ...base, findings: [], problems: spec.code === 'NoPodSpec' ? [spec.reason] : [] };
      } else {
        const { findings } = await opts.checker.check({ ...spec.view, namespace: w.namespace }, spec.view.images, opts.deadline(clock()));
        results[i] = { ...base, findings, problems: spec.view.problems };
        for (const image of new Set(spec.view.images.map((t) => t.image))) {
          const left = (pending.get(image) ?? 1) - 1;
          pending.set(image, left);
          if (left === 0) imagesDone++;
        }
      }
      workloadsDone++;
      report();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 16, views.length)) }, worker));
  return results;
}
