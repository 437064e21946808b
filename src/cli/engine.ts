// Assembles the engine every command shares from a Config: registry client, node credentials, cluster
// reader and checker. The webhook, `check` and `resolve` all resolve images through exactly this.
// Nothing here loads @kubernetes/client-node or prom-client (together ~0.7 s and ~90 MiB of a cold start): the
// cluster and metrics parts come in as `links`, from runtime.ts (serve, audit) or loaded on demand (openRuntime).
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import YAML from 'yaml';
import type { Config } from '../config.ts';
import type { hostLabeller, Metrics } from '../metrics.ts';
import type { ClusterReader } from '../cluster/types.ts';
import type { loadKubeConfig } from '../cluster/kubeconfig.ts';
import type { createClusterReader } from '../cluster/reader.ts';
import { disconnectedClusterReader } from '../cluster/disconnected.ts';
import { parseDockerConfigJson, type CredentialEntry } from '../credentials/dockerconfig.ts';
import { loadCredentialProviderConfig } from '../credentials/provider-config.ts';
import { createCredentialProviders, swappableCredentialProviders, type CredentialProviders } from '../credentials/provider.ts';
import { reloadNodeFiles } from './node-files-reload.ts';
import { createRegistryClient, isLoopbackHost, swappableNodeRegistries, loadHostsDir, loadRegistriesConf, loadRegistryConfig, parsePlatform, type RegistryClient, type RegistryConfig, type RegistryObserver } from '../registry/index.ts';
import type { Platform } from '../registry/index.ts';
import { withResolutionCache } from '../registry/index.ts';
import { withRateLimitBackoff } from '../registry/index.ts';
import { createChecker, type Checker } from '../verdict/check.ts';
import { cleanCheckTtlMs, memoizeCleanChecks, type MemoizedChecker } from '../verdict/check-memo.ts';

export interface RuntimeLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface Runtime {
  registry: Pick<RegistryClient, 'resolve' | 'close'>;
  cluster: ClusterReader;
  checker: Checker;
  nodeCredentials: CredentialEntry[];
  fallbackPlatforms: Platform[];
  /** pullguard runs in a pod (server.inCluster): loopback image hosts are the node's (verdict/check.ts nodeLoopback). */
  inCluster?: { configuredRegistries: string[] };
  /** The kubelet credential provider plugins of credentialProviders.config, when set. */
  credentialProviders?: CredentialProviders;
  close(): Promise<void>;
}

/** errors: the configuration cannot be used; warnings: it can, but something in it will surprise the user. */
export type RuntimeResult = { ok: true; runtime: Runtime; warnings: string[] } | { ok: false; errors: string[] };

/** The hosts a registry config names (registries and their mirrors): these keep their own `host` label. */
export function configuredHosts(config: Pick<RegistryConfig, 'registries'> | undefined): string[] {
  if (!config) return [];
  return Object.entries(config.registries).flatMap(([host, c]) => [host, ...(c.mirrors ?? []).map((m) => m.host)]);
}

/** The heavy parts a runtime may use, passed in so that only the commands that use them load them. */
export interface RuntimeLinks {
  /** The API server client (src/cluster, over @kubernetes/client-node): needed only when a cluster is read. */
  cluster?: { loadKubeConfig: typeof loadKubeConfig; createClusterReader: typeof createClusterReader };
  /** metrics.ts's host labeller: needed only with metrics (serve), which load prom-client anyway. */
  hostLabeller?: typeof hostLabeller;
}

/** Whether a runtime for these options reads a kubeconfig: to use the cluster, or for serve's in-cluster question. */
export function readsKubeConfig(config: Config, opts: { connectCluster?: boolean; detectInCluster?: boolean }): boolean {
  return (opts.connectCluster !== false && config.kubernetes.enabled !== false) || (opts.detectInCluster === true && config.server.inCluster === 'auto');
}

/**
 * Prometheus hooks for the registry client; none when metrics are off (CLI). Hosts that are neither configured nor
 * well known share the label `other`, so image names cannot add series (see hostLabeller).
 */
export function observeRegistry(metrics: Metrics | undefined, hosts: string[], labeller: typeof hostLabeller | undefined): RegistryObserver | undefined {
  if (!metrics) return undefined;
  if (!labeller) throw new Error('registry metrics need the host labeller (RuntimeLinks.hostLabeller)');
  const label = labeller(hosts);
  return {
    request(e) {
      const host = label(e.host);
      // An error code is one of the transport's own few; a status is three digits (anything else: 'other').
      const status = e.status !== undefined ? (e.status >= 100 && e.status <= 599 ? String(e.status) : 'other') : (e.error !== undefined && /^[A-Za-z_]{1,32}$/.test(e.error) ? e.error : 'error');
      metrics.registryRequests.inc({ host, operation: e.operation, method: e.method, status });
      metrics.registryRequestDuration.observe({ host, operation: e.operation }, e.durationMs / 1000);
    },
    rateLimit(e) {
      const host = label(e.host);
      if (e.remaining !== undefined) metrics.rateLimitRemaining.set({ host }, e.remaining);
      if (e.limit !== undefined) metrics.rateLimitLimit.set({ host }, e.limit);
    },
    pullBudgetLow() {
      metrics.platformChecksSkipped.inc({ reason: 'pull_budget' });
    },
  };
}

