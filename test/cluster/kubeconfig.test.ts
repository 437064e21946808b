import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadKubeConfig } from '../../src/cluster/kubeconfig.ts';
import { createClusterReader } from '../../src/cluster/reader.ts';
import { startFakeApiServer } from '../harness/fake-apiserver.ts';

const kubeconfig = (server: string, context = 'main', token = 'tok') => `apiVersion: v1
kind: Config
clusters:
- name: ${context}
  cluster:
    server: ${server}
    insecure-skip-tls-verify: true
users:
- name: ${context}
  user:
    token: ${token}
contexts:
- name: ${context}
  context:
    cluster: ${context}
    user: ${context}
current-context: ${context}
`;

t.test('an explicit kubeconfig file wins, and a reader built from it reads the cluster', async (t) => {
  const api = await startFakeApiServer();
  t.teardown(() => api.stop());
  api.setSecret('demo', 'regcred', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': '{}' });
  const dir = t.testdir({ other: kubeconfig('https://other.example:6443', 'other') });
  const result = loadKubeConfig({ kubeconfig: api.kubeconfigFile, env: { KUBECONFIG: path.join(dir, 'other') } });
  t.match(result, { ok: true, source: 'file' });
  if (!result.ok) return;
  t.equal(result.kc.getCurrentCluster()?.server, api.url);
  const reader = createClusterReader(result.kc);
  t.teardown(() => reader.close());
  t.match(await reader.getSecret('demo', 'regcred'), { found: true });
});

t.test('KUBECONFIG is used when no file is given', async (t) => {
  const dir = t.testdir({ config: kubeconfig('https://k8s.example:6443') });
  const result = loadKubeConfig({ env: { KUBECONFIG: path.join(dir, 'config') }, serviceAccountDir: path.join(dir, 'none') });
  t.match(result, { ok: true, source: 'env' });
  if (result.ok) t.equal(result.kc.getCurrentCluster()?.server, 'https://k8s.example:6443');
});

t.test('KUBECONFIG with several files merges them, the first current-context winning', async (t) => {
  const dir = t.testdir({ a: kubeconfig('https://a.example', 'a'), b: kubeconfig('https://b.example', 'b') });
  const result = loadKubeConfig({ env: { KUBECONFIG: [path.join(dir, 'a'), '', path.join(dir, 'b')].join(path.delimiter) } });
  t.ok(result.ok);
  if (!result.ok) return;
  t.equal(result.kc.getCurrentCluster()?.server, 'https://a.example');
  t.same(result.kc.getContexts().map((c) => c.name), ['a', 'b']);
});

t.test('in a pod, the service-account token and KUBERNETES_SERVICE_HOST are used', async (t) => {
  const dir = t.testdir({ token: 'eyJhbGciOi.token', 'ca.crt': 'not checked here', namespace: 'pullguard\n' });
  const result = loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: dir });
  t.match(result, { ok: true, source: 'in-cluster' });
  if (!result.ok) return;
  t.match(result.kc.getCurrentCluster(), { server: 'https://10.96.0.1:443', caFile: path.join(dir, 'ca.crt'), skipTLSVerify: false });
  t.match(result.kc.getCurrentUser(), { authProvider: { name: 'tokenFile', config: { tokenFile: path.join(dir, 'token') } } });
  t.equal(result.kc.getContextObject(result.kc.getCurrentContext())?.namespace, 'pullguard');

  const v6 = loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1' }, serviceAccountDir: dir });
  t.equal(v6.ok && v6.kc.getCurrentCluster()?.server, 'https://[fd00::1]:443', 'IPv6 host in brackets, default port 443');
});

t.test('with no configuration at all the reason says what was looked for', async (t) => {
  const dir = t.testdir({});
  const result = loadKubeConfig({ env: {}, serviceAccountDir: path.join(dir, 'serviceaccount') });
  t.match(result, { ok: false, reason: /KUBECONFIG not set.*no service-account token at .*serviceaccount\/token/ });
});

t.test('a token without KUBERNETES_SERVICE_HOST is not enough', async (t) => {
  const dir = t.testdir({ token: 't' });
  t.match(loadKubeConfig({ env: {}, serviceAccountDir: dir }), { ok: false, reason: /KUBERNETES_SERVICE_HOST is not set/ });
});

t.test('an unreadable or unusable kubeconfig is a reason, not a crash, and quotes no credentials', async (t) => {
  const dir = t.testdir({
    broken: 'users:\n- name: x\n  user:\n    token: SUPERSECRET\n   bad: [indent\n',
    empty: 'apiVersion: v1\nkind: Config\n',
  });
  const missing = loadKubeConfig({ kubeconfig: path.join(dir, 'missing') });
  t.match(missing, { ok: false, reason: /cannot load kubeconfig .*missing.*ENOENT/ });
  const broken = loadKubeConfig({ kubeconfig: path.join(dir, 'broken') });
  t.match(broken, { ok: false, reason: /cannot load kubeconfig/ });
  t.notMatch(broken.ok ? '' : broken.reason, /SUPERSECRET/);
  t.match(loadKubeConfig({ kubeconfig: path.join(dir, 'empty') }), { ok: false, reason: /no current context with a cluster server/ });
  mkdirSync(path.join(dir, 'sub'));
  writeFileSync(path.join(dir, 'sub', 'dup'), kubeconfig('https://x', 'a'));
  writeFileSync(path.join(dir, 'sub', 'dup2'), kubeconfig('https://y', 'a'));
  const dup = loadKubeConfig({ env: { KUBECONFIG: [path.join(dir, 'sub', 'dup'), path.join(dir, 'sub', 'dup2')].join(path.delimiter) } });
  t.match(dup, { ok: false, reason: /KUBECONFIG=.*Duplicate cluster: a/ });
});
