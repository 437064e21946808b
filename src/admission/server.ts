// The Fastify servers: the webhook (HTTPS, POST /validate) and the operations port (plain HTTP: /healthz,
// /readyz, /metrics). Built as plain Fastify instances so tests can `inject` without sockets.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Server } from 'node:https';
import { admissionReviewOutSchema, admissionReviewSchema, parseTimeout, validateQuerySchema, type AdmissionReviewIn, type AdmissionReviewOut } from './schema.ts';
import { review, type ReviewDeps } from './review.ts';
import { certificateProblem, loadTls, watchTls, type TlsMaterial, type TlsWatcher } from './tls.ts';
import { jsonDepthExceeds } from './json-depth.ts';
import { beforeDeadline } from '../verdict/deadline.ts';
import { lagMargin, watchLoopLag } from './loop-lag.ts';

export interface WebhookDeps extends ReviewDeps {
  logger: Logger;
  /**
   * What answers one review; `review` unless given. The bench gives a canned answer here to measure the webhook's
   * own cost (Fastify, the handler, metrics, the deadline) apart from the review's.
   */
  review?: typeof review;
}

/** Never let the deadline margin eat more than half of the API server's timeout. */
export function reviewDeadline(receivedAt: number, timeoutMs: number, marginMs: number): number {
  return receivedAt + timeoutMs - Math.min(marginMs, Math.floor(timeoutMs / 2));
}

/**
 * Time kept back from the answer deadline to build and send the answer, and to absorb event-loop lag under load:
 * waiting on registries and the API server stops this much earlier (a tenth of the budget, at most 250 ms).
 */
export function answerReserve(budgetMs: number): number {
  return Math.min(250, Math.floor(Math.max(0, budgetMs) / 10));
}

const RECEIVED_AT = Symbol('pullguard.receivedAt');

function badRequest(message: string, code: string) {
  return { statusCode: 400, error: 'Bad Request', code, message };
}

/**
 * Node's own slow-client limits: a connection that has not sent its whole header block within headersTimeout of
 * connecting (or of its previous request), or its whole request within requestTimeout, is closed (slowloris). Node
 * checks them every connectionsCheckingInterval (30 s by default, which let such connections live 75–90 s).
 */
export function slowClientLimits(server: { headersTimeoutMs: number; requestTimeoutMs: number }) {
  const requestTimeout = server.requestTimeoutMs;
  // Node refuses a headersTimeout above requestTimeout.
  const headersTimeout = Math.min(server.headersTimeoutMs, requestTimeout);
  return { requestTimeout, headersTimeout, connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 2))) };
}

/** The lines one review writes, each with its uid; one object per review, and nothing built for a level that is off. */
class ReviewLogger {
  private readonly logger: FastifyBaseLogger;
  private readonly uid: string;
  constructor(logger: FastifyBaseLogger, uid: string) {
    this.logger = logger;
    this.uid = uid;
  }
  info(o: object, msg: string): void {
    this.logger.info({ uid: this.uid, ...o }, msg);
  }
  debug(o: object, msg: string): void {
    if ((this.logger as FastifyBaseLogger & Pick<Logger, 'isLevelEnabled'>).isLevelEnabled?.('debug') !== false) this.logger.debug({ uid: this.uid, ...o }, msg);
  }
  error(o: object, msg: string): void {
    this.logger.error({ uid: this.uid, ...o }, msg);
  }
}

/** Why a review's leftover work is cancelled: one shared reason, not a DOMException (and its stack) per review. */
const REVIEW_ANSWERED = new DOMException('the review was answered', 'AbortError');