/**
 * Node-level credentials from docker config files. A file that cannot be read, or that the kubelet's own parser
 * would reject, is an error; everything else the parser notices (credential helpers, entries without
 * credentials: a developer's ~/.docker/config.json has both) is a warning, and the usable entries still count.
 */
export function readNodeCredentials(files: string[]): { entries: CredentialEntry[]; errors: string[]; warnings: string[] } {
  const entries: CredentialEntry[] = [];
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      errors.push(`docker config ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      continue;
    }
    // The source labels credentials in output (`credentialsTried`) and starts each problem sentence.
    const parsed = parseDockerConfigJson(text, `docker-config ${file}`);
    entries.push(...parsed.entries);
    (parsed.kubeletRejects ? errors : warnings).push(...parsed.problems);
  }
  return { entries, errors, warnings };
}

/** The registry config file, with the main config's registry.requestTimeoutMs unless the file sets its own. */
function readRegistryConfig(config: Config, errors: string[]): RegistryConfig | undefined {
  let text = '{}';
  const file = config.registry.configFile;
  if (file) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      errors.push(`registry config ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      return undefined;
    }
  }
  const loaded = loadRegistryConfig(text, file ? `registry config ${file}` : 'defaults');
  if (!loaded.ok) {
    errors.push(...loaded.errors);
    return undefined;
  }
  // Valid YAML by now; only asking whether the key is written (the loaded config has the default filled in).
  const raw = YAML.parse(text) as { defaults?: { requestTimeoutMs?: unknown } } | null;
  if (raw?.defaults?.requestTimeoutMs === undefined) loaded.config.defaults.requestTimeoutMs = config.registry.requestTimeoutMs;
  // A relative `ca:` is relative to the file that names it, not to wherever pullguard was started.
  if (file) {
    const base = dirname(resolvePath(file));
    const abs = (p: string | undefined) => (p && !isAbsolute(p) ? resolvePath(base, p) : p);
    for (const host of Object.values(loaded.config.registries)) {
      if (host.ca) host.ca = abs(host.ca) as string;
      for (const m of host.mirrors ?? []) if (m.ca) m.ca = abs(m.ca) as string;
    }
  }
  return loaded.config;
}

/** The nodes' own registry configuration (hosts.toml tree or registries.conf), into registryConfig.node. */
function readNodeRegistries(config: Config, registryConfig: RegistryConfig, errors: string[], warnings: string[]): void {
  const { hostsDir, registriesConf } = config.registry;
  if (hostsDir && registriesConf) {
    errors.push('registry.hostsDir and registry.registriesConf: give one (the nodes run containerd or CRI-O)');
    return;
  }
  if (hostsDir) {
    const loaded = loadHostsDir(hostsDir);
    if (!loaded.ok) errors.push(...loaded.errors);
    else {
      registryConfig.node = loaded.value.registries;
      warnings.push(...loaded.value.warnings);
    }
  }
  if (registriesConf) {
    const loaded = loadRegistriesConf(registriesConf, { certsDir: config.registry.certsDir });
    if (!loaded.ok) errors.push(...loaded.errors);
    else {
      registryConfig.node = loaded.value.registries;
      warnings.push(...loaded.value.warnings);
    }
  } else if (config.registry.certsDir) {
    warnings.push('registry.certsDir is read only with registry.registriesConf (CRI-O); containerd reads certificates from the hosts.toml directories');
  }
}

