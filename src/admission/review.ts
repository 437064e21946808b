// One AdmissionReview request in, one response out: which images to check (new ones only on UPDATE),
// which mode applies (config, namespace label, workload annotation), then the check and the decision.
import type { Config, Mode } from '../config.ts';
import type { ClusterReader } from '../cluster/types.ts';
import type { Metrics } from '../metrics.ts';
import { newImages, podSpecOf } from '../workloads/podspec.ts';
import type { Checker } from '../verdict/check.ts';
import { decide, effectiveMode, type EffectiveMode } from '../verdict/decide.ts';
import { explain } from '../verdict/explain.ts';
import { beforeDeadline } from '../verdict/deadline.ts';
import type { AdmissionRequest, AdmissionResponse } from './schema.ts';

/** The part of the request logger a review writes to. */
export interface ReviewLog {
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface ReviewDeps {
  config: Config;
  checker: Checker;
  cluster: ClusterReader;
  metrics: Metrics;
  clock?: () => number;
}

export interface ReviewOutcome {
  response: AdmissionResponse;
  kind: string;
  mode: EffectiveMode['mode'] | 'n/a';
  /** Why nothing was checked, when nothing was. */
  skipped?: string;
}

function allow(uid: string, kind: string, skipped: string, warnings: string[] = []): ReviewOutcome {
  return { response: { uid, allowed: true, ...(warnings.length ? { warnings } : {}) }, kind, mode: 'n/a', skipped };
}

function annotationOf(object: unknown, key: string): string | undefined {
  const meta = (object as { metadata?: { annotations?: unknown } } | null | undefined)?.metadata;
  const ann = meta?.annotations;
  if (ann === null || typeof ann !== 'object') return undefined;
  const v = (ann as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : undefined;
}

const TEMPLATE_PATHS = [['spec', 'template'], ['spec', 'jobTemplate', 'spec', 'template'], ['template']];

/** The workload's own annotation, else its pod template's (which a Pod made from it carries too). */
function workloadAnnotation(object: unknown, key: string): string | undefined {
  const own = annotationOf(object, key);
  if (own !== undefined) return own;
  for (const path of TEMPLATE_PATHS) {
    let at: unknown = object;
    for (const step of path) at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[step] : undefined;
    const v = annotationOf(at, key);
    if (v !== undefined) return v;
  }
  return undefined;
}

export async function review(req: AdmissionRequest, deadline: number, deps: ReviewDeps, log: ReviewLog): Promise<ReviewOutcome> {
  const kind = req.kind.kind;
  const uid = req.uid;
  if (req.operation === 'DELETE' || req.operation === 'CONNECT') return allow(uid, kind, `operation ${req.operation}`);
  if (req.subResource && !(kind === 'Pod' && req.subResource === 'ephemeralcontainers')) return allow(uid, kind, `subresource ${req.subResource}`);
  const namespace = req.namespace ?? '';
  if (deps.config.exclude.namespaces.includes(namespace)) return allow(uid, kind, `namespace ${namespace} is excluded`);

  const current = podSpecOf(kind, req.object);
  if (!current.ok) return allow(uid, kind, current.reason);
  const old = req.operation === 'UPDATE' && req.oldObject ? podSpecOf(kind, req.oldObject) : undefined;
  const targets = newImages(current.view, old?.ok ? old.view : undefined);
  if (targets.length === 0) return allow(uid, kind, req.operation === 'UPDATE' ? 'no new images' : 'no images');

  let namespaceLabel: string | undefined;
  let namespaceUnknown = false;
  if (deps.cluster.connected && namespace) {
    const clock = deps.clock ?? Date.now;
    const late = () => ({ found: false as const, reason: 'Unavailable' as const, message: 'the API server did not answer in time' });
    const labels = await beforeDeadline(deps.cluster.getNamespaceLabels(namespace), clock() + Math.max(0, deadline - clock()) / 4, late, clock);
    if (labels.found) namespaceLabel = labels.value[deps.config.modeLabel];
    else namespaceUnknown = labels.reason !== 'NotFound';
  }
  const annotation = workloadAnnotation(req.object, deps.config.modeLabel);
  let mode = effectiveMode({ global: deps.config.mode, namespaceLabel, workloadAnnotation: annotation }, deps.config.modeLabel);
  const notes = mode.invalid ? [`pullguard: ${mode.invalid}`.slice(0, 120)] : [];
  // The namespace may have opted out (warn/off) and we cannot read its label: never deny on a guess.
  if (namespaceUnknown && mode.source === 'config' && mode.mode === 'enforce') {
    mode = { mode: 'warn', source: 'namespace' };
    notes.push(`pullguard: namespace ${namespace}'s mode label could not be read; problems are warnings this time`.slice(0, 120));
  }
  if (mode.mode === 'off') return { ...allow(uid, kind, `mode off (${mode.source})`, notes), mode: 'off' };

  const view = current.view;
  const result = await deps.checker.check({ ...view, namespace }, targets, deadline);
  const decision = decide(result.findings, mode.mode as Mode, notes);
  for (const f of result.findings) deps.metrics.verdicts.inc({ reason: f.resolution.reason, verdict: f.resolution.verdict });

  const problems = [...decision.denied, ...decision.unknown];
  if (problems.length > 0) {
    log.info({
      kind, namespace, name: req.name, dryRun: req.dryRun === true, mode: mode.mode, modeSource: mode.source, allowed: decision.allowed,
      problems: problems.map((f) => ({ container: f.target.containerName, field: f.target.fieldPath, image: f.resolution.image, reason: f.resolution.reason, verdict: f.resolution.verdict, explanation: explain(f) })),
    }, decision.allowed ? 'admitted with warnings' : 'denied');
  } else {
    log.debug({ kind, namespace, images: result.findings.length, excluded: result.excluded.length }, 'all images resolve');
  }
  const response: AdmissionResponse = {
    uid,
    allowed: decision.allowed,
    ...(decision.message ? { status: { code: 403, reason: 'Forbidden', message: decision.message } } : {}),
    ...(decision.warnings.length ? { warnings: decision.warnings } : {}),
    auditAnnotations: decision.auditAnnotations,
  };
  return { response, kind, mode: mode.mode };
}
