// The one review entry point below HTTP: for the images of one pod spec, which mode applies (the config, the
// namespace's label read from the API server, the workload's or its template's annotation), the check, and the
// decision, all within the review's deadline budget (src/verdict/deadline.ts).
import type { ClusterReader, Lookup } from '../cluster/types.ts';
import type { Config, Mode } from '../config.ts';
import type { Metrics } from '../metrics.ts';
import type { Checker, PodPullSpec } from './check.ts';
import { decide, effectiveMode, type Decision, type EffectiveMode } from './decide.ts';
import { atHandBeforeDeadline, NAMESPACE_READ_SHARE, shareOfTimeLeft, whenAtHand } from './deadline.ts';
import { explain } from './explain.ts';
import type { ImageTarget } from './finding.ts';
import { WARNING_MAX_CHARS } from './warnings.ts';

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

/** What is to be reviewed: the images of one object's pod spec (new ones only, on UPDATE). */
export interface ImageReview {
  kind: string;
  namespace: string;
  name?: string | undefined;
  dryRun?: boolean | undefined;
  /** The AdmissionReview's uid: warnings that do not all fit point at the log line carrying it. */
  uid?: string | undefined;
  /** The object as sent, for the mode annotation on it or on its pod template. */
  object: unknown;
  spec: Omit<PodPullSpec, 'namespace'>;
  targets: ImageTarget[];
}

export interface ReviewResult {
  mode: EffectiveMode;
  /** Absent when the mode is off: nothing was checked. */
  decision?: Decision;
  /** Warnings about the review itself (an invalid override, an unreadable label), for when nothing was checked. */
  notes: string[];
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
export function workloadAnnotation(object: unknown, key: string): string | undefined {
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

const note = (text: string): string => text.slice(0, WARNING_MAX_CHARS);

type ModeFound = { mode: EffectiveMode; notes: string[] };

const NAMESPACE_LATE: Lookup<never> = { found: false, reason: 'Unavailable', message: 'the API server did not answer in time' };

/**
 * The mode for this object, reading the namespace's label within NAMESPACE_READ_SHARE of the time left; at once,
 * without a promise, when the label is at hand (fresh in the reader's cache) or not read at all.
 */
export function resolveMode(r: Pick<ImageReview, 'namespace' | 'object'>, deadline: number, deps: ReviewDeps): ModeFound | Promise<ModeFound> {
  const { cluster } = deps;
  if (!(cluster.connected && r.namespace)) return modeFrom(r, deps, undefined);
  const clock = deps.clock ?? Date.now;
  const labels = atHandBeforeDeadline(cluster.peekNamespaceLabels?.(r.namespace), () => cluster.getNamespaceLabels(r.namespace), shareOfTimeLeft(deadline, NAMESPACE_READ_SHARE, clock), () => ({ ...NAMESPACE_LATE }), clock);
  return whenAtHand(labels, (l) => modeFrom(r, deps, l));
}

/** The mode from the config, the namespace's labels (when read) and the workload's annotation. */
function modeFrom(r: Pick<ImageReview, 'namespace' | 'object'>, deps: ReviewDeps, labels: Lookup<Record<string, string>> | undefined): ModeFound {
  const { config } = deps;
  const namespaceLabel = labels?.found ? labels.value[config.modeLabel] : undefined;
  const namespaceUnknown = labels !== undefined && !labels.found && labels.reason !== 'NotFound';
  const annotation = workloadAnnotation(r.object, config.modeLabel);
  let mode = effectiveMode({ global: config.mode, namespaceLabel, workloadAnnotation: annotation }, config.modeLabel);
  const notes = mode.invalid ? [note(`pullguard: ${mode.invalid}`)] : [];
  // The namespace may have opted out (warn/off) and we cannot read its label: never deny on a guess.
  if (namespaceUnknown && mode.source === 'config' && mode.mode === 'enforce') {
    mode = { mode: 'warn', source: 'namespace' };
    notes.push(note(`pullguard: namespace ${r.namespace}'s mode label could not be read; problems are warnings this time`));
  }
  return { mode, notes };
}

/** Mode, check and decision for the images of one pod spec; logs the problems (with every explanation) once. */
export async function reviewImages(r: ImageReview, deadline: number, deps: ReviewDeps, log: ReviewLog, signal?: AbortSignal): Promise<ReviewResult> {
  const found = resolveMode(r, deadline, deps);
  const { mode, notes } = found instanceof Promise ? await found : found;
  if (mode.mode === 'off') return { mode, notes };

  const result = await deps.checker.check({ ...r.spec, namespace: r.namespace }, r.targets, deadline, signal);
  const decision = decide(result.findings, mode.mode as Mode, [...notes, ...(result.notes ?? [])], r.uid !== undefined ? { uid: r.uid } : {});
  for (const f of result.findings) deps.metrics.verdicts.inc({ reason: f.resolution.reason, verdict: f.resolution.verdict });
  if (result.notChecked?.length) deps.metrics.verdicts.inc({ reason: 'NotChecked', verdict: 'unknown' }, result.notChecked.length);

  const problems = [...decision.denied, ...decision.unknown];
  if (problems.length > 0) {
    // One log line per review, bounded: the first problems in full, the rest counted.
    const logged = Math.min(problems.length, deps.config.limits.problemsLogged);
    log.info({
      kind: r.kind, namespace: r.namespace, name: r.name, dryRun: r.dryRun === true, mode: mode.mode, modeSource: mode.source, allowed: decision.allowed,
      ...(logged < problems.length ? { problemsNotLogged: problems.length - logged } : {}),
      ...(result.notChecked?.length ? { imagesNotChecked: result.notChecked.length } : {}),
      problems: problems.slice(0, logged).map((f) => ({ container: f.target.containerName, field: f.target.fieldPath, image: f.resolution.image, reason: f.resolution.reason, verdict: f.resolution.verdict, explanation: explain(f) })),
    }, decision.allowed ? 'admitted with warnings' : 'denied');
  } else {
    log.debug({ kind: r.kind, namespace: r.namespace, images: result.findings.length, excluded: result.excluded.length }, 'all images resolve');
  }
  return { mode, decision, notes };
}
