// Kubelet credential providers end to end through the webhook: an ECR-shaped registry (a real Distribution
// registry with Basic auth, `Basic realm` challenge, user AWS and a short-lived token as password) and a
// token-auth registry, each behind a fake credential-provider plugin, answer allow / TagNotFound /
// RepositoryNotFound exactly as with a pull secret holding the same credentials. A plugin that is slow, fails,
// answers with the wrong apiVersion or needs service-account tokens admits with a warning that says why;
// NodeCredentialsAssumed remains only for node-credentialed registries no provider matches.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { pushImage } from '../harness/push.ts';
import { startFakeApiServer, type FakeApiServer } from '../harness/fake-apiserver.ts';
import { explain } from '../../src/verdict/explain.ts';
import { executions, installFakePlugin, providerConfig, type ProviderEntry } from '../harness/credential-plugin-kit.ts';
import { dockerConfigJson, makeDir, startPullguard, writeRegistryConfig, type Pullguard } from '../verdict/check-env.ts';

const ECR_TOKEN = 'eyJwYXlsb2FkIjoiZmFrZS1lY3ItdG9rZW4ifQ';
const aws = { username: 'AWS', password: ECR_TOKEN };
const alice = { username: 'alice', password: 'alice-secret' };
const amd64 = [{ os: 'linux', architecture: 'amd64' }];

let ecr: TestRegistry;
let tokenReg: TestRegistry;
let api: FakeApiServer;
let withProviders: Pullguard;
let withSecret: Pullguard;
const work = makeDir();
const counts = { ecr: join(work.dir, 'ecr.count'), token: join(work.dir, 'token.count') };

t.before(async () => {
  [ecr, tokenReg] = await Promise.all([startRegistry({ auth: 'basic', users: [aws] }), startRegistry({ auth: 'token', users: [alice] })]);
  await Promise.all([
    ...['team/app', 'slow/app', 'fails/app', 'versioned/app', 'sa/app', 'wrong/app', 'other/app'].map((repository) => pushImage(ecr, { repository, tag: '1.0', platforms: amd64 })),
    pushImage(tokenReg, { repository: 'team/app', tag: '1.0', platforms: amd64 }),
  ]);
  api = await startFakeApiServer();
  api.setNamespace('demo', {});
  api.setServiceAccount('demo', 'default', []);
  api.setNode({ name: 'node-amd64', arch: 'amd64' });
  api.setSecret('demo', 'ecr-secret', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': dockerConfigJson({ [ecr.host]: aws, [tokenReg.host]: alice }) });

  const bin = join(work.dir, 'bin');
  mkdirSync(bin);
  const auth = (host: string, u: { username: string; password: string }) => ({ name: 'PLUGIN_AUTH', value: JSON.stringify({ [host]: u }) });
  const providers: ProviderEntry[] = [
    { name: 'ecr-credential-provider', matchImages: [`${ecr.host}/team`], args: ['get-credentials'], env: [auth(ecr.host, aws), { name: 'PLUGIN_COUNT_FILE', value: counts.ecr }, { name: 'PLUGIN_CACHE_KEY_TYPE', value: 'Registry' }] },
    { name: 'token-registry-provider', matchImages: [tokenReg.host], env: [auth(tokenReg.host, alice), { name: 'PLUGIN_COUNT_FILE', value: counts.token }] },
    { name: 'slow-provider', matchImages: [`${ecr.host}/slow`], args: ['--sleep=30'], env: [auth(ecr.host, aws)] },
    { name: 'failing-provider', matchImages: [`${ecr.host}/fails`], args: ['--fail'], env: [auth(ecr.host, aws)] },
    { name: 'versioned-provider', matchImages: [`${ecr.host}/versioned`], args: ['--api-version=credentialprovider.kubelet.k8s.io/v1beta1'], env: [auth(ecr.host, aws)] },
    { name: 'sa-provider', matchImages: [`${ecr.host}/sa`], env: [auth(ecr.host, aws)], tokenAttributes: { serviceAccountTokenAudience: 'sts.amazonaws.com', requireServiceAccount: true, cacheType: 'ServiceAccount' } },
    { name: 'wrong-identity-provider', matchImages: [`${ecr.host}/wrong`], env: [auth(ecr.host, { username: 'AWS', password: 'a-token-for-another-role' })] },
  ];
  for (const p of providers) installFakePlugin(bin, p.name);
  const confDir = join(work.dir, 'credential-providers.d');
  mkdirSync(confDir);
  // Two files, merged as the kubelet merges a config directory.
  writeFileSync(join(confDir, '10-ecr.yaml'), providerConfig(providers.slice(0, 1)));
  writeFileSync(join(confDir, '20-rest.json'), providerConfig(providers.slice(1)));

  const registryConfig = writeRegistryConfig(work.dir, [ecr, tokenReg]);
  withProviders = startPullguard(api, registryConfig, (c) => {
    c.credentialProviders = { config: confDir, binDir: bin };
    c.credentials.nodeCredentialRegistries = [ecr.host];
  });
  withSecret = startPullguard(api, registryConfig, (c) => {
    c.credentials.nodeCredentialRegistries = [];
  });
});

t.teardown(async () => {
  await Promise.allSettled([withProviders?.close(), withSecret?.close()]);
  await Promise.allSettled([api?.stop(), ecr?.stop(), tokenReg?.stop()]);
  work.remove();
});

let uid = 0;
function pod(images: string[], secrets: string[] = []): Record<string, unknown> {
  const spec = { containers: images.map((image, i) => ({ name: `c${i}`, image, imagePullPolicy: 'IfNotPresent' })), ...(secrets.length ? { imagePullSecrets: secrets.map((name) => ({ name })) } : {}) };
  const kind = { group: '', version: 'v1', kind: 'Pod' };
  const resource = { group: '', version: 'v1', resource: 'pods' };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `provider-${++uid}`, kind, resource, requestKind: kind, requestResource: resource, name: 'p', namespace: 'demo', operation: 'CREATE',
      userInfo: { username: 'admin', groups: ['system:authenticated'] },
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'demo' }, spec },
      oldObject: null, dryRun: false, options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}

