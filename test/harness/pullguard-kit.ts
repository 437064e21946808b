// The one kit for building a whole pullguard in tests, in two layers a test can use apart or together:
// - startWorld: real registries (test/harness/registry.ts) with images pushed, a fault proxy in front of one of
//   them, the fake API server seeded as a cluster, a temp dir and a registry config file trusting every host;
// - startPullguard: pullguard as `serve` builds it (buildRuntime from a Config, the webhook through
//   fastify.inject) over an API server and a registry config, several of them over the same world if need be.
// startKit is both. test/admission/env.ts, test/verdict/check-env.ts and test/cli/env.ts are thin layers over it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { DEFAULT_CONFIG, type Config } from '../../src/config.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { buildRuntime, checkerFor, type Runtime } from '../../src/cli/runtime.ts';
import { buildWebhookApp } from '../../src/admission/server.ts';
import { podSpecOf } from '../../src/workloads/podspec.ts';
import type { CheckResult } from '../../src/verdict/check.ts';
import { startRegistry, type StartRegistryOptions, type TestRegistry } from './registry.ts';
import { pushImage, type PushOptions, type PushedImage } from './push.ts';
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';
import { startFakeApiServer, type FakeApiServer } from './fake-apiserver.ts';
import { makeTempDir, removeTempDir } from './lifecycle.ts';

// ---------------------------------------------------------------------------------------------------------------
// Files: temp dirs, registry configs, pull secret documents.

/** A temp dir with a `file` writer; `remove` deletes it (and the process's exit does, if nothing else did). */
export function makeDir(prefix = 'pullguard-kit-'): { dir: string; file(name: string, content: string): string; remove(): void } {
  const dir = makeTempDir(prefix.replace(/^pullguard-/, '').replace(/-$/, ''));
  return {
    dir,
    file(name, content) {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
    remove: () => removeTempDir(dir),
  };
}

/**
 * A registry config file in `dir` trusting each host's CA, with a 3 s request timeout (the tests' registries are
 * local: a slower answer is a fault under test). Named `name`, or uniquely when several are written to one dir.
 */
export function writeRegistryConfig(dir: string, hosts: { host: string; caFile: string }[], name?: string): string {
  const file = join(dir, name ?? `registries-${hosts.length}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, JSON.stringify({
    registries: Object.fromEntries(hosts.map((h) => [h.host, { ca: h.caFile }])),
    defaults: { requestTimeoutMs: 3000 },
  }));
  return file;
}

type Users = Record<string, { username: string; password: string }>;

/** A `.dockerconfigjson` document: `{"auths": {KEY: {auth}}}` (or username/password when `form` says so), plus `extra` keys. */
export function dockerConfigJson(auths: Users, form: 'auth' | 'fields' = 'auth', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ auths: authEntries(auths, form), ...extra });
}

/** A legacy `.dockercfg` document: the registry map at the top level. */
export function dockerCfg(auths: Users, form: 'auth' | 'fields' = 'auth'): string {
  return JSON.stringify(authEntries(auths, form));
}

function authEntries(auths: Users, form: 'auth' | 'fields'): Record<string, Record<string, string>> {
  return Object.fromEntries(Object.entries(auths).map(([key, u]): [string, Record<string, string>] => [
    key,
    form === 'auth' ? { auth: Buffer.from(`${u.username}:${u.password}`).toString('base64') } : { username: u.username, password: u.password },
  ]));
}

// ---------------------------------------------------------------------------------------------------------------
// The world: registries, images, a fault proxy, a cluster.

export const AMD64 = { os: 'linux', architecture: 'amd64' } as const;
export const ARM64 = { os: 'linux', architecture: 'arm64' } as const;

export interface WorldImage extends PushOptions {
  /** The name of the registry (a key of WorldOptions.registries) to push to. */
  registry: string;
}

export interface WorldOptions {
  /** Registries by name, each started with these options (auth none, basic or token, ...). */
  registries: Record<string, StartRegistryOptions>;
  /** Pushed in parallel once the registries are up. */
  images?: WorldImage[];
  /** A fault proxy in front of this registry, trusted in the registry config as a registry of its own. */
  proxyFor?: string;
  /** Start the fake API server, and seed it with this function (namespaces, service accounts, nodes, secrets). */
  cluster?: (api: FakeApiServer, registries: Record<string, TestRegistry>) => void;
  /** The temp dir's name prefix. */
  dirPrefix?: string;
}

export interface World {
  registries: Record<string, TestRegistry>;
  /** Present when `proxyFor` was given. */
  proxy: FaultProxy | undefined;
  /** Present when `cluster` was given. */
  api: FakeApiServer | undefined;
  /** By `registry/repository:tag` (registry by its name in WorldOptions). */
  pushed: Record<string, PushedImage>;
  dir: string;
  /** `registries.yaml` in `dir`, trusting every registry and the proxy (writeRegistryConfig). */
  registryConfig: string;
  /** Writes a file in `dir` and returns its path. */
  file(name: string, content: string): string;
  /** Stops the API server, the proxy and the registries, and removes `dir`. */
  close(): Promise<void>;
}

export async function startWorld(opts: WorldOptions): Promise<World> {
  const names = Object.keys(opts.registries);
  const started = await Promise.all(names.map((name) => startRegistry(opts.registries[name])));
  const registries = Object.fromEntries(names.map((name, i) => [name, started[i]!]));
  const registryNamed = (name: string): TestRegistry => {
    const r = registries[name];
    if (!r) throw new Error(`no registry named ${name} in this world`);
    return r;
  };
  const proxy = opts.proxyFor === undefined ? undefined : await startFaultProxy(registryNamed(opts.proxyFor));
  const pushed: Record<string, PushedImage> = {};
  await Promise.all((opts.images ?? []).map(async ({ registry, ...push }) => {
    pushed[`${registry}/${push.repository}:${push.tag}`] = await pushImage(registryNamed(registry), push);
  }));
  let api: FakeApiServer | undefined;
  if (opts.cluster) {
    api = await startFakeApiServer();
    opts.cluster(api, registries);
  }
  const dir = makeDir(opts.dirPrefix);
  const trusted = [...started, ...(proxy ? [{ host: proxy.host, caFile: registryNamed(opts.proxyFor!).caFile }] : [])];
  return {
    registries,
    proxy,
    api,
    pushed,
    dir: dir.dir,
    registryConfig: writeRegistryConfig(dir.dir, trusted, 'registries.yaml'),
    file: dir.file,
    async close() {
      await Promise.allSettled([api?.stop(), proxy?.stop()]);
      await Promise.allSettled(started.map((r) => r.stop()));
      dir.remove();
    },
  };
}

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
