// A memo in front of the checker for the commonest review of all: the same pod spec again (a ReplicaSet's pods one
// after another, a Deployment applied again, a rollout's 100 replicas). Only a clean result is kept — every image
// resolved and allowed, nothing left unchecked, nothing to note — so reusing one can only admit, never deny (deny
// only what is certain), and for at most `ttlMs`, which adds that little to the staleness the caches below already
// allow (tags 60 s, secrets and ServiceAccounts 5 s). Anything else is checked afresh every time.
import type { Config } from '../config.ts';
import type { CheckResult, Checker, PodPullSpec } from './check.ts';
import type { ImageTarget } from './finding.ts';

export interface CheckMemoOptions {
  /** How long a clean result is reused, in ms; 0 turns the memo off. */
  ttlMs: number;
  /** Most results held (default 1000); past it, expired ones are swept, then the oldest dropped. */
  maxEntries?: number;
  /** A spec whose key is longer is never memoized (default 16 KiB): a hostile spec must not fill memory. */
  maxKeyChars?: number;
  /** Targets per review past which nothing is memoized (default 64). */
  maxTargets?: number;
  clock?: () => number;
  /** A result was reused (a metric). */
  onHit?: () => void;
}

/**
 * Every field of PodPullSpec, by name: the compiler refuses this type once PodPullSpec gains a field the key does
 * not name, so a new input to the check cannot be left out of the key by mistake.
 */
type KeyParts = { [K in keyof PodPullSpec]-?: unknown };

/** What the check reads of one review, as a string; undefined when the review is too big to be worth keeping. */
export function checkKey(spec: PodPullSpec, targets: ImageTarget[], maxTargets = 64, maxKeyChars = 16_384): string | undefined {
  if (targets.length === 0 || targets.length > maxTargets) return undefined;
  const parts: KeyParts = {
    namespace: spec.namespace,
    isTemplate: spec.isTemplate,
    serviceAccountName: spec.serviceAccountName,
    imagePullSecrets: spec.imagePullSecrets,
    runtimeClassName: spec.runtimeClassName,
    standalone: spec.standalone,
    nodeName: spec.nodeName,
    nodeSelector: spec.nodeSelector,
    affinity: spec.affinity,
    toleratesUnschedulable: spec.toleratesUnschedulable,
    tolerations: spec.tolerations,
  };
  // Targets in full (container, field path, policy): findings name them, so a result answers only its own targets.
  const key = JSON.stringify([parts, targets]);
  return key.length <= maxKeyChars ? key : undefined;
}

/** Clean: every image resolved and allowed with every pull secret read, none left unchecked, no review notes. */
export function isClean(result: CheckResult): boolean {
  if (result.findings.length === 0 || (result.notChecked?.length ?? 0) > 0 || (result.notes?.length ?? 0) > 0) return false;
  return result.findings.every((f) => f.resolution.verdict === 'allow' && f.resolution.reason === 'Resolved' && f.secrets.every((s) => s.status === 'ok'));
}

export interface MemoizedChecker extends Checker {
  /** Forgets every result: what the check reads changed (the nodes' files were reloaded). */
  clear(): void;
}

export function memoizeCleanChecks(inner: Checker, opts: CheckMemoOptions): MemoizedChecker {
  if (!(opts.ttlMs > 0)) return { check: (spec, targets, deadline, signal) => inner.check(spec, targets, deadline, signal), clear() {} };
  const clock = opts.clock ?? (() => performance.now());
  const maxEntries = opts.maxEntries ?? 1000;
  const entries = new Map<string, { result: CheckResult; expiresAt: number }>();

  function store(key: string, result: CheckResult): void {
    const now = clock();
    entries.delete(key);
    entries.set(key, { result, expiresAt: now + opts.ttlMs });
    if (entries.size <= maxEntries) return;
    for (const [k, e] of entries) if (e.expiresAt <= now) entries.delete(k);
    for (const k of entries.keys()) {
      if (entries.size <= maxEntries) break;
      entries.delete(k);
    }
  }

  return {
    async check(spec, targets, deadline, signal) {
      const key = checkKey(spec, targets, opts.maxTargets, opts.maxKeyChars);
      if (key !== undefined) {
        const hit = entries.get(key);
        if (hit !== undefined) {
          if (hit.expiresAt > clock()) {
            opts.onHit?.();
            return hit.result;
          }
          entries.delete(key);
        }
      }
      const result = await inner.check(spec, targets, deadline, signal);
      if (key !== undefined && isClean(result)) store(key, result);
      return result;
    },
    clear() {
      entries.clear();
    },
  };
}

/**
 * How long a clean check is reused: cache.cleanCheckTtlMs, but never longer than the shortest cache below it keeps
 * an answer (a tag's resolution; with a cluster, a pull secret or ServiceAccount), so a setup that wants every change
 * seen at once (a TTL of 0) gets no memo either.
 */
export function cleanCheckTtlMs(config: Config, clusterConnected: boolean): number {
  return Math.min(config.cache.cleanCheckTtlMs, config.cache.tagTtlSeconds * 1000, clusterConnected ? config.kubernetes.secretTtlSeconds * 1000 : Infinity);
}