t.test('the ECR-shaped registry really is one: a Basic realm challenge, and AWS:<token> is what it accepts', async (t) => {
  const dispatcher = new Agent({ connect: { ca: readFileSync(ecr.caFile) } });
  const res = await request(`${ecr.url}/v2/`, { dispatcher });
  await res.body.dump();
  t.equal(res.statusCode, 401);
  t.match(String(res.headers['www-authenticate']), /^Basic realm=/);
  const ok = await request(`${ecr.url}/v2/`, { dispatcher, headers: { authorization: `Basic ${Buffer.from(`AWS:${ECR_TOKEN}`).toString('base64')}` } });
  await ok.body.dump();
  t.equal(ok.statusCode, 200);
  await dispatcher.close();
});

t.test('behind a credential provider the answers are exactly those of a pull secret with the same credentials', async (t) => {
  const cases = [
    { image: `${ecr.host}/team/app:1.0`, allowed: true, reason: 'Resolved' },
    { image: `${ecr.host}/team/app:2.0`, allowed: false, reason: 'TagNotFound' },
    { image: `${ecr.host}/team/missing:1.0`, allowed: false, reason: 'RepositoryNotFound' },
    { image: `${tokenReg.host}/team/app:1.0`, allowed: true, reason: 'Resolved' },
    { image: `${tokenReg.host}/team/app:2.0`, allowed: false, reason: 'TagNotFound' },
  ];
  for (const c of cases) {
    const viaProvider = await withProviders.post(pod([c.image]));
    const viaSecret = await withSecret.post(pod([c.image], ['ecr-secret']));
    t.equal(viaProvider.response.allowed, c.allowed, `${c.image}: provider`);
    t.equal(viaSecret.response.allowed, c.allowed, `${c.image}: secret`);
    const p = (await withProviders.check(pod([c.image]))).findings[0]!.resolution;
    const s = (await withSecret.check(pod([c.image], ['ecr-secret']))).findings[0]!.resolution;
    t.equal(p.reason, c.reason, `${c.image}: ${c.reason} through the provider`);
    t.equal(s.reason, c.reason, `${c.image}: ${c.reason} through the secret`);
    if (!c.allowed) {
      t.match(viaProvider.response.status?.message, c.reason);
      t.notMatch(viaProvider.response.status?.message, ECR_TOKEN, 'the token never appears');
    }
    if (c.allowed) t.match(p.credentialUsed, /^credential provider (ecr-credential-provider|token-registry-provider)$/);
  }
  t.ok(executions(counts.ecr).length >= 1 && executions(counts.ecr).length <= 2, `cacheKeyType Registry: ${executions(counts.ecr).length} executions for every ${ecr.host}/team image`);
});

