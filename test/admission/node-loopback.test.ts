// Issue 11, attack 4: a `localhost:PORT` image names the node's loopback. A real plain-HTTP registry listens on
// 127.0.0.1 behind a counting proxy. pullguard in a pod (server.inCluster) makes no request to it and admits with
// NodeLoopbackRegistry; off the cluster's network (the default in tests, the CLI) it is resolved for real; and a
// registry config entry for the host makes the in-cluster pullguard check it too.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { pushImage } from '../harness/push.ts';
import { startFakeApiServer, type FakeApiServer } from '../harness/fake-apiserver.ts';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { containers, reviewOf } from './env.ts';
import { makeDir, startPullguard, writeRegistryConfig, type Pullguard } from '../verdict/check-env.ts';

let registry: TestRegistry;
let proxy: FaultProxy;
let api: FakeApiServer;
let inCluster: Pullguard;
let offCluster: Pullguard;
let configured: Pullguard;
let mirrored: Pullguard;
let shadowed: Pullguard;
/** Listens on a loopback port in front of the same registry: what pullguard's own loopback would answer. */
let shadow: FaultProxy;
/** A loopback port nobody listens on: the node's `localhost:PORT` as a pod sees it. */
let nodePort: number;
const work = makeDir();

t.before(async () => {
  registry = await startRegistry({ auth: 'none', tls: false });
  await pushImage(registry, { repository: 'local/app', tag: '1.0', platforms: [{ os: 'linux', architecture: 'amd64' }] });
  proxy = await startFaultProxy(registry, { tls: false });
  shadow = await startFaultProxy(registry, { tls: false });
  api = await startFakeApiServer();
  api.setNamespace('demo', {});
  api.setServiceAccount('demo', 'default', []);
  api.setNode({ name: 'node-amd64', arch: 'amd64' });
  const none = writeRegistryConfig(work.dir, []);
  const entry = join(work.dir, 'registries-loopback.yaml');
  writeFileSync(entry, JSON.stringify({ registries: { [proxy.host]: { plainHTTP: true } }, defaults: { requestTimeoutMs: 3000 } }));
  nodePort = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
  // The documented fix: the node's localhost registry, reached at the address pullguard can reach (here the proxy).
  const mirror = join(work.dir, 'registries-mirror.yaml');
  writeFileSync(mirror, JSON.stringify({ registries: { [`localhost:${nodePort}`]: { mirrors: [{ host: proxy.host, plainHTTP: true }] } }, defaults: { requestTimeoutMs: 3000 } }));
  mirrored = startPullguard(api, mirror, (c) => (c.server.inCluster = true));
  // The node's localhost:PORT with a mirror, where pullguard's own loopback has a registry on that very port.
  const shadowPort = shadow.host.split(':')[1] as string;
  const shadowMirror = join(work.dir, 'registries-shadow.yaml');
  writeFileSync(shadowMirror, JSON.stringify({ registries: { [`localhost:${shadowPort}`]: { mirrors: [{ host: proxy.host, plainHTTP: true }], plainHTTP: true } }, defaults: { requestTimeoutMs: 3000 } }));
  shadowed = startPullguard(api, shadowMirror, (c) => (c.server.inCluster = true));
  inCluster = startPullguard(api, none, (c) => (c.server.inCluster = true));
  offCluster = startPullguard(api, none);
  configured = startPullguard(api, entry, (c) => (c.server.inCluster = true));
});

// Each test starts with empty request logs. (Called by each test rather than a top-level beforeEach, which in a lane
// of files sharing one process would run before every later file's tests too: test/lanes/lane.ts.)
function resetLogs(): void {
  proxy.reset();
  shadow.reset();
}

t.teardown(async () => {
  await Promise.allSettled([inCluster?.close(), offCluster?.close(), configured?.close(), mirrored?.close(), shadowed?.close()]);
  await Promise.allSettled([api?.stop(), proxy?.stop(), shadow?.stop()]);
  await registry?.stop();
  work.remove();
});

const port = (): string => proxy.host.split(':')[1] as string;
const pod = (image: string) => reviewOf('Pod', { containers: containers(image) });

