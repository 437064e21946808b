// The webhook through fastify.inject, wired as in production against a real registry and a fake API server.
import t from 'tap';
import { containers, reviewOf, startEnv, TEMPLATE_KINDS, fixture, type Env } from './env.ts';

let env: Env;
t.before(async () => {
  env = await startEnv();
});
t.teardown(async () => {
  await env?.close();
});

interface Out {
  apiVersion: string;
  kind: string;
  response: { uid: string; allowed: boolean; status?: { code: number; reason: string; message: string }; warnings?: string[]; auditAnnotations?: Record<string, string> };
}

async function post(body: unknown, opts: { mode?: 'enforce' | 'warn'; query?: string; app?: ReturnType<Env['app']> } = {}): Promise<Out> {
  const app = opts.app ?? env.app(opts.mode ? { mode: opts.mode } : {});
  const res = await app.inject({ method: 'POST', url: `/validate${opts.query ?? '?timeout=10s'}`, payload: body as object });
  if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}: ${res.body}`);
  return res.json() as Out;
}

t.test('a Pod whose images all resolve is allowed, echoing the request uid', async (t) => {
  const review = reviewOf('Pod', { containers: containers(env.image('team/app:1.0')) });
  const out = await post(review);
  t.equal(out.apiVersion, 'admission.k8s.io/v1');
  t.equal(out.kind, 'AdmissionReview');
  t.equal(out.response.uid, (review['request'] as { uid: string }).uid);
  t.equal(out.response.allowed, true);
  t.equal(out.response.warnings, undefined);
});

t.test('every kind that makes pods is checked, and a missing tag is denied with the field path', async (t) => {
  for (const kind of ['Pod', ...TEMPLATE_KINDS]) {
    const out = await post(reviewOf(kind, { containers: containers(env.image('team/app:1.0'), env.image('team/app:1.0-typo')) }));
    t.equal(out.response.allowed, false, `${kind} denied`);
    t.equal(out.response.status?.code, 403);
    t.equal(out.response.status?.reason, 'Forbidden');
    const path = kind === 'Pod' ? 'spec' : kind === 'CronJob' ? 'spec.jobTemplate.spec.template.spec' : kind === 'PodTemplate' ? 'template.spec' : 'spec.template.spec';
    t.match(out.response.status?.message, `container "c1" (${path}.containers[1].image): image "${env.image('team/app:1.0-typo')}": TagNotFound`, kind);
    t.match(out.response.status?.message, /closest: 1\.0/, `${kind}: suggests the closest tag`);
  }
});

t.test('init, ephemeral containers and image volumes are checked too', async (t) => {
  const init = await post(reviewOf('Deployment', { initContainers: containers(env.image('team/nope:1')), containers: containers(env.image('team/app:1.0')) }));
  t.equal(init.response.allowed, false);
  t.match(init.response.status?.message, /init container "c0" \(spec\.template\.spec\.initContainers\[0\]\.image\)/);
  t.match(init.response.status?.message, /RepositoryNotFound/);

  const vol = await post(reviewOf('Pod', { containers: containers(env.image('team/app:1.0')), volumes: [{ name: 'data', image: { reference: env.image('team/app:9.9'), pullPolicy: 'IfNotPresent' } }] }));
  t.equal(vol.response.allowed, false);
  t.match(vol.response.status?.message, /image volume "data" \(spec\.volumes\[0\]\.image\.reference\)/);

  // kubectl debug: an UPDATE of the pods/ephemeralcontainers subresource adding a container.
  const base = { containers: containers(env.image('team/app:1.0')) };
  const debug = reviewOf('Pod', { ...base, ephemeralContainers: [{ name: 'debugger', image: env.image('team/app:debug') }] }, { operation: 'UPDATE', oldSpec: { ephemeralContainers: [] } });
  (debug['request'] as Record<string, unknown>)['subResource'] = 'ephemeralcontainers';
  const out = await post(debug);
  t.equal(out.response.allowed, false);
  t.match(out.response.status?.message, /ephemeral container "debugger" \(spec\.ephemeralContainers\[0\]\.image\)/);
});

t.test('on UPDATE only new images are checked: an old tag that vanished never blocks an unrelated edit', async (t) => {
  const gone = env.image('team/app:was-deleted');
  const unchanged = await post(reviewOf('Deployment', { containers: containers(gone) }, { operation: 'UPDATE', oldSpec: { containers: containers(gone) } }));
  t.equal(unchanged.response.allowed, true, 'unchanged image admitted');
  const changed = await post(reviewOf('Deployment', { containers: containers(env.image('team/app:3.0')) }, { operation: 'UPDATE', oldSpec: { containers: containers(env.image('team/app:1.0')) } }));
  t.equal(changed.response.allowed, false, 'changed image checked');
  const fine = await post(reviewOf('Deployment', { containers: containers(env.image('team/app:2.0')) }, { operation: 'UPDATE', oldSpec: { containers: containers(env.image('team/app:1.0')) } }));
  t.equal(fine.response.allowed, true);
});

t.test('the real deployment-update fixture is handled as an UPDATE with oldObject', async (t) => {
  for (const version of ['v1.20', 'v1.26'] as const) {
    const review = fixture(version, 'deployment-update');
    const spec = ((review.request.object['spec'] as Record<string, unknown>)['template'] as { spec: { containers: { image: string }[] } }).spec;
    spec.containers[0]!.image = env.image('team/app:missing');
    const out = await post(review);
    t.equal(out.response.allowed, false, version);
    t.equal(out.response.uid, review.request['uid']);
  }
});

t.test('status and scale subresources, DELETE and CONNECT are admitted untouched', async (t) => {
  const bad = { containers: containers(env.image('team/app:missing')) };
  for (const sub of ['status', 'scale']) {
    const review = reviewOf('Deployment', bad, { operation: 'UPDATE', oldSpec: { containers: containers(env.image('team/app:1.0')) } });
    (review['request'] as Record<string, unknown>)['subResource'] = sub;
    const out = await post(review);
    t.equal(out.response.allowed, true, sub);
    t.equal(out.response.warnings, undefined);
  }
  for (const op of ['DELETE', 'CONNECT']) {
    const review = reviewOf('Pod', bad);
    (review['request'] as Record<string, unknown>)['operation'] = op;
    const out = await post(review);
    t.equal(out.response.allowed, true, op);
  }
});

t.test('dry-run requests get the same answer', async (t) => {
  const out = await post(reviewOf('Pod', { containers: containers(env.image('team/app:missing')) }, { dryRun: true }));
  t.equal(out.response.allowed, false);
  for (const version of ['v1.20', 'v1.26'] as const) {
    const review = fixture(version, 'pod-dryrun');
    (review.request.object['spec'] as { containers: { image: string }[] }).containers[0]!.image = env.image('team/app:missing');
    const o = await post(review);
    t.equal(o.response.allowed, false, version);
  }
});

t.test('every real fixture parses; pods made by controllers and server-side apply are checked', async (t) => {
  for (const version of ['v1.20', 'v1.26'] as const) {
    for (const name of ['pod', 'pod-denied', 'pod-from-replicaset', 'pod-serverside-apply']) {
      const review = fixture(version, name);
      (review.request.object['spec'] as { containers: { image: string }[] }).containers[0]!.image = env.image('team/app:1.0');
      const ok = await post(review);
      t.equal(ok.response.allowed, true, `${version}/${name} allowed`);
      (review.request.object['spec'] as { containers: { image: string }[] }).containers[0]!.image = env.image('team/app:nope');
      const denied = await post(review);
      t.equal(denied.response.allowed, false, `${version}/${name} denied`);
    }
  }
});

t.test('warn mode admits, with short warnings and full audit annotations', async (t) => {
  const out = await post(reviewOf('Deployment', { containers: containers(env.image('team/app:1.0-typo'), env.image('team/app:1.0')) }), { mode: 'warn' });
  t.equal(out.response.allowed, true);
  t.equal(out.response.warnings?.length, 1);
  t.match(out.response.warnings?.[0], /^container \S+: \S+\/team\/app:1\.0-typo: TagNotFound \(would deny\): tag not found; try 1\.0/);
  t.ok(out.response.warnings!.every((w) => w.length <= 120));
  t.match(out.response.auditAnnotations?.['image-0'], /TagNotFound/);
  t.equal(out.response.auditAnnotations?.['mode'], 'warn');
});

t.test('the namespace label and the workload annotation override the mode', async (t) => {
  const bad = { containers: containers(env.image('team/app:missing')) };
  const relaxed = await post(reviewOf('Deployment', bad, { namespace: 'relaxed' }));
  t.equal(relaxed.response.allowed, true, 'namespace label warn');
  t.match(relaxed.response.warnings?.[0], /would deny/);
  const ignored = await post(reviewOf('Deployment', bad, { namespace: 'ignored' }));
  t.equal(ignored.response.allowed, true, 'namespace label off');
  t.equal(ignored.response.warnings, undefined);
  const strict = await post(reviewOf('Deployment', bad, { namespace: 'relaxed', annotations: { 'pullguard.io/mode': 'enforce' } }));
  t.equal(strict.response.allowed, false, 'annotation enforce beats namespace warn');
  const off = await post(reviewOf('Deployment', bad, { annotations: { 'pullguard.io/mode': 'off' } }));
  t.equal(off.response.allowed, true, 'annotation off');
  const typo = await post(reviewOf('Deployment', bad, { annotations: { 'pullguard.io/mode': 'enforced' } }));
  t.equal(typo.response.allowed, false, 'an invalid annotation falls back to the config');
  t.match(typo.response.warnings?.[0], /annotation pullguard\.io\/mode="enforced" is not one of/);
});

t.test('excluded images, registries and namespaces are not checked', async (t) => {
  const bad = { containers: containers(env.image('team/app:missing')) };
  const byImage = await post(reviewOf('Pod', bad), { app: env.app({ exclude: { images: [`${env.registry.host}/team/*`], registries: [], namespaces: [] } }) });
  t.equal(byImage.response.allowed, true);
  const byRegistry = await post(reviewOf('Pod', bad), { app: env.app({ exclude: { images: [], registries: [env.registry.host], namespaces: [] } }) });
  t.equal(byRegistry.response.allowed, true);
  const byNamespace = await post(reviewOf('Pod', bad), { app: env.app({ exclude: { images: [], registries: [], namespaces: ['demo'] } }) });
  t.equal(byNamespace.response.allowed, true);
});

t.test('an image no eligible node can run is denied, listing both sides; a nodeSelector narrows the nodes', async (t) => {
  const armOnly = env.image('team/arm-only:1.0');
  // containerd lets arm64 nodes run arm/v7 images, so only amd64 nodes make it a mismatch.
  const anyArch = await post(reviewOf('Deployment', { containers: containers(armOnly) }));
  t.equal(anyArch.response.allowed, true, 'an arm64 node may run arm/v7');
  const out = await post(reviewOf('Deployment', { containers: containers(armOnly), nodeSelector: { 'kubernetes.io/arch': 'amd64' } }));
  t.equal(out.response.allowed, false);
  t.match(out.response.status?.message, /ExecFormatError: .*offers linux\/arm\/v7, but the nodes this pod may land on run linux\/amd64\./);
  const amdOnly = await post(reviewOf('Deployment', { containers: containers(env.image('team/sidecar:1.0')), nodeSelector: { 'kubernetes.io/arch': 'arm64' } }));
  t.equal(amdOnly.response.allowed, false, 'amd64-only image pinned to arm64 nodes');
  const anyNode = await post(reviewOf('Deployment', { containers: containers(env.image('team/sidecar:1.0')) }));
  t.equal(anyNode.response.allowed, true, 'amd64 image, some amd64 node eligible');
});

t.test('a registry that refuses anonymous pulls (403) says so, and does not speak of accepted credentials', async (t) => {
  env.proxy.setFault((r) => (r.path.includes('/manifests/') ? { kind: 'status', status: 403, headers: { 'content-type': 'application/json' }, body: '{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}' } : { kind: 'pass' }));
  t.teardown(() => env.proxy.reset());
  const out = await post(reviewOf('Pod', { containers: containers(env.proxied('team/app:denied')) }));
  t.equal(out.response.allowed, false);
  t.match(out.response.status?.message, /AccessDenied: .*the registry refuses anonymous pulls of this repository/);
  t.match(out.response.status?.message, /Fix: the repository needs credentials: kubectl create secret docker-registry regcred/);
  t.notMatch(out.response.status?.message, /credentials were accepted/);
});

t.test('a stalled registry makes the review answer before the deadline, admitting with a warning', async (t) => {
  env.proxy.setFault({ kind: 'stall' });
  t.teardown(() => env.proxy.reset());
  const started = Date.now();
  const out = await post(reviewOf('Pod', { containers: containers(env.proxied('team/app:1.0')) }), { query: '?timeout=3s' });
  const took = Date.now() - started;
  t.equal(out.response.allowed, true);
  t.match(out.response.warnings?.[0], /RegistryTimeout|RegistryUnreachable/);
  t.ok(took < 3000, `answered within the API server's timeout (${took} ms)`);
});

// Keep this the last test through the proxy: its 429 leaves that registry backed off for the Retry-After.
t.test('registry errors and rate limits admit with a warning, never deny', async (t) => {
  t.teardown(() => env.proxy.reset());
  for (const fault of [
    { kind: 'status', status: 503 },
    { kind: 'status', status: 429, headers: { 'retry-after': '30' }, body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}' },
    { kind: 'reset' },
    { kind: 'garbage', status: 200, contentType: 'application/vnd.oci.image.index.v1+json', body: '{not json' },
  ] as const) {
    env.proxy.setFault(fault);
    const out = await post(reviewOf('Pod', { containers: containers(env.proxied(`team/app:${fault.kind}`)) }));
    t.equal(out.response.allowed, true, fault.kind);
    t.equal(out.response.warnings?.length, 1, `${fault.kind} warns`);
  }
});

t.test('the pod template\'s mode annotation counts when the workload has none', async (t) => {
  const review = reviewOf('Deployment', { containers: containers(env.image('team/app:missing')) });
  const tpl = ((review['request'] as { object: { spec: { template: { metadata: Record<string, unknown> } } } }).object.spec.template);
  tpl.metadata = { ...tpl.metadata, annotations: { 'pullguard.io/mode': 'warn' } };
  const out = await post(review);
  t.equal(out.response.allowed, true, 'template annotation warn');
  t.match(out.response.warnings?.[0], /would deny/);
});

t.test('a namespace whose mode label cannot be read is never enforced on a guess', async (t) => {
  env.api.setNamespace('blind', { 'pullguard.io/mode': 'off' });
  env.api.forbid('/api/v1/namespaces/blind');
  const out = await post(reviewOf('Pod', { containers: containers(env.image('team/app:missing')) }, { namespace: 'blind' }));
  t.equal(out.response.allowed, true);
  t.match(out.response.warnings?.[0], /namespace blind's mode label could not be read/);
  t.match(out.response.warnings?.join('\n'), /TagNotFound/, 'the problem is still said');
});

