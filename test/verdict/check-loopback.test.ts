// Issue 11: a loopback image host names the loopback of the node the kubelet pulls on. pullguard running in a pod
// (server.inCluster) does not share it: no registry request, NodeLoopbackRegistry (unknown), unless the registry
// config has an entry for that host. Off the cluster's network (the CLI, an off-cluster `serve`) it is asked as ever.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { disconnectedClusterReader } from '../../src/cluster/reader.ts';
import { parseReference, type Reference } from '../../src/reference/reference.ts';
import { resolution, type Resolution } from '../../src/registry/index.ts';
import { nodeLoopback, type CheckerOptions } from '../../src/verdict/check.ts';
import { stubChecker } from './stub-checker.ts';
import { buildRuntime, checkerFor, runsInCluster } from '../../src/cli/runtime.ts';
import { DEFAULT_CONFIG, loadConfig } from '../../src/config.ts';
import { explain } from '../../src/verdict/explain.ts';
import { makeTempDir } from '../harness/lifecycle.ts';

function ref(image: string): Reference {
  const p = parseReference(image);
  if (!p.ok) throw new Error(p.error.message);
  return p.reference;
}

const LOOPBACK = ['localhost/app:1', 'localhost:5000/app:1', '127.0.0.1:5000/team/app:1', '127.1.2.3/app:1', '[::1]:5000/app:1', 'LOCALHOST:5000/app:1'];
const ELSEWHERE = ['registry.example.com/app:1', '10.0.0.5:5000/app:1', 'localhost.example.com/app:1', 'docker.io/library/nginx:1', 'nginx:1', '[fd00::1]:5000/app:1'];

t.test('in a pod, every loopback host form is the node\'s: NodeLoopbackRegistry, unknown', async (t) => {
  for (const image of LOOPBACK) {
    const r = nodeLoopback(ref(image), image, { configuredRegistries: [] });
    t.equal(r?.reason, 'NodeLoopbackRegistry', image);
    t.equal(r?.verdict, 'unknown', image);
    t.equal(r?.reference, ref(image).canonical, image);
  }
});

t.test('in a pod, other hosts are not affected', async (t) => {
  for (const image of ELSEWHERE) t.equal(nodeLoopback(ref(image), image, { configuredRegistries: [] }), undefined, image);
});

t.test('off the cluster\'s network (no inCluster), a loopback host is asked as any other', async (t) => {
  for (const image of LOOPBACK) t.equal(nodeLoopback(ref(image), image, undefined), undefined, image);
});

t.test('a registry config entry for the exact host (any case) makes it checkable in a pod; another port does not', async (t) => {
  const configured = { configuredRegistries: ['localhost:5000', '127.0.0.1:5000', '[::1]:5000'] };
  for (const image of ['localhost:5000/app:1', 'LocalHost:5000/app:1', '127.0.0.1:5000/app:1', '[::1]:5000/app:1']) t.equal(nodeLoopback(ref(image), image, configured), undefined, image);
  for (const image of ['localhost:5001/app:1', 'localhost/app:1', '127.0.0.2:5000/app:1']) t.equal(nodeLoopback(ref(image), image, configured)?.reason, 'NodeLoopbackRegistry', image);
});

function checker(inCluster: CheckerOptions['inCluster']) {
  const calls: string[] = [];
  const registry = {
    resolve(r: Reference): Promise<Resolution> {
      calls.push(r.canonical);
      return Promise.resolve(resolution('RepositoryNotFound', r.canonical, { reference: r.canonical }));
    },
  };
  const c = stubChecker(registry, disconnectedClusterReader(), inCluster ? { inCluster } : {});
  return { c, calls };
}

const targets = (...images: string[]) => images.map((image, i) => ({ containerName: `c${i}`, field: 'containers' as const, image, fieldPath: `spec.containers[${i}].image`, pullPolicy: 'IfNotPresent' as const, pullPolicyDefaulted: false }));
const spec = { namespace: 'demo', isTemplate: false, serviceAccountName: 'default', imagePullSecrets: [], nodeSelector: {} };

