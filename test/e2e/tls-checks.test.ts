// A serving certificate that cannot serve never goes silent: a key of another certificate or an expired
// certificate is refused at start-up and on reload (the old pair keeps serving, the refusal is logged and counted),
// /readyz fails while the certificate is expired or about to be, and its expiry time is a metric.
import t from 'tap';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Writable } from 'node:stream';
import { X509Certificate } from 'node:crypto';
import { request } from 'undici';
import { pino } from 'pino';
import { DEFAULT_CONFIG, type Config } from '../../src/config.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { buildRuntime, type Runtime } from '../../src/cli/runtime.ts';
import { startServers, type RunningServer } from '../../src/admission/server.ts';
import { loadTls } from '../../src/admission/tls.ts';
import { makeFreshPki, type TestPki } from '../harness/pki.ts';
import { issue, lonelyKey, type Issued } from './certificates.ts';
import { makeTempDir } from '../harness/lifecycle.ts';

const DAY = 86_400_000;
const dir = makeTempDir('tls');
let pki: TestPki;
let good: Issued;
let expired: Issued;
let future: Issued;
let soon: Issued;
let rsaKey: string;
let otherEcKey: string;

t.before(async () => {
  pki = await makeFreshPki('tls-checks');
  const now = Date.now();
  [good, expired, future, soon, rsaKey, otherEcKey] = await Promise.all([
    issue(pki, dir, 'good', { notBefore: now - DAY, notAfter: now + 30 * DAY }),
    issue(pki, dir, 'expired', { notBefore: now - 10 * DAY, notAfter: now - DAY }),
    issue(pki, dir, 'future', { notBefore: now + DAY, notAfter: now + 30 * DAY }),
    issue(pki, dir, 'soon', { notBefore: now - DAY, notAfter: now + DAY }),
    lonelyKey(dir, 'rsa', 'rsa'),
    lonelyKey(dir, 'other-ec', 'ec'),
  ]);
});

interface Started {
  server: RunningServer;
  metrics: Metrics;
  runtime: Runtime;
  logs: string[];
  certFile: string;
  keyFile: string;
}

/** pullguard's servers on the given pair (copied to files of their own, so a test can swap them). */
async function start(pair: { certFile: string; keyFile: string }, name: string, tune: (c: Config) => void = () => {}): Promise<Started> {
  const certFile = join(dir, `${name}-serving.crt`);
  const keyFile = join(dir, `${name}-serving.key`);
  copyFileSync(pair.certFile, certFile);
  copyFileSync(pair.keyFile, keyFile);
  const config: Config = structuredClone(DEFAULT_CONFIG);
  config.server = { ...config.server, host: '127.0.0.1', port: 0, metricsHost: '127.0.0.1', metricsPort: 0, tlsCertFile: certFile, tlsKeyFile: keyFile, shutdownGraceMs: 1000 };
  config.kubernetes.enabled = false;
  tune(config);
  const logs: string[] = [];
  const sink = new Writable({ write(chunk, _e, done) { logs.push(...String(chunk).split('\n').filter(Boolean)); done(); } });
  const logger = pino({ level: 'info' }, sink);
  const metrics = createMetrics({ defaultMetrics: false });
  const built = buildRuntime(config, { log: logger, metrics });
  if (!built.ok) throw new Error(built.errors.join('\n'));
  const runtime = built.runtime;
  try {
    const server = await startServers({ config, checker: runtime.checker, cluster: runtime.cluster, metrics, logger }, { tlsPollMs: 50 });
    return { server, metrics, runtime, logs, certFile, keyFile };
  } catch (err) {
    await runtime.close();
    throw err;
  }
}

async function stop(s: Started): Promise<void> {
  await s.server.close();
  await s.runtime.close();
}

function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      resolve(cert?.fingerprint256 ?? '');
    });
    socket.on('error', reject);
  });
}

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

t.test('start-up refuses a pair that cannot serve, with an error that says why', async (t) => {
  const cases: { name: string; pair: () => { certFile: string; keyFile: string }; error: RegExp }[] = [
    { name: 'an RSA key beside an EC certificate (OpenSSL itself accepts this pair)', pair: () => ({ certFile: good.certFile, keyFile: rsaKey }), error: /key does not belong to the certificate/ },
    { name: 'the key of another EC certificate', pair: () => ({ certFile: good.certFile, keyFile: otherEcKey }), error: /key does not belong to the certificate|not a usable pair/ },
    { name: 'an expired certificate', pair: () => expired, error: /certificate expired at \d{4}-\d\d-\d\dT/ },
    { name: 'a certificate not yet valid', pair: () => future, error: /not valid before \d{4}-\d\d-\d\dT/ },
  ];
  for (const c of cases) {
    await t.rejects(start(c.pair(), `refused-${cases.indexOf(c)}`), c.error, c.name);
    const load = loadTls(c.pair().certFile, c.pair().keyFile);
    t.equal(load.ok, false, `${c.name}: loadTls refuses it`);
  }
  const ok = loadTls(good.certFile, good.keyFile);
  t.ok(ok.ok, 'a matching, valid pair loads');
});

