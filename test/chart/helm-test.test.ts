// `helm test` catches a webhook the API server cannot reach: the chart renders a test Pod (on pullguard's own image)
// that sends a dry-run Pod with a missing tag through the API server, and its script passes only when pullguard's
// denial or warning comes back. The script is run here against a local HTTPS server answering as the API server
// would in each case.
import type { V1Deployment, V1Pod, V1Role, V1RoleBinding, V1Service } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { makeTempDir } from '../harness/lifecycle.ts';
import { makeTestPki } from '../harness/pki.ts';
import { chartDir } from './helm.ts';
import { namespace, template, testCA, type Rendered } from './render.ts';

const script = readFileSync(join(chartDir, 'files/helm-test.mjs'), 'utf8');
const hooks = (r: Rendered) => r.docs.filter((d) => d.metadata.annotations?.['helm.sh/hook'] === 'test');

t.test('the test hook is a Pod on pullguard’s own image running the chart’s script', async (t) => {
  const r = template({}, { tests: true });
  const pod = r.one<V1Pod>('Pod');
  t.equal(pod.metadata?.annotations?.['helm.sh/hook'], 'test');
  const c = pod.spec?.containers[0];
  t.equal(c?.image, r.one<V1Deployment>('Deployment').spec?.template.spec?.containers[0]?.image, 'nothing else to pull');
  t.same(c?.command?.slice(0, 3), ['/nodejs/bin/node', '--input-type=module', '-e']);
  t.equal(c?.command?.[3], script, 'files/helm-test.mjs, verbatim');
  const env = Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value]));
  t.same(env, {
    PROBE_NAMESPACE: 'default',
    PROBE_IMAGE: 'docker.io/library/nginx:lates',
    WEBHOOK_NAME: 'images.pullguard.io',
    TOKEN_FILE: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    NODE_EXTRA_CA_CERTS: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
  });
  t.equal(pod.spec?.restartPolicy, 'Never');
  t.equal(pod.spec?.securityContext?.runAsNonRoot, true);
  t.equal(c?.securityContext?.readOnlyRootFilesystem, true);
  t.equal(pod.metadata?.namespace, namespace);
});

t.test('its ServiceAccount may only create Pods, and only in tests.namespace', async (t) => {
  const r = template({ tests: { namespace: 'smoke' } }, { tests: true });
  const pod = r.one<V1Pod>('Pod');
  const account = pod.spec?.serviceAccountName;
  t.ok(r.one('ServiceAccount', account), 'a ServiceAccount of its own');
  const role = r.one<V1Role>('Role', account);
  t.equal(role.metadata?.namespace, 'smoke');
  t.same(role.rules, [{ apiGroups: [''], resources: ['pods'], verbs: ['create'] }]);
  const binding = r.one<V1RoleBinding>('RoleBinding', account);
  t.equal(binding.metadata?.namespace, 'smoke');
  t.same(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: account });
  t.same(binding.subjects, [{ kind: 'ServiceAccount', name: account, namespace }]);
  t.equal(pod.spec?.containers[0]?.env?.find((e) => e.name === 'PROBE_NAMESPACE')?.value, 'smoke');
});

t.test('the RBAC exists before the Pod runs, and every hook is cleaned up after success', async (t) => {
  const all = hooks(template({}, { tests: true }));
  t.same(all.map((d) => d.kind).sort(), ['Pod', 'Role', 'RoleBinding', 'ServiceAccount']);
  for (const d of all) t.equal(d.metadata.labels?.['app.kubernetes.io/instance'], 'rel', `${d.kind} carries the release labels`);
  t.same(hooks(template()), [], 'not part of what install and upgrade apply');
  const weight = (kind: string) => Number(all.find((d) => d.kind === kind)?.metadata.annotations?.['helm.sh/hook-weight'] ?? 0);
  for (const kind of ['ServiceAccount', 'Role', 'RoleBinding']) t.ok(weight(kind) < weight('Pod'), `${kind} first`);
  for (const d of all) t.match(d.metadata.annotations?.['helm.sh/hook-delete-policy'], /before-hook-creation,hook-succeeded/, d.kind);
});

