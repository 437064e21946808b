// From findings and the effective mode to an admission decision: allowed or not, the denial message,
// warnings and audit annotations, all kept within the API server's limits.
import type { Mode, ModeOverride } from '../config.ts';
import type { Finding } from './finding.ts';
import { explain } from './explain.ts';
import { plain } from './text.ts';
import { fitWarnings, groupProblems, problemWarning, WARNING_MAX_CHARS, type Overflow } from './warnings.ts';

export { fitWarnings, WARNINGS_MAX_RUNES } from './warnings.ts';
/** Keep denial messages readable in a terminal and far below any size limit. */
export const MESSAGE_MAX_CHARS = 6000;
const AUDIT_VALUE_MAX_CHARS = 1000;
/** Problems with an audit annotation each (`image-0` …); the log line has them all. */
export const AUDIT_PROBLEMS_MAX = 20;

export interface ModeSources {
  global: Mode;
  namespaceLabel?: string | undefined;
  workloadAnnotation?: string | undefined;
}

export interface EffectiveMode {
  mode: ModeOverride;
  /** Where it came from, for logs and the audit annotation. */
  source: 'config' | 'namespace' | 'workload';
  /** A label or annotation with a value we do not know: said in a warning, the next source applies. */
  invalid?: string;
}

function asOverride(v: string | undefined): ModeOverride | undefined {
  return v === 'enforce' || v === 'warn' || v === 'off' ? v : undefined;
}

/** The workload's annotation wins over the namespace label, which wins over the global mode. */
export function effectiveMode(s: ModeSources, label: string): EffectiveMode {
  let invalid: string | undefined;
  const w = asOverride(s.workloadAnnotation?.trim());
  if (w) return { mode: w, source: 'workload' };
  if (s.workloadAnnotation !== undefined) invalid = `annotation ${label}=${JSON.stringify(s.workloadAnnotation)} is not one of enforce, warn, off; ignored`;
  const n = asOverride(s.namespaceLabel?.trim());
  if (n) return { mode: n, source: 'namespace', ...(invalid ? { invalid } : {}) };
  if (s.namespaceLabel !== undefined && !invalid) invalid = `namespace label ${label}=${JSON.stringify(s.namespaceLabel)} is not one of enforce, warn, off; ignored`;
  return { mode: s.global, source: 'config', ...(invalid ? { invalid } : {}) };
}

export interface Decision {
  allowed: boolean;
  /** The denial message (what kubectl prints after "denied the request:"). */
  message?: string;
  warnings: string[];
  auditAnnotations: Record<string, string>;
  denied: Finding[];
  unknown: Finding[];
}

function capMessage(lines: string[]): string {
  let msg = '';
  for (let i = 0; i < lines.length; i++) {
    const next = `${msg}\n- ${lines[i]}`;
    if (next.length > MESSAGE_MAX_CHARS) return `${msg}\n- … and ${lines.length - i} more (see the webhook's log)`;
    msg = next;
  }
  return msg;
}

/** Said in the last warning when not every problem fits: how many more, and where their full text is. */
function overflowLine(groups: Finding[][], problems: Finding[], notes: number, uid: string | undefined): (o: Overflow) => string {
  return (o) => {
    const left = groups.slice(Math.max(0, o.first - notes));
    const firstIndex = Math.min(...left.map((g) => problems.indexOf(g[0] as Finding)));
    const annotated = Math.min(problems.length, AUDIT_PROBLEMS_MAX);
    const keys = firstIndex < annotated ? `the audit annotations image-${firstIndex}${annotated - 1 > firstIndex ? `…image-${annotated - 1}` : ''} and ` : '';
    const log = uid ? `the webhook's log line for uid ${plain(uid, 64)}` : "the webhook's log";
    return `pullguard: ${o.more} more image problem${o.more === 1 ? '' : 's'} not shown; the full text is in ${keys}${log}`;
  };
}

export interface DecideOptions {
  /** The AdmissionReview's uid: the log line with every problem carries it. */
  uid?: string;
}

/**
 * enforce: deny when any image certainly cannot be pulled; warn: admit, and say everything in warnings.
 * `unknown` results never deny. Extra warnings (invalid overrides, skipped checks) are passed in `notes`.
 */
export function decide(findings: Finding[], mode: Mode, notes: string[] = [], opts: DecideOptions = {}): Decision {
  const denied = findings.filter((f) => f.resolution.verdict === 'deny');
  const unknown = findings.filter((f) => f.resolution.verdict === 'unknown');
  // Nothing to say (the most common answer): what the general path below comes to, without its grouping and fitting.
  if (denied.length === 0 && unknown.length === 0 && notes.length === 0) return { allowed: true, warnings: [], auditAnnotations: { mode, result: 'allowed' }, denied, unknown };
  const auditAnnotations: Record<string, string> = {};
  const problems = [...denied, ...unknown];
  problems.slice(0, AUDIT_PROBLEMS_MAX).forEach((f, i) => {
    const text = explain(f);
    auditAnnotations[`image-${i}`] = text.length > AUDIT_VALUE_MAX_CHARS ? `${text.slice(0, AUDIT_VALUE_MAX_CHARS - 1)}…` : text;
  });
  auditAnnotations['mode'] = mode;
  auditAnnotations['result'] = denied.length > 0 ? (mode === 'enforce' ? 'denied' : 'would-deny') : unknown.length > 0 ? 'unknown' : 'allowed';

  const enforced = mode === 'enforce' && denied.length > 0;
  // Enforce mode says its denials in the message; what it admits anyway (unknown) gets the same warnings as warn mode.
  const groups = groupProblems(enforced ? unknown : problems);
  const lines = [...notes.map((n) => plain(n, WARNING_MAX_CHARS)), ...groups.map(problemWarning)];
  const warnings = fitWarnings(lines, overflowLine(groups, problems, notes.length, opts.uid));
  if (enforced) {
    const header = `pullguard: ${denied.length} image${denied.length === 1 ? '' : 's'} cannot be pulled:`;
    return { allowed: false, message: header + capMessage(denied.map((f) => explain(f))), warnings, auditAnnotations, denied, unknown };
  }
  return { allowed: true, warnings, auditAnnotations, denied, unknown };
}