t.test('the checker in a pod asks the registry nothing for a node-loopback image, and still asks for the others', async (t) => {
  const { c, calls } = checker({ configuredRegistries: ['127.0.0.1:5001'] });
  const { findings } = await c.check(spec, targets('localhost:5000/app:1', '127.0.0.1:5001/app:1', 'registry.example.com/app:1'), Date.now() + 5000);
  t.same(findings.map((f) => f.resolution.reason), ['NodeLoopbackRegistry', 'RepositoryNotFound', 'RepositoryNotFound']);
  t.same(calls, ['127.0.0.1:5001/app:1', 'registry.example.com/app:1'], 'only the configured loopback host and the other registry were asked');
  const text = explain(findings[0]!);
  t.match(text, /node's own loopback/);
  t.match(text, /registries:/);
  t.match(text, /localhost:5000/);
});

t.test('the checker off the cluster\'s network asks the registry for a loopback image (its answer stands)', async (t) => {
  const { c, calls } = checker(undefined);
  const { findings } = await c.check(spec, targets('localhost:5000/app:1'), Date.now() + 5000);
  t.equal(findings[0]?.resolution.reason, 'RepositoryNotFound');
  t.same(calls, ['localhost:5000/app:1']);
});

t.test('server.inCluster: auto is true only for serve in a pod with the in-cluster service account; true/false win', async (t) => {
  const pod = { KUBERNETES_SERVICE_HOST: '10.96.0.1' };
  const cases: [Parameters<typeof runsInCluster>, boolean, string][] = [
    [['auto', true, pod, 'in-cluster'], true, 'serve in a pod'],
    [['auto', false, pod, 'in-cluster'], false, 'the CLI in a pod is not told'],
    [['auto', true, {}, 'in-cluster'], false, 'no KUBERNETES_SERVICE_HOST'],
    [['auto', true, pod, 'file'], false, 'serve with a kubeconfig file (off-cluster, e.g. a developer machine)'],
    [['auto', true, pod, undefined], false, 'no kubeconfig at all'],
    [[true, false, {}, undefined], true, 'explicit true, even for the CLI'],
    [[false, true, pod, 'in-cluster'], false, 'explicit false (hostNetwork)'],
  ];
  for (const [args, want, why] of cases) t.equal(runsInCluster(...args), want, why);
});

t.test('server.inCluster is auto by default and takes only auto, true or false', async (t) => {
  t.equal(DEFAULT_CONFIG.server.inCluster, 'auto');
  t.match(loadConfig({ env: {} }), { ok: true, config: { server: { inCluster: 'auto' } } });
  const dir = makeTempDir('incluster');
  writeFileSync(join(dir, 'off.yaml'), 'server:\n  inCluster: false\n');
  writeFileSync(join(dir, 'bad.yaml'), 'server:\n  inCluster: maybe\n');
  t.match(loadConfig({ file: join(dir, 'off.yaml') }), { ok: true, config: { server: { inCluster: false } } });
  t.match(loadConfig({ file: join(dir, 'bad.yaml') }), { ok: false, errors: [/inCluster: must be one of "auto", true, false/] });
});

t.test('buildRuntime carries server.inCluster to its checker and to checkers built over it (the audit in serve)', async (t) => {
  const dir = makeTempDir('incluster');
  const file = join(dir, 'registries.yaml');
  writeFileSync(file, JSON.stringify({ registries: { 'localhost:5001': { plainHTTP: true } } }));
  const config = structuredClone(DEFAULT_CONFIG);
  config.registry.configFile = file;
  config.kubernetes.enabled = false;
  const log = { info() {}, warn() {}, debug() {} };
  // As on a developer machine or a CI runner, even one that is itself a pod.
  const saved = process.env['KUBERNETES_SERVICE_HOST'];
  delete process.env['KUBERNETES_SERVICE_HOST'];
  const off = buildRuntime(config, { log, detectInCluster: true });
  if (saved !== undefined) process.env['KUBERNETES_SERVICE_HOST'] = saved;
  t.ok(off.ok && off.runtime.inCluster === undefined, 'auto without a pod: not in a cluster, even for serve');
  if (off.ok) await off.runtime.close();
  config.server.inCluster = true;
  const built = buildRuntime(config, { log });
  if (!built.ok) throw new Error(built.errors.join('\n'));
  t.same(built.runtime.inCluster, { configuredRegistries: ['localhost:5001'] });
  for (const c of [built.runtime.checker, checkerFor(config, built.runtime)]) {
    const { findings } = await c.check(spec, targets('localhost:5000/app:1'), Date.now() + 2000);
    t.equal(findings[0]?.resolution.reason, 'NodeLoopbackRegistry');
  }
  await built.runtime.close();
});
