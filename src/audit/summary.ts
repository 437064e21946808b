// What an audit run found, counted the ways a platform engineer asks before switching to enforce: how many images
// pull, which reasons stop the others, and which namespaces (teams) they belong to. Also the findings as JSON rows,
// the one shape `pullguard audit --json` and the metrics port's `GET /audit` share.
import type { Verdict } from '../verdict/reasons.ts';
import { explainBody } from '../verdict/explain.ts';
import type { Finding } from '../verdict/finding.ts';
import type { AuditedWorkload } from './walk.ts';

export interface ReasonCount {
  reason: string;
  verdict: Verdict;
  /** Images (container by container) with this reason. */
  images: number;
  workloads: number;
}

export interface NamespaceCount {
  namespace: string;
  workloads: number;
  /** Workloads with at least one image that would not pull or could not be checked. */
  workloadsWithProblems: number;
  deny: number;
  unknown: number;
}

export interface AuditSummary {
  workloads: number;
  namespaces: number;
  /** Image occurrences (one per container, init container, image volume). */
  images: number;
  distinctImages: number;
  allow: number;
  deny: number;
  unknown: number;
  /** Problems only (deny and unknown), most images first. */
  byReason: ReasonCount[];
  /** Namespaces with a problem, most denials first. */
  byNamespace: NamespaceCount[];
}

export type Only = 'deny' | 'unknown';

/** Findings worth showing: everything that would not pull, or only one verdict of it. */
export function shown(f: Finding, only: Only | undefined): boolean {
  return only ? f.resolution.verdict === only : f.resolution.verdict !== 'allow';
}

export function summarize(workloads: AuditedWorkload[]): AuditSummary {
  const s: AuditSummary = { workloads: workloads.length, namespaces: 0, images: 0, distinctImages: 0, allow: 0, deny: 0, unknown: 0, byReason: [], byNamespace: [] };
  const distinct = new Set<string>();
  const reasons = new Map<string, ReasonCount & { seen: Set<AuditedWorkload> }>();
  const namespaces = new Map<string, NamespaceCount>();
  for (const w of workloads) {
    let ns = namespaces.get(w.namespace);
    if (!ns) namespaces.set(w.namespace, (ns = { namespace: w.namespace, workloads: 0, workloadsWithProblems: 0, deny: 0, unknown: 0 }));
    ns.workloads++;
    let problem = false;
    for (const f of w.findings) {
      const r = f.resolution;
      s.images++;
      s[r.verdict]++;
      distinct.add(r.image);
      if (r.verdict === 'allow') continue;
      problem = true;
      ns[r.verdict]++;
      let rc = reasons.get(r.reason);
      if (!rc) reasons.set(r.reason, (rc = { reason: r.reason, verdict: r.verdict, images: 0, workloads: 0, seen: new Set() }));
      rc.images++;
      if (!rc.seen.has(w)) {
        rc.seen.add(w);
        rc.workloads++;
      }
    }
    if (problem) ns.workloadsWithProblems++;
  }
  s.namespaces = namespaces.size;
  s.distinctImages = distinct.size;
  s.byReason = [...reasons.values()]
    .map(({ seen: _seen, ...rc }) => rc)
    .sort((a, b) => (a.verdict === b.verdict ? b.images - a.images || a.reason.localeCompare(b.reason) : a.verdict === 'deny' ? -1 : 1));
  s.byNamespace = [...namespaces.values()]
    .filter((n) => n.workloadsWithProblems > 0)
    .sort((a, b) => b.deny - a.deny || b.unknown - a.unknown || a.namespace.localeCompare(b.namespace));
  return s;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The closing block of `pullguard audit`: totals, then problems by reason and by namespace. */
export function formatSummary(s: AuditSummary): string {
  const lines = [
    `${plural(s.images, 'image')} (${s.distinctImages} distinct) in ${plural(s.workloads, 'workload')} across ${plural(s.namespaces, 'namespace')}: `
      + `${s.allow} pull, ${s.deny} cannot be pulled, ${s.unknown} could not be checked`,
  ];
  if (s.byReason.length > 0) {
    lines.push('By reason:');
    const width = Math.max(...s.byReason.map((r) => r.reason.length));
    for (const r of s.byReason) lines.push(`  ${r.reason.padEnd(width)}  ${r.verdict.padEnd(7)} ${plural(r.images, 'image')} in ${plural(r.workloads, 'workload')}`);
  }
  if (s.byNamespace.length > 0) {
    lines.push('By namespace:');
    const width = Math.max(...s.byNamespace.map((n) => n.namespace.length));
    for (const n of s.byNamespace) {
      lines.push(`  ${n.namespace.padEnd(width)}  ${n.deny} cannot be pulled, ${n.unknown} could not be checked (${n.workloadsWithProblems} of ${plural(n.workloads, 'workload')})`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export interface FindingRow {
  kind: string;
  namespace: string;
  name: string;
  container: string;
  field: string;
  image: string;
  reference: string | null;
  verdict: Verdict;
  reason: string;
  message: string;
  digest: string | null;
}

/** The shown findings as flat rows, workload by workload. */
export function findingRows(workloads: AuditedWorkload[], only?: Only): FindingRow[] {
  return workloads.flatMap((w) => w.findings.filter((f) => shown(f, only)).map((f) => ({
    kind: w.kind,
    namespace: w.namespace,
    name: w.name,
    container: f.target.containerName,
    field: f.target.fieldPath,
    image: f.resolution.image,
    reference: f.resolution.reference ?? null,
    verdict: f.resolution.verdict,
    reason: f.resolution.reason,
    message: explainBody(f),
    digest: f.resolution.digest ?? null,
  })));
}
