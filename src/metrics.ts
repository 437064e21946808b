// Prometheus metrics, on a registry of our own (never prom-client's global one, so tests and two servers in
// one process do not collide). Other modules receive small hook objects, not prom-client types.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  admissionDuration: Histogram<'kind' | 'operation' | 'allowed' | 'mode'>;
  verdicts: Counter<'reason' | 'verdict'>;
  registryRequests: Counter<'host' | 'operation' | 'method' | 'status'>;
  registryRequestDuration: Histogram<'host' | 'operation'>;
  rateLimitRemaining: Gauge<'host'>;
  rateLimitLimit: Gauge<'host'>;
  platformChecksSkipped: Counter<'reason'>;
  inflight: Gauge;
  checkMemoHits: Counter;
  cacheEvents: Counter<'cache' | 'event'>;
  tlsReloads: Counter<'result'>;
  credentialProviderExecs: Counter<'provider' | 'result'>;
  nodeFileReloads: Counter<'source' | 'result'>;
  tlsCertificateExpiry: Gauge;
  resolutionQueue: Gauge<'state'>;
  lateAnswers: Counter;
  lagMargin: Gauge;
}

/**
 * Registries whose name may be a `host` label value as is; any other host is `other`. A label per raw host would
 * let anyone who may create a Pod add series without bound (10,000 image hosts → 140k series, +260 MB RSS).
 */
export const WELL_KNOWN_REGISTRIES = [
  'docker.io', 'registry-1.docker.io', 'index.docker.io', 'auth.docker.io', 'registry.k8s.io', 'k8s.gcr.io', 'ghcr.io', 'quay.io',
  'gcr.io', '*.gcr.io', '*.pkg.dev', '*.amazonaws.com', '*.amazonaws.com.cn', 'public.ecr.aws', '*.azurecr.io', '*.azurecr.cn',
  'mcr.microsoft.com', 'nvcr.io', 'registry.gitlab.com', 'docker.elastic.co', 'registry.access.redhat.com', 'registry.redhat.io',
  'cgr.dev', '*.jfrog.io', 'icr.io', '*.icr.io', '*.ocir.io', 'registry.suse.com',
];

/**
 * The `host` label for a registry host: itself when it is configured (the registry config names it) or well known,
 * else `other`. A host under a `*.x` pattern is labelled with the pattern: anyone may write `a1.pkg.dev`.
 */
export function hostLabeller(configured: Iterable<string>): (host: string) => string {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const p of [...WELL_KNOWN_REGISTRIES, ...configured]) {
    const lower = p.toLowerCase();
    if (lower.startsWith('*.')) suffixes.push(lower.slice(1));
    else exact.add(lower);
  }
  return (host) => {
    const lower = host.toLowerCase();
    if (exact.has(lower)) return lower;
    const suffix = suffixes.find((s) => lower.endsWith(s));
    return suffix === undefined ? 'other' : `*${suffix}`;
  };
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'pullguard_' });
  const registers = [registry];
  return {
    registry,
    admissionDuration: new Histogram({
      name: 'pullguard_admission_duration_seconds',
      help: 'Time to answer one AdmissionReview, by object kind, operation, outcome and effective mode.',
      labelNames: ['kind', 'operation', 'allowed', 'mode'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    verdicts: new Counter({
      name: 'pullguard_image_verdicts_total',
      help: 'Image checks by reason code and verdict (allow, deny, unknown). unknown means admitted with a warning.',
      labelNames: ['reason', 'verdict'],
      registers,
    }),
    registryRequests: new Counter({
      name: 'pullguard_registry_requests_total',
      help: 'HTTP requests sent to registries, by registry host, operation, method and status (or error code).',
      labelNames: ['host', 'operation', 'method', 'status'],
      registers,
    }),
    registryRequestDuration: new Histogram({
      name: 'pullguard_registry_request_duration_seconds',
      help: 'Registry request latency by host and operation.',
      labelNames: ['host', 'operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    rateLimitRemaining: new Gauge({
      name: 'pullguard_registry_ratelimit_remaining',
      help: 'Pulls left in the current window, as last reported by the registry (Docker Hub ratelimit-remaining).',
      labelNames: ['host'],
      registers,
    }),
    rateLimitLimit: new Gauge({
      name: 'pullguard_registry_ratelimit_limit',
      help: 'Pull limit of the current window, as last reported by the registry (Docker Hub ratelimit-limit).',
      labelNames: ['host'],
      registers,
    }),
    platformChecksSkipped: new Counter({
      name: 'pullguard_platform_checks_skipped_total',
      help: 'Platform checks not made (the image resolved; its platform is unknown), by reason: pull_budget = the registry\'s pull budget was at the reserve.',
      labelNames: ['reason'],
      registers,
    }),
    inflight: new Gauge({ name: 'pullguard_admission_inflight', help: 'AdmissionReviews being answered now.', registers }),
    checkMemoHits: new Counter({ name: 'pullguard_check_memo_hits_total', help: 'Reviews answered from a clean check of the same pod spec within cache.cleanCheckTtlMs, without checking again.', registers }),
    cacheEvents: new Counter({
      name: 'pullguard_cache_events_total',
      help: 'Resolution cache hits, misses, evictions and coalesced (singleflight) lookups.',
      labelNames: ['cache', 'event'],
      registers,
    }),
    tlsReloads: new Counter({ name: 'pullguard_tls_reloads_total', help: 'Serving certificate reloads by result (error: the new files were refused and the old pair kept).', labelNames: ['result'], registers }),
    tlsCertificateExpiry: new Gauge({ name: 'pullguard_tls_certificate_expiry_timestamp_seconds', help: 'When the serving certificate in use expires, seconds since the epoch.', registers }),
    lateAnswers: new Counter({
      name: 'pullguard_admission_late_total',
      help: 'Answers ready only after their deadline (the API server timeout less server.deadlineMarginMs), counted from the request headers.',
      registers,
    }),
    lagMargin: new Gauge({ name: 'pullguard_admission_lag_margin_seconds', help: 'How much before its deadline a review is answered to allow for event-loop lag (server.lagMarginMs; auto: the longest loop delay of the last seconds).', registers }),
    resolutionQueue: new Gauge({
      name: 'pullguard_resolutions',
      help: 'Image resolutions running now (state="running", at most limits.resolutionsInFlight) and waiting for a slot (state="queued").',
      labelNames: ['state'],
      registers,
    }),
    nodeFileReloads: new Counter({ name: 'pullguard_node_file_reloads_total', help: 'Reloads of the nodes\' files (source: hostsDir, registriesConf, credentialProviders) by result (error: the new files were refused and the old model kept).', labelNames: ['source', 'result'], registers }),
    credentialProviderExecs: new Counter({ name: 'pullguard_credential_provider_executions_total', help: 'Kubelet credential provider plugin executions by provider and result (ok, error).', labelNames: ['provider', 'result'], registers }),
  };
}
