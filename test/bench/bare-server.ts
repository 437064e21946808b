// The floor the webhook is measured against: a bare Fastify HTTPS route with the webhook's certificate and body
// limit that parses the AdmissionReview and answers a fixed one (only the uid changes). Run as its own process,
// like `pullguard serve`, so both are measured under the same conditions; prints {"port":N} once listening.
// Usage: node test/bench/bare-server.ts CERT KEY RESPONSE_TEMPLATE_JSON (the template holds the uid marker once).
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { UID_MARKER } from './review-body.ts';

const [certFile, keyFile, template] = process.argv.slice(2);
if (!certFile || !keyFile || !template || !template.includes(UID_MARKER)) {
  process.stderr.write('usage: bare-server.ts CERT KEY RESPONSE_TEMPLATE_JSON (with the uid marker)\n');
  process.exit(3);
}
const [before, after] = template.split(JSON.stringify(UID_MARKER)) as [string, string];

const app = Fastify({
  logger: false,
  bodyLimit: 3 * 1024 * 1024,
  https: { cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2' },
});
app.post<{ Body: { request?: { uid?: unknown } } }>('/validate', async (req, reply) => {
  const uid = typeof req.body?.request?.uid === 'string' ? req.body.request.uid : '';
  return reply.type('application/json; charset=utf-8').send(`${before}${JSON.stringify(uid)}${after}`);
});
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
