// The one kit for building a whole pullguard in tests, in two layers a test can use apart or together:
// - startWorld: real registries (test/harness/registry.ts) with images pushed, a fault proxy in front of one of
//   them, the fake API server seeded as a cluster, a temp dir and a registry config file trusting every host;
// - startPullguard: pullguard as `serve` builds it (buildRuntime from a Config, the webhook through
//   fastify.inject) over an API server and a registry config, several of them over the same world if need be.
// startKit is both. test/admission/env.ts, test/verdict/check-env.ts and test/cli/env.ts are thin layers over it.
// The world half lives in kit-world.ts, so it can be loaded without pullguard's runtime.
import { pino, type Logger } from 'pino';
import { DEFAULT_CONFIG, type Config } from '../../src/config.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { buildRuntime, checkerFor, type Runtime } from '../../src/cli/runtime.ts';
import { buildWebhookApp } from '../../src/admission/server.ts';
import { podSpecOf } from '../../src/workloads/podspec.ts';
import type { CheckResult } from '../../src/verdict/check.ts';
import type { FakeApiServer } from './fake-apiserver.ts';
import { startWorld, type World, type WorldOptions } from './kit-world.ts';

export * from './kit-world.ts';

// ---------------------------------------------------------------------------------------------------------------
// pullguard itself.

/** The AdmissionReview answer, as the webhook sends it. */
export interface ReviewOut {
  apiVersion: string;
  kind: string;
  response: { uid: string; allowed: boolean; status?: { code: number; reason: string; message: string }; warnings?: string[]; auditAnnotations?: Record<string, string> };
}

export interface PullguardOptions {
  /** The cluster pullguard reads (secret cache TTL 0, so a test sees its own changes); absent: no cluster. */
  api?: FakeApiServer;
  /** The registry config file (config.registry.configFile). */
  registryConfig: string;
  /** Edits the Config (DEFAULT_CONFIG with the above) before the runtime is built. */
  configure?: (c: Config) => void;
  /** Default: silent. */
  logger?: Logger;
}

export interface Pullguard {
  config: Config;
  metrics: Metrics;
  logger: Logger;
  runtime: Runtime;
  /** A new webhook app on this runtime; with `overrides`, for that config (its own checker from checkerFor). */
  app(overrides?: Partial<Config>): ReturnType<typeof buildWebhookApp>;
  /** POST /validate (through inject, on one app kept for it); throws unless the answer is 200. */
  post(review: unknown, query?: string): Promise<ReviewOut>;
  /** The checker's findings for the review's object, as the webhook would compute them (credentialsTried and all). */
  check(review: unknown): Promise<CheckResult>;
  /** Closes the app `post` used and the runtime. */
  close(): Promise<void>;
}

export function startPullguard(opts: PullguardOptions): Pullguard {
  const config: Config = structuredClone(DEFAULT_CONFIG);
  config.registry.configFile = opts.registryConfig;
  config.kubernetes = opts.api
    ? { enabled: true, kubeconfig: opts.api.kubeconfigFile, secretTtlSeconds: 0 }
    : { ...config.kubernetes, enabled: false };
  opts.configure?.(config);
  const metrics = createMetrics({ defaultMetrics: false });
  const logger = opts.logger ?? pino({ level: 'silent' });
  const built = buildRuntime(config, { log: logger, metrics });
  if (!built.ok) throw new Error(built.errors.join('\n'));
  const runtime = built.runtime;
  const app = (overrides: Partial<Config> = {}) => {
    const merged = { ...config, ...overrides };
    const checker = Object.keys(overrides).length > 0 ? checkerFor(merged, runtime) : runtime.checker;
    return buildWebhookApp({ config: merged, checker, cluster: runtime.cluster, metrics, logger });
  };
  let poster: ReturnType<typeof app> | undefined;
  return {
    config,
    metrics,
    logger,
    runtime,
    app,
    async post(review, query = '?timeout=10s') {
      poster ??= app();
      const res = await poster.inject({ method: 'POST', url: `/validate${query}`, payload: review as object });
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}: ${res.body}`);
      return res.json() as ReviewOut;
    },
    check(review) {
      const req = (review as { request: { kind: { kind: string }; namespace: string; object: unknown } }).request;
      const spec = podSpecOf(req.kind.kind, req.object);
      if (!spec.ok) throw new Error(spec.reason);
      return runtime.checker.check({ ...spec.view, namespace: req.namespace }, spec.view.images, Date.now() + 8000);
    },
    async close() {
      await poster?.close();
      await runtime.close();
    },
  };
}

/** A world and a pullguard over it (its cluster, its registry config). */
export interface Kit extends World {
  pullguard: Pullguard;
}

export async function startKit(world: WorldOptions, pullguard: Omit<PullguardOptions, 'api' | 'registryConfig'> = {}): Promise<Kit> {
  const w = await startWorld(world);
  let pg: Pullguard;
  try {
    pg = startPullguard({ ...pullguard, ...(w.api ? { api: w.api } : {}), registryConfig: w.registryConfig });
  } catch (err) {
    await w.close();
    throw err;
  }
  return {
    ...w,
    pullguard: pg,
    async close() {
      await pg.close();
      await w.close();
    },
  };
}