t.test('a bad pair on reload is refused: the old certificate keeps serving, the refusal is logged and counted', async (t) => {
  const s = await start(good, 'reload');
  t.teardown(() => stop(s));
  const port = s.server.webhookPort;
  t.equal(await servedFingerprint(port), fingerprint(good.certPem), 'serving the good certificate');
  const refusals = async () => (await s.metrics.registry.getSingleMetric('pullguard_tls_reloads_total')!.get()).values.find((v) => v.labels['result'] === 'error')?.value ?? 0;

  const bad: { name: string; cert: string; key: string; error: RegExp }[] = [
    { name: 'a key that does not match', cert: good.certFile, key: rsaKey, error: /key does not belong/ },
    { name: 'an expired certificate with its own key', cert: expired.certFile, key: expired.keyFile, error: /expired/ },
  ];
  const errorLogs = () => s.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['level'] === 50 && String(l['msg']).includes('keeping the current certificate'));
  for (const b of bad) {
    const before = await refusals();
    const logsBefore = errorLogs().length;
    // Two files cannot change at once: the watcher may also see (and refuse) the half-swapped pair.
    copyFileSync(b.key, s.keyFile);
    copyFileSync(b.cert, s.certFile);
    for (let n = 0; n < 200 && !b.error.test(String(errorLogs().at(-1)?.['error'] ?? '')); n++) await new Promise((r) => setTimeout(r, 50));
    t.match(String(errorLogs().at(-1)?.['error']), b.error, `${b.name}: logged at error, saying why`);
    t.ok(errorLogs().length > logsBefore, `${b.name}: a new error line`);
    t.ok((await refusals()) > before, `${b.name}: the refusal is counted`);
    t.equal(await servedFingerprint(port), fingerprint(good.certPem), `${b.name}: the old certificate is still served`);
  }
  const ready = await request(`http://127.0.0.1:${s.server.opsPort}/readyz`);
  t.equal(ready.statusCode, 200, 'still ready: the certificate in use is good');
  await ready.body.dump();

  copyFileSync(soon.keyFile, s.keyFile);
  copyFileSync(soon.certFile, s.certFile);
  let now = '';
  for (let n = 0; n < 200 && now !== fingerprint(soon.certPem); n++) {
    await new Promise((r) => setTimeout(r, 50));
    now = await servedFingerprint(port);
  }
  t.equal(now, fingerprint(soon.certPem), 'a good pair afterwards is reloaded');
  const expiry = (await s.metrics.registry.getSingleMetric('pullguard_tls_certificate_expiry_timestamp_seconds')!.get()).values[0]?.value;
  t.equal(expiry, new X509Certificate(soon.certPem).validToDate.getTime() / 1000, 'the expiry metric follows the certificate in use');
});

t.test('/readyz fails while the serving certificate is within the expiry window, and the expiry is a metric', async (t) => {
  const s = await start(soon, 'window', (c) => (c.server.tlsExpiryWindowSeconds = 2 * 86_400));
  t.teardown(() => stop(s));
  const ready = await request(`http://127.0.0.1:${s.server.opsPort}/readyz`);
  t.equal(ready.statusCode, 503);
  const body = (await ready.body.json()) as { status: string; reasons: string[] };
  t.equal(body.status, 'not ready');
  t.match(body.reasons, [/serving certificate expires at .* within 172800 s/]);
  const metrics = await (await request(`http://127.0.0.1:${s.server.opsPort}/metrics`)).body.text();
  const notAfter = new X509Certificate(soon.certPem).validToDate.getTime() / 1000;
  t.match(metrics, new RegExp(`pullguard_tls_certificate_expiry_timestamp_seconds ${notAfter}\\b`));
});

t.test('/readyz is ready while the certificate has more than the window left', async (t) => {
  const s = await start(soon, 'outside-window', (c) => (c.server.tlsExpiryWindowSeconds = 3600));
  t.teardown(() => stop(s));
  const ready = await request(`http://127.0.0.1:${s.server.opsPort}/readyz`);
  t.equal(ready.statusCode, 200);
  t.match(await ready.body.json(), { status: 'ready', reasons: [] });
});