t.test('without the provider and without a secret the same image is AuthRequired: the provider is what let it through', async (t) => {
  const out = await withSecret.post(pod([`${ecr.host}/team/app:1.0`]));
  t.equal(out.response.allowed, false);
  t.match(out.response.status?.message, 'AuthRequired');
});

t.test('a slow, failing or wrongly versioned plugin, or one in service-account-token mode, admits with a warning that says why', async (t) => {
  const cases = [
    { repo: 'slow', says: /credential provider slow-provider did not answer before the review's deadline/ },
    { repo: 'fails', says: /credential provider failing-provider exited with status 1: fake plugin: AccessDeniedException: not authorized to perform ecr:GetAuthorizationToken/ },
    { repo: 'versioned', says: /credential provider versioned-provider answered with apiVersion credentialprovider.kubelet.k8s.io\/v1beta1, but the config says credentialprovider.kubelet.k8s.io\/v1/ },
    { repo: 'sa', says: /credential provider sa-provider .*service-account tokens \(tokenAttributes, KEP-4412\)/ },
  ];
  for (const c of cases) {
    const review = pod([`${ecr.host}/${c.repo}/app:1.0`]);
    const out = await withProviders.post(review, '?timeout=4s');
    t.equal(out.response.allowed, true, `${c.repo}: admitted`);
    t.match(out.response.warnings?.[0], /CredentialProviderUnavailable/, `${c.repo}: warned`);
    const r = (await withProviders.check(review)).findings[0]!.resolution;
    t.equal(r.reason, 'CredentialProviderUnavailable', c.repo);
    t.equal(r.verdict, 'unknown', c.repo);
    t.match(r.detail, c.says, c.repo);
    t.notMatch(JSON.stringify(out), /second line/, `${c.repo}: one stderr line at most`);
  }
  const failed = (await withProviders.check(pod([`${ecr.host}/fails/app:1.0`]))).findings[0]!;
  t.match(explain(failed), 'CredentialProviderUnavailable: the registry requires credentials that a kubelet credential provider supplies, and pullguard could not get them: credential provider failing-provider exited with status 1: fake plugin: AccessDeniedException: not authorized to perform ecr:GetAuthorizationToken.');
  t.match(explain(failed), 'Not denied. Give pullguard the identity its credential provider needs');
});

t.test('credentials a provider got with pullguard\'s identity and the registry refused prove nothing about the node\'s', async (t) => {
  const review = pod([`${ecr.host}/wrong/app:1.0`]);
  const out = await withProviders.post(review);
  t.equal(out.response.allowed, true);
  const r = (await withProviders.check(review)).findings[0]!.resolution;
  t.equal(r.reason, 'CredentialProviderUnavailable');
  t.match(r.detail, /credentials of credential provider wrong-identity-provider, which pullguard gets with its own identity/);
  t.notMatch(JSON.stringify(out), /a-token-for-another-role/);
});

t.test('a pull secret that works still lets a pod through when its provider fails, as the kubelet tries every credential', async (t) => {
  const out = await withProviders.post(pod([`${ecr.host}/fails/app:1.0`], ['ecr-secret']));
  t.equal(out.response.allowed, true);
  t.equal(out.response.warnings, undefined);
});

t.test('NodeCredentialsAssumed remains only for node-credentialed registries that no provider matches', async (t) => {
  const other = (await withProviders.check(pod([`${ecr.host}/other/app:1.0`]))).findings[0]!.resolution;
  t.equal(other.reason, 'NodeCredentialsAssumed', 'no provider matches other/: assumed, as before');
  const team = (await withProviders.check(pod([`${ecr.host}/team/app:2.0`]))).findings[0]!.resolution;
  t.equal(team.reason, 'TagNotFound', 'a provider matches team/: checked, and the typo is caught');
});