t.test('the probe image and webhook name follow the values, and tests.enabled=false renders no hook', async (t) => {
  const pod = template({ tests: { probeImage: 'registry.example.com/app:missing' }, webhook: { name: 'pull.example.com' } }, { tests: true }).one<V1Pod>('Pod');
  const env = Object.fromEntries((pod.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
  t.equal(env['PROBE_IMAGE'], 'registry.example.com/app:missing');
  t.equal(env['WEBHOOK_NAME'], 'pull.example.com');
  t.same(hooks(template({ tests: { enabled: false } }, { tests: true })), []);
});

t.test('an external webhook is tested the same way (the API server calls webhook.url)', async (t) => {
  const r = template({ webhook: { external: true, url: 'https://10.0.0.5:8443/validate' }, tls: { caBundle: testCA } }, { tests: true });
  t.notOk(r.has('Deployment'));
  t.equal(hooks(r).filter((d) => d.kind === 'Pod').length, 1);
});

interface Seen {
  method?: string;
  url?: string;
  authorization?: string;
  body?: { metadata?: { namespace?: string }; spec?: { containers?: { image?: string }[] } };
}

type Answer = (res: ServerResponse) => void;

/** Runs the test script against an HTTPS "API server" answering with `answer`. */
async function runScript(answer: Answer | 'unreachable'): Promise<{ code: number | null; out: string; seen: Seen }> {
  const pki = await makeTestPki();
  const dir = makeTempDir('helm-test');
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'the-token\n');
  const seen: Seen = {};
  const server = createServer({ cert: pki.certPem, key: pki.keyPem }, (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      Object.assign(seen, { method: req.method, url: req.url, authorization: req.headers.authorization, body: JSON.parse(body) as Seen['body'] });
      if (answer !== 'unreachable') answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  if (answer === 'unreachable') await new Promise((resolve) => server.close(resolve));
  try {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        PATH: process.env['PATH'] ?? '',
        KUBERNETES_SERVICE_HOST: '127.0.0.1',
        KUBERNETES_SERVICE_PORT: String(port),
        PROBE_NAMESPACE: 'default',
        PROBE_IMAGE: 'docker.io/library/nginx:lates',
        WEBHOOK_NAME: 'images.pullguard.io',
        TOKEN_FILE: tokenFile,
        NODE_EXTRA_CA_CERTS: pki.caFile,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, out, seen };
  } finally {
    server.close();
  }
}

const status = (res: ServerResponse, code: number, message: string, headers: Record<string, string> = {}) => {
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ kind: code < 300 ? 'Pod' : 'Status', apiVersion: 'v1', message }));
};

t.test('the script sends a dry-run create of the probe Pod with the ServiceAccount token', async (t) => {
  const { seen } = await runScript((res) => status(res, 201, ''));
  t.equal(seen.method, 'POST');
  t.equal(seen.url, '/api/v1/namespaces/default/pods?dryRun=All', 'a server-side dry run: nothing is created');
  t.equal(seen.authorization, 'Bearer the-token');
  t.equal(seen.body?.metadata?.namespace, 'default');
  t.equal(seen.body?.spec?.containers?.[0]?.image, 'docker.io/library/nginx:lates');
});

const cases: Record<string, [Answer | 'unreachable', number, RegExp]> = {
  'passes on pullguard’s denial (enforce mode)': [
    (res) => status(res, 403, 'admission webhook "images.pullguard.io" denied the request: pullguard: 1 image cannot be pulled: ...'),
    0,
    /PASS: pullguard denied it/,
  ],
  'passes on pullguard’s warning (warn mode, or the registry could not be checked)': [
    (res) => status(res, 201, '', { warning: '299 - "pullguard: container \\"probe\\": image \\"docker.io/library/nginx:lates\\": TagNotFound"' }),
    0,
    /PASS: admitted with pullguard's warning/,
  ],
  'fails when the Pod is admitted in silence (webhook not called, failurePolicy Ignore)': [
    (res) => status(res, 201, ''),
    1,
    /FAIL: the API server admitted docker\.io\/library\/nginx:lates without a word from pullguard[\s\S]*caBundle/,
  ],
  'fails when another webhook denied it': [
    (res) => status(res, 403, 'admission webhook "policy.example.com" denied the request: no'),
    1,
    /FAIL: the API server answered 403: admission webhook "policy\.example\.com"/,
  ],
  'fails when the API server could not call pullguard (failurePolicy Fail)': [
    (res) => status(res, 500, 'Internal error occurred: failed calling webhook "images.pullguard.io": x509: certificate signed by unknown authority'),
    1,
    /FAIL: the API server answered 500: .*failed calling webhook/,
  ],
  'fails when its Role is missing': [(res) => status(res, 403, 'pods is forbidden: User "system:serviceaccount:x:y" cannot create resource "pods"'), 1, /FAIL: the API server answered 403: pods is forbidden/],
  'fails when the API server cannot be reached': ['unreachable', 1, /FAIL: the API server at https:\/\/127\.0\.0\.1:\d+ could not be reached/],
};

for (const [name, [answer, code, output]] of Object.entries(cases)) {
  t.test(`the script ${name}`, async (t) => {
    const run = await runScript(answer);
    t.equal(run.code, code, run.out);
    t.match(run.out, output);
  });
}

t.test('readiness gates the Service, so `helm install --wait` waits for a pod that can answer reviews', async (t) => {
  const r = template();
  const d = r.one<V1Deployment>('Deployment');
  const c = d.spec?.template.spec?.containers[0];
  t.match(c?.readinessProbe, { httpGet: { path: '/readyz', port: 'metrics' } }, 'readiness is pullguard’s own /readyz');
  const service = r.one<V1Service>('Service');
  t.notOk(service.spec?.publishNotReadyAddresses, 'unready pods get no reviews');
  t.same(service.spec?.selector, d.spec?.selector?.matchLabels, 'the Service selects exactly the Deployment’s pods');
  t.equal(d.spec?.strategy?.rollingUpdate?.maxUnavailable, 0, 'a rollout never takes a ready pod away before its replacement is ready');
});
