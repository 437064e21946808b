// Wires the continuous audit into `pullguard serve`: the Lease, the event recorder, the checker over the runtime's
// registry (cache and per-registry limits shared with the webhook), and GET /audit on the metrics port.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Config } from '../config.ts';
import { createEventRecorder } from '../cluster/events.ts';
import { loadKubeConfig } from '../cluster/kubeconfig.ts';
import { createLeaseElector } from '../cluster/lease.ts';
import type { RegistryClient } from '../registry/index.ts';
import type { Checker } from '../verdict/check.ts';
import { createContinuousAudit, type ContinuousAudit } from './continuous.ts';

export interface AuditInServe {
  audit: ContinuousAudit;
  /** Adds GET /audit to the metrics port. */
  routes(app: FastifyInstance): void;
}

export type AuditSetup = { ok: true; value: AuditInServe | undefined } | { ok: false; error: string };

export function setupContinuousAudit(config: Config, deps: {
  registry: Pick<RegistryClient, 'resolve'>;
  checkerFor(registry: Pick<RegistryClient, 'resolve' | 'close'>): Checker;
  metricsRegistry: Registry;
  logger: { info(o: object, m: string): void; warn(o: object, m: string): void };
  identity?: string;
}): AuditSetup {
  if (!config.audit.enabled) return { ok: true, value: undefined };
  if (config.kubernetes.enabled === false) return { ok: false, error: 'audit.enabled needs the API server, but kubernetes.enabled is false' };
  const kc = loadKubeConfig(config.kubernetes.kubeconfig ? { kubeconfig: config.kubernetes.kubeconfig } : {});
  if (!kc.ok) return { ok: false, error: `audit.enabled needs the API server: ${kc.reason}` };
  const namespace = config.audit.lease.namespace || kc.kc.getContextObject(kc.kc.currentContext)?.namespace || 'default';
  // The pod name, made unique: two processes on one host (tests, a restart racing its predecessor) stay apart.
  const identity = deps.identity ?? `${process.env['HOSTNAME'] || hostname()}_${randomBytes(4).toString('hex')}`;
  const audit = createContinuousAudit({
    config: config.audit,
    kc: kc.kc,
    lease: createLeaseElector(kc.kc, { namespace, name: config.audit.lease.name, identity, durationSeconds: config.audit.lease.durationSeconds }),
    ...(config.audit.events ? { events: createEventRecorder(kc.kc, { component: 'pullguard-audit', host: identity }) } : {}),
    checkerFor: deps.checkerFor,
    registry: deps.registry,
    metricsRegistry: deps.metricsRegistry,
    logger: deps.logger,
  });
  return {
    ok: true,
    value: {
      audit,
      routes(app) {
        app.get('/audit', async () => audit.status());
      },
    },
  };
}
