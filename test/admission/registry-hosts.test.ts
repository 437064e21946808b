// Issue 10 end to end through the webhook: registries as they really answer (registry.k8s.io's redirects, a
// hostile redirect target), the kubelet's credential order (a stale secret fails a public image), an
// unconfigured plain-HTTP loopback registry, and an unknown CA named as configuration.
import t from 'tap';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { pushImage } from '../harness/push.ts';
import { startFakeApiServer, type FakeApiServer } from '../harness/fake-apiserver.ts';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { startHostileTarget, startK8sBackend, startRedirectingFront, type Front } from '../harness/registry-fronts.ts';
import { containers, reviewOf } from './env.ts';
import { dockerConfigJson, makeDir, startPullguard, writeRegistryConfig, type Pullguard } from '../verdict/check-env.ts';

const amd64 = [{ os: 'linux', architecture: 'amd64' }];
const alice = { username: 'alice', password: 'alice-secret' };

let anon: TestRegistry;
let tokenReg: TestRegistry;
let plain: TestRegistry;
let unknownCa: TestRegistry;
let backend: Front;
let k8s: Front;
let hostile: Front;
let hostileFront: FaultProxy;
let api: FakeApiServer;
let pg: Pullguard;
const work = makeDir();

t.before(async () => {
  [anon, tokenReg, plain, unknownCa] = await Promise.all([
    startRegistry({ auth: 'none' }),
    startRegistry({ auth: 'token', users: [alice] }),
    startRegistry({ auth: 'none', tls: false }),
    startRegistry({ auth: 'none' }),
  ]);
  await Promise.all([
    pushImage(anon, { repository: 'pause', tag: '3.10', platforms: amd64 }),
    pushImage(tokenReg, { repository: 'public/tool', tag: '1.0', platforms: amd64 }),
    pushImage(tokenReg, { repository: 'team/app', tag: '1.0', platforms: amd64 }),
    pushImage(plain, { repository: 'local/app', tag: '1.0', platforms: amd64 }),
    pushImage(unknownCa, { repository: 'local/app', tag: '1.0', platforms: amd64 }),
  ]);
  backend = await startK8sBackend(anon);
  k8s = await startRedirectingFront(backend.url);
  hostile = await startHostileTarget();
  hostileFront = await startFaultProxy(tokenReg);
  hostileFront.setFault((req) => (req.path.includes('/blobs/') ? { kind: 'status', status: 307, headers: { location: `${hostile.url}${req.path}` } } : { kind: 'pass' }));
  api = await startFakeApiServer();
  api.setNamespace('demo', {});
  api.setServiceAccount('demo', 'default', []);
  api.setNode({ name: 'node-amd64', arch: 'amd64' });
  api.setSecret('demo', 'stale', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': dockerConfigJson({ [tokenReg.host]: { username: 'alice', password: 'expired' } }) });
  api.setSecret('demo', 'good', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': dockerConfigJson({ [hostileFront.host]: alice }) });
  // The plain-HTTP and unknown-CA registries are deliberately absent from the registry config.
  const config = writeRegistryConfig(work.dir, [tokenReg, { host: k8s.host, caFile: anon.caFile }, { host: hostileFront.host, caFile: tokenReg.caFile }]);
  pg = startPullguard(api, config);
});

t.teardown(async () => {
  await pg?.close();
  await Promise.allSettled([api?.stop(), k8s?.stop(), backend?.stop(), hostile?.stop(), hostileFront?.stop()]);
  await Promise.allSettled([anon?.stop(), tokenReg?.stop(), plain?.stop(), unknownCa?.stop()]);
  work.remove();
});

function pod(images: string[], secrets: string[] = []): Record<string, unknown> {
  return reviewOf('Pod', { containers: containers(...images), ...(secrets.length > 0 ? { imagePullSecrets: secrets.map((name) => ({ name })) } : {}) });
}

t.test('registry.k8s.io shape: a typo behind the 307 is denied with the right tag suggested; the real tag is admitted silently', async (t) => {
  const typo = await pg.post(pod([`${k8s.host}/pause:3.1O`]));
  t.equal(typo.response.allowed, false);
  t.match(typo.response.status?.message, /TagNotFound/);
  t.match(typo.response.status?.message, /3\.10/);
  const ok = await pg.post(pod([`${k8s.host}/pause:3.10`]));
  t.equal(ok.response.allowed, true);
  t.equal(ok.response.warnings, undefined, 'no warning: the redirect is followed, not "unknown"');
});

t.test('a stale pull secret for a public repository is denied CredentialsRejected, naming the secret', async (t) => {
  const out = await pg.post(pod([`${tokenReg.host}/public/tool:1.0`], ['stale']));
  t.equal(out.response.allowed, false);
  const msg = out.response.status?.message ?? '';
  t.match(msg, /CredentialsRejected/);
  t.match(msg, 'Credentials tried: secret demo/stale.');
  t.match(msg, 'Even a public image fails with a stale or wrong secret');
  const without = await pg.post(pod([`${tokenReg.host}/public/tool:1.0`]));
  t.equal(without.response.allowed, true, 'without the secret the same image pulls anonymously');
});

t.test('a hostile redirect target never sees the credential, and its demand is no denial', async (t) => {
  const out = await pg.post(pod([`${hostileFront.host}/team/app:1.0`], ['good']));
  t.equal(out.response.allowed, true, 'unknown: admitted');
  t.match(out.response.warnings?.[0], /RegistryError/);
  t.ok(hostile.requests.length > 0);
  t.same(hostile.requests.filter((x) => x.authorization !== undefined), [], 'no Authorization reached it');
  t.notMatch(JSON.stringify(out), /secret-internal-text/, 'its words are not quoted');
  const audit = out.response.auditAnnotations?.['image-0'] ?? '';
  t.match(audit, /reached by redirect from .* answered 401; credentials for .* are never sent to another host/);
  t.notMatch(audit, /The registry said/, 'another host\'s status is not presented as the registry\'s answer');
});

t.test('a plain-HTTP registry on 127.0.0.1 without configuration is admitted (containerd falls back to HTTP)', async (t) => {
  const out = await pg.post(pod([`${plain.host}/local/app:1.0`]));
  t.equal(out.response.allowed, true);
  t.equal(out.response.warnings, undefined);
  const typo = await pg.post(pod([`${plain.host}/local/app:1.1`]));
  t.equal(typo.response.allowed, false, 'and a missing tag there is still a certain denial');
});

t.test('an unknown CA is admitted with a warning whose explanation names the ca: setting', async (t) => {
  const out = await pg.post(pod([`${unknownCa.host}/local/app:1.0`]));
  t.equal(out.response.allowed, true);
  t.match(out.response.warnings?.[0], /RegistryUnreachable/);
  const audit = out.response.auditAnnotations?.['image-0'] ?? '';
  t.match(audit, 'the TLS connection to the registry failed');
  t.match(audit, '`ca:`');
});
