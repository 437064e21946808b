// A whole pullguard wired as in production (test/harness/pullguard-kit.ts) against a real registry with images
// pushed into it, and a fake API server with nodes, namespaces and pull secrets. Plus fixture helpers that keep
// the real AdmissionReview envelopes from test/fixtures/admission and change only the images.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../../src/config.ts';
import type { Metrics } from '../../src/metrics.ts';
import type { Runtime } from '../../src/cli/runtime.ts';
import type { TestRegistry } from '../harness/registry.ts';
import type { FakeApiServer } from '../harness/fake-apiserver.ts';
import type { FaultProxy } from '../harness/fault-proxy.ts';
import { AMD64, ARM64, startKit, type Pullguard } from '../harness/pullguard-kit.ts';

export const FIXTURES = new URL('../fixtures/admission/', import.meta.url);

export function fixture(version: 'v1.20' | 'v1.26', name: string): Record<string, unknown> & { request: Record<string, unknown> & { object: Record<string, unknown> } } {
  return JSON.parse(readFileSync(new URL(`${version}/${name}.json`, FIXTURES), 'utf8'));
}

export interface Env {
  registry: TestRegistry;
  /** A fault proxy in front of the registry, configured as a second registry host. */
  proxy: FaultProxy;
  api: FakeApiServer;
  /** `127.0.0.1:PORT/team/app:1.0` etc. */
  image(name: string): string;
  proxied(name: string): string;
  config: Config;
  metrics: Metrics;
  runtime: Runtime;
  dir: string;
  app: Pullguard['app'];
  close(): Promise<void>;
}

/**
 * The kit's world for webhook tests: one registry (auth none) with team/app 1.0 and 2.0 (amd64+arm64),
 * team/sidecar 1.0 (amd64), team/arm-only 1.0 (arm/v7), a fault proxy in front of it, and a cluster with namespaces
 * demo, relaxed (warn) and ignored (off), demo's default ServiceAccount and an amd64 and an arm64 node.
 */
export async function startEnv(configOverrides: (c: Config) => void = () => {}, opts: { logger?: Logger } = {}): Promise<Env> {
  const kit = await startKit({
    registries: { registry: { auth: 'none' } },
    proxyFor: 'registry',
    images: [
      { registry: 'registry', repository: 'team/app', tag: '1.0', platforms: [AMD64, ARM64] },
      { registry: 'registry', repository: 'team/app', tag: '2.0', platforms: [AMD64, ARM64] },
      { registry: 'registry', repository: 'team/sidecar', tag: '1.0', platforms: [AMD64] },
      { registry: 'registry', repository: 'team/arm-only', tag: '1.0', platforms: [{ os: 'linux', architecture: 'arm', variant: 'v7' }] },
    ],
    cluster(api) {
      api.setNamespace('demo', {});
      api.setNamespace('relaxed', { 'pullguard.io/mode': 'warn' });
      api.setNamespace('ignored', { 'pullguard.io/mode': 'off' });
      api.setServiceAccount('demo', 'default', []);
      api.setNode({ name: 'node-amd64', arch: 'amd64' });
      api.setNode({ name: 'node-arm64', arch: 'arm64' });
    },
    dirPrefix: 'pullguard-env-',
  }, { configure: configOverrides, ...(opts.logger ? { logger: opts.logger } : {}) });
  const registry = kit.registries['registry']!;
  const proxy = kit.proxy!;
  return {
    registry,
    proxy,
    api: kit.api!,
    image: (name) => `${registry.host}/${name}`,
    proxied: (name) => `${proxy.host}/${name}`,
    config: kit.pullguard.config,
    metrics: kit.pullguard.metrics,
    runtime: kit.pullguard.runtime,
    dir: kit.dir,
    app: kit.pullguard.app,
    close: kit.close,
  };
}

type Json = Record<string, unknown>;

/** The pod template of the deployment fixture, with the containers given. */
export function template(version: 'v1.20' | 'v1.26', spec: Json): Json {
  const deployment = fixture(version, 'deployment');
  const tpl = structuredClone((deployment.request.object['spec'] as Json)['template']) as Json;
  tpl['spec'] = { ...(tpl['spec'] as Json), ...spec };
  return tpl;
}

