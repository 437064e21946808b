// From findings and the effective mode to an admission decision: allowed or not, the denial message,
// warnings and audit annotations, all kept within the API server's limits.
import type { Mode, ModeOverride } from '../config.ts';
import type { Finding } from './finding.ts';
import { explain, shortWarning } from './explain.ts';

/** The API server drops all warnings past 4 KiB in total; keep a margin for its own. */
export const WARNINGS_MAX_BYTES = 3584;
/** Keep denial messages readable in a terminal and far below any size limit. */
export const MESSAGE_MAX_CHARS = 6000;
const AUDIT_VALUE_MAX_CHARS = 1000;

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

/** Warnings that fit: each ≤ 120 chars, all together ≤ WARNINGS_MAX_BYTES, with a last one saying how many were cut. */
export function fitWarnings(lines: string[]): string[] {
  const out: string[] = [];
  let bytes = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const size = Buffer.byteLength(line);
    const left = lines.length - i - 1;
    const reserve = left > 0 ? 64 : 0;
    if (bytes + size + reserve > WARNINGS_MAX_BYTES) {
      out.push(`pullguard: ${lines.length - i} more image problem(s); see the audit annotations or the webhook's log`);
      return out;
    }
    out.push(line);
    bytes += size;
  }
  return out;
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

/**
 * enforce: deny when any image certainly cannot be pulled; warn: admit, and say everything in warnings.
 * `unknown` results never deny. Extra warnings (invalid overrides, skipped checks) are passed in `notes`.
 */
export function decide(findings: Finding[], mode: Mode, notes: string[] = []): Decision {
  const denied = findings.filter((f) => f.resolution.verdict === 'deny');
  const unknown = findings.filter((f) => f.resolution.verdict === 'unknown');
  const auditAnnotations: Record<string, string> = {};
  const problems = [...denied, ...unknown];
  problems.slice(0, 20).forEach((f, i) => {
    const text = explain(f);
    auditAnnotations[`image-${i}`] = text.length > AUDIT_VALUE_MAX_CHARS ? `${text.slice(0, AUDIT_VALUE_MAX_CHARS - 1)}…` : text;
  });
  auditAnnotations['mode'] = mode;
  auditAnnotations['result'] = denied.length > 0 ? (mode === 'enforce' ? 'denied' : 'would-deny') : unknown.length > 0 ? 'unknown' : 'allowed';

  if (mode === 'enforce' && denied.length > 0) {
    const header = `pullguard: ${denied.length} image${denied.length === 1 ? '' : 's'} cannot be pulled:`;
    return {
      allowed: false,
      message: header + capMessage(denied.map((f) => explain(f))),
      warnings: fitWarnings([...notes, ...unknown.map(shortWarning)]),
      auditAnnotations,
      denied,
      unknown,
    };
  }
  const warnLines = [...notes, ...denied.map((f) => `would deny: ${shortWarning(f)}`), ...unknown.map(shortWarning)]
    .map((w) => (w.length > 120 ? `${w.slice(0, 119)}…` : w));
  return { allowed: true, warnings: fitWarnings(warnLines), auditAnnotations, denied, unknown };
}