export function buildWebhookApp(deps: WebhookDeps, https?: Pick<TlsMaterial, 'cert' | 'key'>): FastifyInstance {
  const { config, metrics } = deps;
  const clock = deps.clock ?? Date.now;
  const answer = deps.review ?? review;
  const limits = slowClientLimits(config.server);
  const nodeServer = { headersTimeout: limits.headersTimeout, connectionsCheckingInterval: limits.connectionsCheckingInterval };
  const app = Fastify({
    loggerInstance: deps.logger,
    logController: new LogController({ disableRequestLogging: true }),
    // req.log is the server's logger, not a pino child per request (measurable on the warm path): the few lines
    // a review writes carry its uid instead of Fastify's request id.
    childLoggerFactory: (logger) => logger,
    bodyLimit: config.server.bodyLimitBytes,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestTimeout: limits.requestTimeout,
    // Validate, never coerce: a uid of 7 is not the string "7".
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    // handshakeTimeout: a TCP connection that never finishes its TLS handshake (Node's default is 120 s).
    ...(https ? { https: { cert: https.cert, key: https.key, minVersion: 'TLSv1.2' as const, handshakeTimeout: limits.headersTimeout, ...nodeServer } } : { http: nodeServer }),
  }) as unknown as FastifyInstance;

  // The backstop must fire before the deadline by as much as timers run late now (server.lagMarginMs).
  const lagSetting = config.server.lagMarginMs;
  const loopLag = lagSetting === 'auto' ? watchLoopLag({ onWindow: (ms) => metrics.lagMargin.set(ms / 1000) }) : undefined;
  if (lagSetting !== 'auto') metrics.lagMargin.set(lagSetting / 1000);
  app.addHook('onClose', (_app, done) => {
    loopLag?.stop();
    done();
  });

  // The API server sends JSON only; anything else is a mistake worth naming.
  app.removeContentTypeParser('text/plain');
  // Depth is checked on the raw text before JSON.parse: a 3 MB body of nested arrays otherwise blocks the event
  // loop in the parser and the schema validator for over a second per request.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const maxDepth = config.limits.jsonDepth;
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    if (jsonDepthExceeds(text, maxDepth)) {
      const err = Object.assign(new Error(`request body nests deeper than ${maxDepth} levels (limits.jsonDepth)`), { statusCode: 400, code: 'JsonTooDeep' });
      done(err, undefined);
      return;
    }
    parseJson(req, text, done);
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) {
      return reply.code(400).send(badRequest(`not an admission.k8s.io/v1 AdmissionReview: ${err.message}`, 'InvalidAdmissionReview'));
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(400).send(badRequest(`request body is larger than ${config.server.bodyLimitBytes} bytes`, 'BodyTooLarge'));
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.code(400).send(badRequest('Content-Type must be application/json', 'UnsupportedMediaType'));
    }
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(400).send(badRequest(err.message, err.code ?? 'BadRequest'));
    }
    req.log.error({ err }, 'unexpected error');
    return reply.code(500).send({ statusCode: 500, error: 'Internal Server Error', message: 'internal error' });
  });

  // The API server's clock starts when it sends the request: count from its headers, not from after the body
  // was read, parsed and validated (which takes a while for a big body on a busy loop).
  app.addHook('onRequest', (req, _reply, done) => {
    (req as unknown as Record<symbol, number>)[RECEIVED_AT] = clock();
    done();
  });

  app.post<{ Body: AdmissionReviewIn; Querystring: { timeout?: string } }>('/validate', {
    schema: { body: admissionReviewSchema, querystring: validateQuerySchema, response: { 200: admissionReviewOutSchema } },
  }, async (req): Promise<AdmissionReviewOut> => {
    const receivedAt = (req as unknown as Record<symbol, number | undefined>)[RECEIVED_AT] ?? clock();
    const timeoutMs = parseTimeout(req.query.timeout) ?? config.server.defaultTimeoutSeconds * 1000;
    const dueBy = reviewDeadline(receivedAt, timeoutMs, config.server.deadlineMarginMs);
    // Early by the loop's lag: the backstop's timer fires that late, and the request waited about that long unread.
    const answerBy = dueBy - lagMargin(lagSetting, loopLag?.marginMs() ?? 0, dueBy - receivedAt);
    const deadline = answerBy - answerReserve(answerBy - receivedAt);
    const request = req.body.request;
    // Not a child logger: most reviews log nothing, and a child per review is measurable on the warm path.
    const log = new ReviewLogger(req.log, request.uid);
    metrics.inflight.inc();
    // Fired when the answer is decided before the review ended (the backstop, an error): whatever of the review still
    // runs is cancelled (registry requests aborted unless another review shares them, credential plugins killed,
    // queued lookups dropped). A review that ended on its own has already ended its work (the check's own signal
    // ends with the check), so it is not fired then: an abort dispatches an event, measurable on the warm path.
    const answered = new AbortController();
    let late = false;
    let ended = false;
    try {
      // Every wait inside the review ends by `deadline`; this is the backstop that answers by `answerBy` whatever
      // part of it is still running (unknown: admitted, per the first rule).
      const outcome = await beforeDeadline(answer(request, deadline, deps, log, answered.signal), answerBy, () => {
        late = true;
        metrics.verdicts.inc({ reason: 'ReviewTimeout', verdict: 'unknown' });
        log.info({ kind: request.kind.kind, namespace: request.namespace }, 'review did not finish by its deadline; admitting');
        return { response: { uid: request.uid, allowed: true, warnings: ['pullguard: the review did not finish in time; images were not checked'] }, kind: request.kind.kind, mode: 'n/a' as const };
      }, clock);
      ended = !late;
      if (outcome.skipped) log.debug({ kind: outcome.kind, reason: outcome.skipped }, 'not checked');
      const answeredAt = clock();
      if (answeredAt > dueBy) metrics.lateAnswers.inc();
      metrics.admissionDuration.observe(
        { kind: outcome.kind, operation: request.operation, allowed: String(outcome.response.allowed), mode: outcome.mode },
        (answeredAt - receivedAt) / 1000,
      );
      return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: outcome.response };
    } catch (err) {
      // A bug of ours must never block a deploy: admit, say so, and log it.
      log.error({ err }, 'review failed; admitting');
      metrics.verdicts.inc({ reason: 'InternalError', verdict: 'unknown' });
      return {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: request.uid, allowed: true, warnings: ['pullguard: internal error; images were not checked'] },
      };
    } finally {
      if (!ended) answered.abort(REVIEW_ANSWERED);
      metrics.inflight.dec();
    }
  });
  return app;
}