/** The checker for a config, over an existing registry client and cluster reader. */
export function checkerFor(config: Config, parts: Pick<Runtime, 'registry' | 'cluster' | 'nodeCredentials' | 'fallbackPlatforms' | 'credentialProviders' | 'inCluster'>, metrics?: Metrics): MemoizedChecker {
  const checker = createChecker({
    ...(parts.inCluster ? { inCluster: parts.inCluster } : {}),
    ...(parts.credentialProviders ? { credentialProviders: parts.credentialProviders } : {}),
    imagesPerReview: config.limits.imagesPerReview,
    pullSecretsPerReview: config.limits.pullSecretsPerReview,
    resolutionsInFlight: config.limits.resolutionsInFlight,
    ...(metrics ? {
      onQueueChange: (s: { running: number; queued: number }) => {
        metrics.resolutionQueue.set({ state: 'running' }, s.running);
        metrics.resolutionQueue.set({ state: 'queued' }, s.queued);
      },
    } : {}),
    registry: parts.registry,
    cluster: parts.cluster,
    nodeCredentials: parts.nodeCredentials,
    nodeCredentialRegistries: config.credentials.nodeCredentialRegistries,
    serviceAccountSecrets: config.credentials.serviceAccountSecrets,
    fallbackPlatforms: parts.fallbackPlatforms,
    platformsFromNodes: config.platforms.fromNodes,
    execFormatError: config.platforms.execFormatError,
    excludeImages: config.exclude.images,
    excludeRegistries: config.exclude.registries,
    ...(config.registry.registriesConf ? { shortNamesResolveOnNodes: true } : {}),
  });
  const hits = metrics?.checkMemoHits;
  return memoizeCleanChecks(checker, { ttlMs: cleanCheckTtlMs(config, parts.cluster.connected), ...(hits ? { onHit: () => hits.inc() } : {}) });
}

/**
 * Whether pullguard runs in a pod, off the nodes' network (server.inCluster). auto: only `serve` (`detect`) with
 * KUBERNETES_SERVICE_HOST set and the in-cluster service account as its kubeconfig; the CLI is on a machine of its own.
 * A hostNetwork pod shares the node's loopback: set server.inCluster: false there.
 */
export function runsInCluster(setting: Config['server']['inCluster'], detect: boolean, env: Record<string, string | undefined>, kubeconfigSource: string | undefined): boolean {
  if (setting !== 'auto') return setting;
  return detect && Boolean(env['KUBERNETES_SERVICE_HOST']) && kubeconfigSource === 'in-cluster';
}

/** Both observers, each told of every event (either may be absent). */
function bothObservers(a: RegistryObserver | undefined, b: RegistryObserver | undefined): RegistryObserver | undefined {
  if (!a || !b) return a ?? b;
  return {
    request: (e) => {
      a.request?.(e);
      b.request?.(e);
    },
    rateLimit: (e) => {
      a.rateLimit?.(e);
      b.rateLimit?.(e);
    },
  };
}

export interface RuntimeOptions {
  log: RuntimeLog;
  metrics?: Metrics;
  connectCluster?: boolean;
  observer?: RegistryObserver;
  detectInCluster?: boolean;
  reloadNodeFiles?: boolean;
  nodeFilesPollMs?: number;
}