t.test('in a pod, a loopback image is admitted as NodeLoopbackRegistry without a registry request, even a missing tag', async (t) => {
  resetLogs();
  for (const image of [`${proxy.host}/local/app:1.0`, `localhost:${port()}/local/app:1.0`, `${proxy.host}/local/app:1.1`, `localhost:${port()}/nope:1`]) {
    const out = await inCluster.post(pod(image));
    t.equal(out.response.allowed, true, `${image}: admitted (enforce mode)`);
    t.match(out.response.warnings?.[0], /NodeLoopbackRegistry/, `${image}: warned`);
    const audit = out.response.auditAnnotations?.['image-0'] ?? '';
    t.match(audit, /node's own loopback/, image);
    t.match(audit, /registries:/, `${image}: the fix names the registry config`);
  }
  t.equal(proxy.requests.length, 0, 'not one request reached the registry');
});

t.test('off the cluster\'s network a loopback image is resolved for real: allowed, and a missing tag denied', async (t) => {
  resetLogs();
  const ok = await offCluster.post(pod(`${proxy.host}/local/app:1.0`));
  t.equal(ok.response.allowed, true);
  t.equal(ok.response.warnings, undefined);
  const typo = await offCluster.post(pod(`localhost:${port()}/local/app:1.1`));
  t.equal(typo.response.allowed, false);
  t.match(typo.response.status?.message, /TagNotFound/);
  t.ok(proxy.requests.length > 0, `the registry was asked (${proxy.requests.length} requests)`);
});

t.test('in a pod, a registry config entry for the host makes it checked; an unconfigured spelling of it is not', async (t) => {
  resetLogs();
  const ok = await configured.post(pod(`${proxy.host}/local/app:1.0`));
  t.equal(ok.response.allowed, true);
  t.equal(ok.response.warnings, undefined, 'resolved, not unknown');
  const typo = await configured.post(pod(`${proxy.host}/local/app:1.1`));
  t.equal(typo.response.allowed, false);
  t.match(typo.response.status?.message, /TagNotFound/);
  const asked = proxy.requests.length;
  t.ok(asked > 0, `the configured host was asked (${asked} requests)`);
  const other = await configured.post(pod(`localhost:${port()}/local/app:1.0`));
  t.equal(other.response.allowed, true);
  t.match(other.response.warnings?.[0], /NodeLoopbackRegistry/, 'localhost:PORT is another host to the registry config');
  t.equal(proxy.requests.length, asked, 'and it was not asked');
});

t.test('in a pod, a mirror entry for the node\'s localhost registry checks it there; a tag the mirror lacks is not denied on pullguard\'s loopback', async (t) => {
  resetLogs();
  const ok = await mirrored.post(pod(`localhost:${nodePort}/local/app:1.0`));
  t.equal(ok.response.allowed, true);
  t.equal(ok.response.warnings, undefined, 'resolved through the mirror');
  t.ok(proxy.requests.some((r) => r.path.includes(`ns=localhost%3A${nodePort}`) || r.path.includes(`ns=localhost:${nodePort}`)), 'asked at the mirror, with ns= naming the node\'s host');
  // The mirror lacks it, so (as containerd) the upstream is tried: pullguard's own loopback, where nothing listens.
  const missing = await mirrored.post(pod(`localhost:${nodePort}/local/app:1.1`));
  t.equal(missing.response.allowed, true, 'admitted: what pullguard\'s loopback answers proves nothing about the node');
  t.match(missing.response.warnings?.[0], /RegistryUnreachable/, 'unknown: the node would ask its own loopback, which pullguard cannot reach');
});

t.test('in a pod, a mirror miss for the node\'s localhost registry never falls through to pullguard\'s own loopback (#11)', async (t) => {
  resetLogs();
  const port = shadow.host.split(':')[1] as string;
  const found = await shadowed.post(pod(`localhost:${port}/local/app:1.0`));
  t.equal(found.response.allowed, true);
  t.equal(found.response.warnings, undefined, 'resolved at the mirror');
  const atMirror = proxy.requests.length;
  t.ok(atMirror > 0, `the mirror was asked (${atMirror} requests)`);
  // Before: the miss went on to localhost:PORT in pullguard's own pod, whose registry said TagNotFound: a deny
  // decided by the wrong machine. Now the node's loopback is not asked, and the mirror's miss is not certain.
  const missing = await shadowed.post(pod(`localhost:${port}/local/app:1.1`));
  t.equal(missing.response.allowed, true, 'admitted: only the node can ask its own loopback');
  t.match(missing.response.warnings?.[0], /RegistryUnreachable/);
  const audit = missing.response.auditAnnotations?.['image-0'] ?? '';
  t.match(audit, /its own loopback, which pullguard in a pod cannot reach/, audit);
  t.ok(proxy.requests.length > atMirror, 'the mirror was asked for the missing tag');
  t.equal(shadow.requests.length, 0, 'not one request reached pullguard\'s own loopback');
});