const KINDS: Record<string, { group: string; resource: string; apiVersion: string; wrap: (tpl: Json) => Json }> = {
  Deployment: { group: 'apps', resource: 'deployments', apiVersion: 'apps/v1', wrap: (template) => ({ spec: { replicas: 1, selector: { matchLabels: { app: 'x' } }, template } }) },
  ReplicaSet: { group: 'apps', resource: 'replicasets', apiVersion: 'apps/v1', wrap: (template) => ({ spec: { replicas: 1, selector: { matchLabels: { app: 'x' } }, template } }) },
  StatefulSet: { group: 'apps', resource: 'statefulsets', apiVersion: 'apps/v1', wrap: (template) => ({ spec: { serviceName: 'x', selector: { matchLabels: { app: 'x' } }, template } }) },
  DaemonSet: { group: 'apps', resource: 'daemonsets', apiVersion: 'apps/v1', wrap: (template) => ({ spec: { selector: { matchLabels: { app: 'x' } }, template } }) },
  Job: { group: 'batch', resource: 'jobs', apiVersion: 'batch/v1', wrap: (template) => ({ spec: { template } }) },
  CronJob: { group: 'batch', resource: 'cronjobs', apiVersion: 'batch/v1', wrap: (template) => ({ spec: { schedule: '* * * * *', jobTemplate: { spec: { template } } } }) },
  ReplicationController: { group: '', resource: 'replicationcontrollers', apiVersion: 'v1', wrap: (template) => ({ spec: { replicas: 1, template } }) },
  PodTemplate: { group: '', resource: 'podtemplates', apiVersion: 'v1', wrap: (template) => ({ template }) },
};
export const TEMPLATE_KINDS = Object.keys(KINDS);

let uidCounter = 0;
/** An AdmissionReview for `kind` built on the real deployment envelope, with the pod spec fields given. */
export function reviewOf(kind: string, spec: Json, opts: { version?: 'v1.20' | 'v1.26'; namespace?: string; annotations?: Record<string, string>; operation?: 'CREATE' | 'UPDATE'; oldSpec?: Json; dryRun?: boolean } = {}): Json {
  const version = opts.version ?? 'v1.26';
  const namespace = opts.namespace ?? 'demo';
  if (kind === 'Pod') {
    const review = fixture(version, 'pod');
    const req = review.request;
    req['uid'] = `test-${++uidCounter}`;
    req['namespace'] = namespace;
    const obj = req.object as Json;
    obj['metadata'] = { ...(obj['metadata'] as Json), namespace, ...(opts.annotations ? { annotations: opts.annotations } : {}) };
    obj['spec'] = { ...(obj['spec'] as Json), ...spec };
    if (opts.operation === 'UPDATE') {
      req['operation'] = 'UPDATE';
      req['oldObject'] = { ...obj, spec: { ...(obj['spec'] as Json), ...(opts.oldSpec ?? {}) } };
    }
    if (opts.dryRun) req['dryRun'] = true;
    return review;
  }
  const k = KINDS[kind];
  if (!k) throw new Error(`no such kind ${kind}`);
  const review = fixture(version, opts.operation === 'UPDATE' ? 'deployment-update' : 'deployment');
  const req = review.request;
  req['uid'] = `test-${++uidCounter}`;
  req['namespace'] = namespace;
  req['kind'] = { group: k.group, version: 'v1', kind };
  req['resource'] = { group: k.group, version: 'v1', resource: k.resource };
  req['requestKind'] = req['kind'];
  req['requestResource'] = req['resource'];
  const base = req.object;
  const meta = { ...(base['metadata'] as Json), namespace, ...(opts.annotations ? { annotations: opts.annotations } : {}) };
  req.object = { apiVersion: k.apiVersion, kind, metadata: meta, ...k.wrap(template(version, spec)) };
  if (opts.operation === 'UPDATE') req['oldObject'] = { apiVersion: k.apiVersion, kind, metadata: meta, ...k.wrap(template(version, { ...spec, ...(opts.oldSpec ?? {}) })) };
  if (opts.dryRun) req['dryRun'] = true;
  return review;
}

export function containers(...images: string[]): Json[] {
  return images.map((image, i) => ({ name: `c${i}`, image, imagePullPolicy: 'IfNotPresent' }));
}
