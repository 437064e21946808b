// One AdmissionReview request in, one response out. This layer only decides whether a request is looked at (named
// skip rules, each with its reason), finds the pod spec and the images to check (new ones only on UPDATE), and
// shapes the response; the mode, the check and the decision are src/verdict/review.ts.
import type { Config } from '../config.ts';
import { newImages, podSpecOf } from '../workloads/podspec.ts';
import type { EffectiveMode } from '../verdict/decide.ts';
import { reviewImages, type ReviewDeps, type ReviewLog } from '../verdict/review.ts';
import type { AdmissionRequest, AdmissionResponse } from './schema.ts';

export type { ReviewDeps, ReviewLog } from '../verdict/review.ts';

export interface ReviewOutcome {
  response: AdmissionResponse;
  kind: string;
  mode: EffectiveMode['mode'] | 'n/a';
  /** Why nothing was checked, when nothing was. */
  skipped?: string;
}

/** A request that is admitted untouched: `applies` gives the reason (for the debug log), or undefined. */
export interface SkipRule {
  name: string;
  applies(req: AdmissionRequest, config: Config): string | undefined;
}

/** Before the object is read, in order; the first that applies answers. */
export const SKIP_RULES: readonly SkipRule[] = [
  {
    // Nothing is pulled for a deletion or an exec/attach/port-forward.
    name: 'operation',
    applies: (req) => (req.operation === 'DELETE' || req.operation === 'CONNECT' ? `operation ${req.operation}` : undefined),
  },
  {
    // Status and scale updates carry no new image; a Pod's ephemeralcontainers subresource does.
    name: 'subresource',
    applies: (req) => (req.subResource && !(req.kind.kind === 'Pod' && req.subResource === 'ephemeralcontainers') ? `subresource ${req.subResource}` : undefined),
  },
  {
    name: 'excluded-namespace',
    applies: (req, config) => (config.exclude.namespaces.includes(req.namespace ?? '') ? `namespace ${req.namespace ?? ''} is excluded` : undefined),
  },
];

function allow(uid: string, kind: string, skipped: string, warnings: string[] = []): ReviewOutcome {
  return { response: { uid, allowed: true, ...(warnings.length ? { warnings } : {}) }, kind, mode: 'n/a', skipped };
}

/** `signal`: the webhook answered without this review (its backstop): the review's remaining work is cancelled. */
export async function review(req: AdmissionRequest, deadline: number, deps: ReviewDeps, log: ReviewLog, signal?: AbortSignal): Promise<ReviewOutcome> {
  const kind = req.kind.kind;
  const uid = req.uid;
  for (const rule of SKIP_RULES) {
    const why = rule.applies(req, deps.config);
    if (why !== undefined) return allow(uid, kind, why);
  }
  // Two more skip rules need the object: no pod spec in it, and no (new) image in the pod spec.
  const current = podSpecOf(kind, req.object);
  if (!current.ok) return allow(uid, kind, current.reason);
  const old = req.operation === 'UPDATE' && req.oldObject ? podSpecOf(kind, req.oldObject) : undefined;
  const targets = newImages(current.view, old?.ok ? old.view : undefined);
  if (targets.length === 0) return allow(uid, kind, req.operation === 'UPDATE' ? 'no new images' : 'no images');

  const namespace = req.namespace ?? '';
  const result = await reviewImages({ kind, namespace, name: req.name, dryRun: req.dryRun, uid, object: req.object, spec: current.view, targets }, deadline, deps, log, signal);
  const { decision, mode } = result;
  if (!decision) return { ...allow(uid, kind, `mode off (${mode.source})`, result.notes), mode: 'off' };
  const response: AdmissionResponse = {
    uid,
    allowed: decision.allowed,
    ...(decision.message ? { status: { code: 403, reason: 'Forbidden', message: decision.message } } : {}),
    ...(decision.warnings.length ? { warnings: decision.warnings } : {}),
    auditAnnotations: decision.auditAnnotations,
  };
  return { response, kind, mode: mode.mode };
}