export interface Readiness {
  ready(): { ready: boolean; reasons: string[] };
}

export function buildOpsApp(deps: { metrics: WebhookDeps['metrics']; logger: Logger; readiness: Readiness; routes?: (app: FastifyInstance) => void; server?: { headersTimeoutMs: number; requestTimeoutMs: number } }): FastifyInstance {
  const limits = deps.server ? slowClientLimits(deps.server) : undefined;
  const app = Fastify({
    loggerInstance: deps.logger,
    logController: new LogController({ disableRequestLogging: true }),
    ...(limits ? { requestTimeout: limits.requestTimeout, http: { headersTimeout: limits.headersTimeout, connectionsCheckingInterval: limits.connectionsCheckingInterval } } : {}),
  }) as unknown as FastifyInstance;
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = deps.readiness.ready();
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', reasons: r.reasons });
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  // More read-only routes from other features (the continuous audit's GET /audit).
  deps.routes?.(app);
  return app;
}

export interface RunningServer {
  webhook: FastifyInstance;
  ops: FastifyInstance;
  webhookPort: number;
  opsPort: number;
  close(): Promise<void>;
}

/** Start both servers; reloads TLS on file changes; `close()` finishes in-flight reviews first. */
export async function startServers(deps: WebhookDeps, opts: { tlsPollMs?: number; opsRoutes?: (app: FastifyInstance) => void } = {}): Promise<RunningServer> {
  const { config, logger, metrics } = deps;
  const clock = deps.clock ?? Date.now;
  const tls = loadTls(config.server.tlsCertFile, config.server.tlsKeyFile, clock());
  if (!tls.ok) throw new Error(tls.error);
  let serving = tls.material;
  metrics.tlsCertificateExpiry.set(serving.notAfter / 1000);
  let closing = false;
  const expiryWindowMs = config.server.tlsExpiryWindowSeconds * 1000;
  const webhook = buildWebhookApp(deps, serving);
  const ops = buildOpsApp({
    metrics,
    logger,
    server: config.server,
    readiness: {
      ready: () => {
        const reasons = [...(closing ? ['shutting down'] : []), ...[certificateProblem(serving, expiryWindowMs, clock())].filter((r) => r !== undefined)];
        return { ready: reasons.length === 0, reasons };
      },
    },
    ...(opts.opsRoutes ? { routes: opts.opsRoutes } : {}),
  });
  let watcher: TlsWatcher | undefined;
  try {
    await webhook.listen({ host: config.server.host, port: config.server.port });
    await ops.listen({ host: config.server.metricsHost, port: config.server.metricsPort });
    watcher = watchTls(config.server.tlsCertFile, config.server.tlsKeyFile, (load) => {
      if (!load.ok) {
        metrics.tlsReloads.inc({ result: 'error' });
        logger.error({ error: load.error, servingUntil: new Date(serving.notAfter).toISOString() }, 'TLS files changed but cannot be used; keeping the current certificate');
        return;
      }
      try {
        (webhook.server as Server).setSecureContext({ cert: load.material.cert, key: load.material.key, minVersion: 'TLSv1.2' });
      } catch (err) {
        metrics.tlsReloads.inc({ result: 'error' });
        logger.error({ error: (err as Error).message }, 'TLS files changed but cannot be used; keeping the current certificate');
        return;
      }
      serving = load.material;
      metrics.tlsCertificateExpiry.set(serving.notAfter / 1000);
      metrics.tlsReloads.inc({ result: 'ok' });
      logger.info({ notAfter: new Date(serving.notAfter).toISOString() }, 'TLS certificate reloaded');
    }, opts.tlsPollMs);
  } catch (err) {
    await Promise.allSettled([webhook.close(), ops.close()]);
    throw err;
  }
  const portOf = (app: FastifyInstance) => {
    const addr = app.server.address();
    return typeof addr === 'object' && addr !== null ? addr.port : 0;
  };
  return {
    webhook,
    ops,
    webhookPort: portOf(webhook),
    opsPort: portOf(ops),
    async close() {
      closing = true;
      watcher?.stop();
      const grace = new Promise<void>((resolve) => setTimeout(resolve, config.server.shutdownGraceMs).unref());
      await Promise.race([webhook.close(), grace]);
      await ops.close();
    },
  };
}
