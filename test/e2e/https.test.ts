// The webhook over real HTTPS and the operations port over HTTP: what the API server and Prometheus see,
// TLS reload without restart, TLS 1.2 minimum, and a graceful shutdown that finishes in-flight reviews.
import t from 'tap';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { Agent, request } from 'undici';
import { pino } from 'pino';
import { startServers, type RunningServer } from '../../src/admission/server.ts';
import { makeFreshPki, type TestPki } from '../harness/pki.ts';
import { containers, reviewOf, startEnv, type Env } from '../admission/env.ts';
import { makeTempDir } from '../harness/lifecycle.ts';

let env: Env;
let server: RunningServer;
let pki: TestPki;
let currentCa = '';
const dir = makeTempDir('e2e');
const certFile = join(dir, 'tls.crt');
const keyFile = join(dir, 'tls.key');

t.before(async () => {
  pki = await makeFreshPki('e2e-a');
  copyFileSync(pki.certFile, certFile);
  copyFileSync(pki.keyFile, keyFile);
  currentCa = pki.caPem;
  env = await startEnv((c) => {
    c.server = { ...c.server, host: '127.0.0.1', port: 0, metricsHost: '127.0.0.1', metricsPort: 0, tlsCertFile: certFile, tlsKeyFile: keyFile, shutdownGraceMs: 5000 };
  });
  server = await startServers({ config: env.config, checker: env.runtime.checker, cluster: env.runtime.cluster, metrics: env.metrics, logger: pino({ level: 'silent' }) }, { tlsPollMs: 50 });
});
t.teardown(async () => {
  await server?.close();
  await env?.close();
});

function post(body: unknown, ca: string) {
  const dispatcher = new Agent({ connect: { ca } });
  return request(`https://127.0.0.1:${server.webhookPort}/validate?timeout=10s`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'kube-apiserver-admission' },
    body: JSON.stringify(body),
    dispatcher,
  }).finally(() => dispatcher.close());
}

function servedFingerprint(opts: { maxVersion?: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3' } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: server.webhookPort, rejectUnauthorized: false, ...opts }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      resolve(cert?.fingerprint256 ?? '');
    });
    socket.on('error', reject);
  });
}

t.test('the API server gets a denial over HTTPS, naming the container and the reason', async (t) => {
  const res = await post(reviewOf('Deployment', { containers: containers(env.image('team/app:1.0-typo')) }), pki.caPem);
  t.equal(res.statusCode, 200);
  const out = (await res.body.json()) as { response: { allowed: boolean; status: { message: string } } };
  t.equal(out.response.allowed, false);
  t.match(out.response.status.message, /container "c0" \(spec\.template\.spec\.containers\[0\]\.image\).*TagNotFound/);
});

t.test('health, readiness and Prometheus metrics on the operations port', async (t) => {
  const base = `http://127.0.0.1:${server.opsPort}`;
  t.equal((await request(`${base}/healthz`)).statusCode, 200);
  const ready = await request(`${base}/readyz`);
  t.equal(ready.statusCode, 200);
  t.match(await ready.body.json(), { status: 'ready' });
  const metrics = await (await request(`${base}/metrics`)).body.text();
  t.match(metrics, /pullguard_admission_duration_seconds_bucket\{.*kind="Deployment".*allowed="false"/);
  t.match(metrics, /pullguard_image_verdicts_total\{reason="TagNotFound",verdict="deny"\} \d+/);
  t.match(metrics, /pullguard_registry_requests_total\{host="127\.0\.0\.1:\d+",operation="manifest",method="HEAD",status="404"\}/);
  t.match(metrics, /pullguard_admission_inflight 0/);
});

t.test('TLS below 1.2 is refused', async (t) => {
  await t.rejects(servedFingerprint({ maxVersion: 'TLSv1.1' }));
});

t.test('a rotated certificate is served without a restart', async (t) => {
  const before = await servedFingerprint();
  t.equal(before, new X509Certificate(pki.certPem).fingerprint256);
  const next = await makeFreshPki('e2e-b');
  copyFileSync(next.keyFile, keyFile);
  copyFileSync(next.certFile, certFile);
  const want = new X509Certificate(next.certPem).fingerprint256;
  let now = before;
  for (let i = 0; i < 100 && now !== want; i++) {
    await new Promise((r) => setTimeout(r, 50));
    now = await servedFingerprint();
  }
  t.equal(now, want, 'the new certificate is served');
  currentCa = next.caPem;
  const res = await post(reviewOf('Pod', { containers: containers(env.image('team/app:1.0')) }), next.caPem);
  t.equal(res.statusCode, 200, 'clients trusting the new CA get answers');
  await res.body.dump();
});

t.test('shutdown finishes the review in flight and then stops accepting', async (t) => {
  env.proxy.setFault({ kind: 'delay', ms: 500 });
  const asked = env.proxy.requests.length;
  const inflight = post(reviewOf('Pod', { containers: containers(env.proxied('team/app:1.0')) }), currentCa);
  // Close only once the review is inside pullguard (its registry request reached the delaying proxy): a fixed wait
  // raced the TLS handshake on a loaded runner, and the review was then refused instead of finished.
  for (let waited = 0; env.proxy.requests.length === asked && waited < 10_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
  t.ok(env.proxy.requests.length > asked, 'the review reached the registry before the shutdown began');
  const closing = server.close();
  const res = await inflight;
  t.equal(res.statusCode, 200, 'the in-flight review was answered');
  const out = (await res.body.json()) as { response: { allowed: boolean } };
  t.equal(out.response.allowed, true);
  await closing;
  await t.rejects(servedFingerprint(), 'no longer accepting connections');
  env.proxy.reset();
});
