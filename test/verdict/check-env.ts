// A whole pullguard (buildRuntime from a Config, the webhook through fastify.inject) against several real
// registries and one fake API server, for the end-to-end tests of "pull as the kubelet pulls". Unlike
// test/admission/env.ts it leaves the registries, nodes and secrets to each test file, and can start several
// pullguards (different configs) over the same cluster.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { DEFAULT_CONFIG, type Config } from '../../src/config.ts';
import { createMetrics } from '../../src/metrics.ts';
import { buildRuntime, type Runtime } from '../../src/cli/runtime.ts';
import { buildWebhookApp } from '../../src/admission/server.ts';
import { podSpecOf } from '../../src/workloads/podspec.ts';
import type { CheckResult } from '../../src/verdict/check.ts';
import type { FakeApiServer } from '../harness/fake-apiserver.ts';

export interface ReviewOut {
  apiVersion: string;
  kind: string;
  response: { uid: string; allowed: boolean; status?: { code: number; reason: string; message: string }; warnings?: string[]; auditAnnotations?: Record<string, string> };
}

export interface Pullguard {
  runtime: Runtime;
  config: Config;
  /** POST /validate through inject; throws unless the answer is 200. */
  post(review: unknown, query?: string): Promise<ReviewOut>;
  /** The checker's findings for the review's object, as the webhook would compute them (credentialsTried and all). */
  check(review: unknown): Promise<CheckResult>;
  close(): Promise<void>;
}

/** Hosts (with a CA each) to trust, written as a registry config file in `dir`. */
export function writeRegistryConfig(dir: string, hosts: { host: string; caFile: string }[]): string {
  const file = join(dir, `registries-${hosts.length}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, JSON.stringify({
    registries: Object.fromEntries(hosts.map((h) => [h.host, { ca: h.caFile }])),
    defaults: { requestTimeoutMs: 3000 },
  }));
  return file;
}

export function makeDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'pullguard-check-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts a pullguard on this API server and registry config; `configure` edits the Config first. */
export function startPullguard(api: FakeApiServer, registryConfigFile: string, configure: (c: Config) => void = () => {}): Pullguard {
  const config: Config = structuredClone(DEFAULT_CONFIG);
  config.registry.configFile = registryConfigFile;
  config.kubernetes = { enabled: true, kubeconfig: api.kubeconfigFile, secretTtlSeconds: 0 };
  configure(config);
  const metrics = createMetrics({ defaultMetrics: false });
  const logger = pino({ level: 'silent' });
  const built = buildRuntime(config, { log: logger, metrics });
  if (!built.ok) throw new Error(built.errors.join('\n'));
  const runtime = built.runtime;
  const app = buildWebhookApp({ config, checker: runtime.checker, cluster: runtime.cluster, metrics, logger });
  return {
    runtime,
    config,
    async post(review, query = '?timeout=10s') {
      const res = await app.inject({ method: 'POST', url: `/validate${query}`, payload: review as object });
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
      await app.close();
      await runtime.close();
    },
  };
}

/** A `.dockerconfigjson` document: `{"auths": {KEY: {auth}}}`, or username/password when `form` says so. */
export function dockerConfigJson(auths: Record<string, { username: string; password: string }>, form: 'auth' | 'fields' = 'auth'): string {
  return JSON.stringify({ auths: entries(auths, form) });
}

/** A legacy `.dockercfg` document: the registry map at the top level. */
export function dockerCfg(auths: Record<string, { username: string; password: string }>, form: 'auth' | 'fields' = 'auth'): string {
  return JSON.stringify(entries(auths, form));
}

function entries(auths: Record<string, { username: string; password: string }>, form: 'auth' | 'fields'): Record<string, Record<string, string>> {
  return Object.fromEntries(Object.entries(auths).map(([key, u]): [string, Record<string, string>] => [
    key,
    form === 'auth' ? { auth: Buffer.from(`${u.username}:${u.password}`).toString('base64') } : { username: u.username, password: u.password },
  ]));
}
