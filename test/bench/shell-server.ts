// The webhook without its review: pullguard's own Fastify app (buildWebhookApp, so its JSON parser and depth check,
// schemas, hooks, handler, deadline backstop, metrics and logger, with serve's logger and metrics) answering every
// review with a canned outcome: what pullguard answers for the warm image, only the uid changed. Measured between
// the bare route and pullguard, it splits the warm path's cost into the webhook's own and the review's. Its own
// process, like the others; prints {"port":N} once listening.
// Usage: node test/bench/shell-server.ts CERT KEY RESPONSE_TEMPLATE_JSON (the template holds the uid marker once).
import { readFileSync } from 'node:fs';
import { buildWebhookApp, type WebhookDeps } from '../../src/admission/server.ts';
import type { AdmissionReviewOut } from '../../src/admission/schema.ts';
import { createServeLogger } from '../../src/cli/serve.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { createMetrics } from '../../src/metrics.ts';
import { UID_MARKER } from './review-body.ts';

const [certFile, keyFile, template] = process.argv.slice(2);
if (!certFile || !keyFile || !template || !template.includes(UID_MARKER)) {
  process.stderr.write('usage: shell-server.ts CERT KEY RESPONSE_TEMPLATE_JSON (with the uid marker)\n');
  process.exit(3);
}
const answer = (JSON.parse(template) as AdmissionReviewOut).response;
const config = structuredClone(DEFAULT_CONFIG);
const unused = new Proxy({}, { get: () => { throw new Error('the canned review reads no checker or cluster'); } });
const deps: WebhookDeps = {
  config,
  metrics: createMetrics(),
  logger: createServeLogger(config.logLevel),
  checker: unused as WebhookDeps['checker'],
  cluster: unused as WebhookDeps['cluster'],
  review: async (req) => ({ response: { ...answer, uid: req.uid }, kind: req.kind.kind, mode: 'enforce' }),
};
const app = buildWebhookApp(deps, { cert: readFileSync(certFile), key: readFileSync(keyFile) });
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