export function assembleRuntime(config: Config, opts: RuntimeOptions, links: RuntimeLinks): RuntimeResult {
  const errors: string[] = [];
  const registryConfig = readRegistryConfig(config, errors);
  const creds = readNodeCredentials(config.credentials.dockerConfigFiles);
  errors.push(...creds.errors);
  const providerConfig = config.credentialProviders.config ? loadCredentialProviderConfig(config.credentialProviders.config, config.credentialProviders.binDir) : undefined;
  if (providerConfig && !providerConfig.ok) errors.push(...providerConfig.errors);
  if (registryConfig) readNodeRegistries(config, registryConfig, errors, creds.warnings);
  const fallbackPlatforms: Platform[] = [];
  for (const p of config.platforms.fallback) {
    const parsed = parsePlatform(p);
    if (parsed) fallbackPlatforms.push(parsed);
    else errors.push(`platform "${p}" is not os/arch[/variant]`);
  }
  if (errors.length > 0 || !registryConfig) return { ok: false, errors };
  const nodeSwap = opts.reloadNodeFiles && registryConfig.node ? swappableNodeRegistries(registryConfig.node) : undefined;
  if (nodeSwap) registryConfig.node = nodeSwap.registries;

  let cluster: ClusterReader = disconnectedClusterReader();
  const wantCluster = opts.connectCluster !== false && config.kubernetes.enabled !== false;
  // Loaded for `serve`'s in-cluster question too, even when the API server is not to be read.
  if (readsKubeConfig(config, opts) && !links.cluster) throw new Error('this runtime reads a kubeconfig but was given no cluster client (RuntimeLinks.cluster)');
  const kc = links.cluster && readsKubeConfig(config, opts) ? links.cluster.loadKubeConfig({ ...(config.kubernetes.kubeconfig ? { kubeconfig: config.kubernetes.kubeconfig } : {}) }) : undefined;
  if (wantCluster && kc && links.cluster) {
    if (kc.ok) {
      cluster = links.cluster.createClusterReader(kc.kc, { secretTtlMs: config.kubernetes.secretTtlSeconds * 1000, logger: opts.log });
      opts.log.info({ source: kc.source }, 'reading pull secrets, service accounts and nodes from the API server');
    } else if (config.kubernetes.enabled === true) {
      return { ok: false, errors: [`kubernetes: ${kc.reason}`] };
    } else {
      opts.log.warn({ reason: kc.reason }, 'no cluster access: using only the configured credentials and platforms');
    }
  }
  const inClusterNow = runsInCluster(config.server.inCluster, opts.detectInCluster === true, process.env, kc?.ok ? kc.source : undefined);
  // In a pod the nodes' loopback is not ours: the registry layer never asks it in their place (endpoints.ts).
  if (inClusterNow) registryConfig.loopbackIsNodes = true;
  // `observer`: a command's own count of registry requests (the audit's progress line), beside the metrics.
  const observer = bothObservers(observeRegistry(opts.metrics, configuredHosts(registryConfig), links.hostLabeller), opts.observer);
  const client = createRegistryClient(registryConfig, {
    ...(observer ? { observer } : {}),
    // Registry requests at debug, through the caller's (redacting) logger; URLs are redacted by the transport.
    logger: opts.log,
  });
  const metrics = opts.metrics;
  // cache → 429 back-off → client: cached answers are still served while a registry is backed off.
  const backoff = withRateLimitBackoff(client, { defaultMs: 60_000, maxMs: 10 * 60_000 });
  const registry = withResolutionCache(backoff, {
    digestTtlMs: config.cache.digestTtlSeconds * 1000,
    tagTtlMs: config.cache.tagTtlSeconds * 1000,
    negativeTtlMs: config.cache.negativeTtlSeconds * 1000,
    maxEntries: config.cache.maxEntries,
    maxBytes: config.cache.maxBytes,
    ...(metrics ? { onEvent: (event: string) => metrics.cacheEvents.inc({ cache: 'resolution', event }) } : {}),
  });
  const execMetric = opts.metrics?.credentialProviderExecs;
  const providerOptions = { log: opts.log, ...(execMetric ? { onExec: (provider: string, result: string) => execMetric.inc({ provider, result }) } : {}) };
  const loadedProviders = providerConfig?.ok ? createCredentialProviders(providerConfig.providers, providerOptions) : undefined;
  const providerSwap = opts.reloadNodeFiles && loadedProviders ? swappableCredentialProviders(loadedProviders) : undefined;
  const credentialProviders: CredentialProviders | undefined = providerSwap ?? loadedProviders;
  // serve: the mounted node files are followed; a change that does not load keeps what is in use.
  const watches = opts.reloadNodeFiles ? reloadNodeFiles(config, { ...(nodeSwap ? { node: nodeSwap } : {}), ...(providerSwap ? { providers: providerSwap } : {}), providerOptions, reloaded: () => (client.renewTransports(), registry.clear(), checker.clear()) }, opts.log, metrics, opts.nodeFilesPollMs) : [];
  if (credentialProviders) opts.log.info({ providers: credentialProviders.providers.map((p) => p.name) }, 'running the kubelet credential provider plugins for the images they match');
  const inCluster = inClusterNow
    ? { configuredRegistries: Object.keys(registryConfig.registries) }
    : undefined;
  if (inCluster) opts.log.info({ configuredRegistries: inCluster.configuredRegistries.filter(isLoopbackHost) }, 'running in a pod: loopback image hosts are the nodes\' own, checked only when the registry config names them');
  const checker = checkerFor(config, { registry, cluster, nodeCredentials: creds.entries, fallbackPlatforms, credentialProviders, inCluster }, metrics);
  return {
    ok: true,
    warnings: creds.warnings,
    runtime: {
      registry,
      cluster,
      checker,
      nodeCredentials: creds.entries,
      fallbackPlatforms,
      ...(inCluster ? { inCluster } : {}),
      ...(credentialProviders ? { credentialProviders } : {}),
      async close() {
        for (const w of watches) w.stop();
        await Promise.allSettled([registry.close(), cluster.close(), credentialProviders?.close()]);
      },
    },
  };
}

/**
 * The runtime for a CLI command, loading the cluster client only when this command reads a kubeconfig: `resolve` and
 * `check` without --kubeconfig never import @kubernetes/client-node (test/cli/lazy-load.test.ts).
 */
export async function openRuntime(config: Config, opts: Omit<RuntimeOptions, 'metrics'>): Promise<RuntimeResult> {
  if (!readsKubeConfig(config, opts)) return assembleRuntime(config, opts, {});
  const [{ loadKubeConfig }, { createClusterReader }] = await Promise.all([import('../cluster/kubeconfig.ts'), import('../cluster/reader.ts')]);
  return assembleRuntime(config, opts, { cluster: { loadKubeConfig, createClusterReader } });
}
