// Pod specs of every pod-bearing kind: real AdmissionReview bodies from the API server, every container list and
// image volumes, the API server's pullPolicy default, new images on UPDATE (including kubectl debug), and hostile
// shapes that must give problems or a typed reason, never an exception.
import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import type { ImageTarget } from '../../src/verdict/finding.ts';
import { defaultPullPolicy, newImages, podSpecOf, POD_SPEC_PATHS, type PodSpecView } from '../../src/workloads/podspec.ts';

const FIXTURES = new URL('../fixtures/admission/', import.meta.url);

interface Review {
  request: { kind: { kind: string }; operation: string; object: Record<string, unknown>; oldObject?: Record<string, unknown> | null };
}

const fixtures: { file: string; review: Review }[] = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    readdirSync(new URL(`${d.name}/`, FIXTURES))
      .filter((f) => f.endsWith('.json'))
      .map((f) => ({ file: `${d.name}/${f}`, review: JSON.parse(readFileSync(new URL(`${d.name}/${f}`, FIXTURES), 'utf8')) as Review })),
  );

const view = (kind: string, object: unknown): PodSpecView => {
  const got = podSpecOf(kind, object);
  if (!got.ok) throw new Error(`expected a view: ${got.reason}`);
  return got.view;
};

const deployment = fixtures.find((f) => f.file === 'v1.26/deployment.json')?.review.request.object;
const templateSpec = (deployment?.['spec'] as { template: { spec: Record<string, unknown> } } | undefined)?.template.spec ?? {};

t.test('the captured AdmissionReview bodies', async (t) => {
  t.ok(fixtures.length >= 14, `found ${fixtures.length} fixtures`);
  for (const { file, review } of fixtures) {
    const { kind, operation, object, oldObject } = review.request;
    const got = podSpecOf(kind.kind, object);
    t.ok(got.ok, `${file}: ${kind.kind} has a pod spec`);
    if (!got.ok) continue;
    const v = got.view;
    const isPod = kind.kind === 'Pod';
    t.equal(v.basePath, isPod ? 'spec' : 'spec.template.spec', `${file}: base path`);
    t.equal(v.isTemplate, !isPod, `${file}: template or not`);
    t.equal(v.serviceAccountName, 'default', `${file}: service account`);
    t.equal(v.serviceAccountNameDefaulted, !isPod, `${file}: the ServiceAccount plugin wrote it into Pods, templates have none`);
    t.same(v.imagePullSecrets, [], `${file}: no pull secrets`);
    t.same(v.problems, [], `${file}: no problems (projected volumes are not image volumes)`);
    t.equal(v.images.length, 1, `${file}: one image`);
    const img = v.images[0];
    t.equal(img?.fieldPath, `${v.basePath}.containers[0].image`, `${file}: field path`);
    t.equal(img?.pullPolicy, 'IfNotPresent', `${file}: pull policy as written by the API server`);
    t.equal(img?.pullPolicyDefaulted, false, `${file}: the API server already defaulted it`);
    t.equal(v.toleratesUnschedulable, false, `${file}: not-ready/unreachable tolerations do not tolerate a cordon`);
    if (operation === 'UPDATE' && oldObject) {
      const old = view(kind.kind, oldObject);
      t.same(newImages(v, old).map((i) => i.image), ['nginx:1.25.3'], `${file}: the changed image is new`);
      t.same(newImages(v, v), [], `${file}: nothing is new against itself`);
    }
  }
  const pod = fixtures.find((f) => f.file === 'v1.26/pod.json');
  t.same(view('Pod', pod?.review.request.object).images, [
    { containerName: 'app', field: 'containers', image: 'nginx:1.25', fieldPath: 'spec.containers[0].image', pullPolicy: 'IfNotPresent', pullPolicyDefaulted: false },
  ]);
});

// One spec with every list, wrapped in every kind.
const fullSpec = {
  ...templateSpec,
  initContainers: [{ name: 'init', image: 'busybox:1.36' }],
  containers: [
    { name: 'app', image: 'registry.example/deny-me:2.0', imagePullPolicy: 'IfNotPresent' },
    { name: 'sidecar', image: 'envoyproxy/envoy', imagePullPolicy: 'Always' },
  ],
  ephemeralContainers: [{ name: 'debugger', image: 'nicolaka/netshoot:latest', imagePullPolicy: 'Never' }],
  volumes: [
    { name: 'config', configMap: { name: 'cm' } },
    { name: 'models', image: { reference: 'quay.io/org/models@sha256:' + 'a'.repeat(64) } },
    { name: 'data', image: { reference: 'quay.io/org/data', pullPolicy: 'IfNotPresent' } },
  ],
  imagePullSecrets: [{ name: 'regcred' }, { name: '' }, { name: 'other' }, { name: 'regcred' }],
  serviceAccountName: 'builder',
  nodeSelector: { 'kubernetes.io/arch': 'arm64' },
  nodeName: 'node-1',
  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } },
};

const wrap: Record<string, (spec: unknown) => unknown> = {
  Pod: (spec) => ({ apiVersion: 'v1', kind: 'Pod', spec }),
  Deployment: (spec) => ({ kind: 'Deployment', spec: { template: { spec } } }),
  ReplicaSet: (spec) => ({ kind: 'ReplicaSet', spec: { template: { spec } } }),
  StatefulSet: (spec) => ({ kind: 'StatefulSet', spec: { template: { spec } } }),
  DaemonSet: (spec) => ({ kind: 'DaemonSet', spec: { template: { spec } } }),
  Job: (spec) => ({ kind: 'Job', spec: { template: { spec } } }),
  ReplicationController: (spec) => ({ kind: 'ReplicationController', spec: { template: { spec } } }),
  CronJob: (spec) => ({ kind: 'CronJob', spec: { jobTemplate: { spec: { template: { spec } } } } }),
  PodTemplate: (spec) => ({ kind: 'PodTemplate', template: { spec } }),
};

t.test('every kind, with every container list and image volumes', async (t) => {
  t.same(Object.keys(wrap).sort(), Object.keys(POD_SPEC_PATHS).sort(), 'every supported kind is covered');
  const bases: Record<string, string> = {
    Pod: 'spec',
    CronJob: 'spec.jobTemplate.spec.template.spec',
    PodTemplate: 'template.spec',
  };
  for (const [kind, make] of Object.entries(wrap)) {
    const v = view(kind, make(fullSpec));
    const base = bases[kind] ?? 'spec.template.spec';
    t.equal(v.basePath, base, `${kind}: base path`);
    t.equal(v.kind, kind);
    t.equal(v.isTemplate, kind !== 'Pod', `${kind}: isTemplate`);
    t.same(v.images, [
      { containerName: 'init', field: 'initContainers', image: 'busybox:1.36', fieldPath: `${base}.initContainers[0].image`, pullPolicy: 'IfNotPresent', pullPolicyDefaulted: true },
      { containerName: 'app', field: 'containers', image: 'registry.example/deny-me:2.0', fieldPath: `${base}.containers[0].image`, pullPolicy: 'IfNotPresent', pullPolicyDefaulted: false },
      { containerName: 'sidecar', field: 'containers', image: 'envoyproxy/envoy', fieldPath: `${base}.containers[1].image`, pullPolicy: 'Always', pullPolicyDefaulted: false },
      { containerName: 'debugger', field: 'ephemeralContainers', image: 'nicolaka/netshoot:latest', fieldPath: `${base}.ephemeralContainers[0].image`, pullPolicy: 'Never', pullPolicyDefaulted: false },
      { containerName: 'models', field: 'volumes', image: 'quay.io/org/models@sha256:' + 'a'.repeat(64), fieldPath: `${base}.volumes[1].image.reference`, pullPolicy: 'IfNotPresent', pullPolicyDefaulted: true },
      { containerName: 'data', field: 'volumes', image: 'quay.io/org/data', fieldPath: `${base}.volumes[2].image.reference`, pullPolicy: 'IfNotPresent', pullPolicyDefaulted: false },
    ], `${kind}: images`);
    t.same(v.imagePullSecrets, ['regcred', 'other'], `${kind}: secrets in order, empty and repeated names dropped`);
    t.equal(v.serviceAccountName, 'builder');
    t.equal(v.serviceAccountNameDefaulted, false);
    t.same(v.nodeSelector, { 'kubernetes.io/arch': 'arm64' });
    t.equal(v.nodeName, 'node-1');
    t.same(v.affinity, fullSpec.affinity, `${kind}: raw affinity kept`);
    t.equal(v.toleratesUnschedulable, kind === 'DaemonSet', `${kind}: only DaemonSet pods tolerate cordons by default`);
    t.same(v.problems, []);
  }
});

t.test('the API server pullPolicy default', async (t) => {
  const digest = `sha256:${'b'.repeat(64)}`;
  const cases: [image: string, policy: 'Always' | 'IfNotPresent', why: string][] = [
    ['nginx', 'Always', 'no tag and no digest means latest'],
    ['nginx:latest', 'Always', 'an explicit latest tag'],
    ['docker.io/library/nginx:latest', 'Always', 'latest, fully qualified'],
    ['nginx:1.25', 'IfNotPresent', 'a fixed tag'],
    ['nginx:Latest', 'IfNotPresent', 'tags are case-sensitive'],
    [`nginx@${digest}`, 'IfNotPresent', 'a digest-only reference has no tag'],
    [`nginx:latest@${digest}`, 'Always', 'the parsed tag is still latest when a digest is written too'],
    [`nginx:1.25@${digest}`, 'IfNotPresent', 'tag and digest'],
    ['registry.example:5000/app', 'Always', 'a registry port is not a tag'],
    ['registry.example:5000/app:v2', 'IfNotPresent', 'a port and a tag'],
    ['localhost/app', 'Always', 'localhost registry, no tag'],
    ['team/UPPER', 'IfNotPresent', 'an unparsable reference gets IfNotPresent (the error is ignored)'],
    ['UPPER/case', 'Always', 'an uppercase first component is a registry host, as in distribution, so this parses'],
    ['nginx:', 'IfNotPresent', 'an empty tag does not parse'],
    ['', 'IfNotPresent', 'empty'],
  ];
  for (const [image, policy, why] of cases) t.equal(defaultPullPolicy(image), policy, `${JSON.stringify(image)}: ${why}`);

  for (const [image, policy] of cases.filter(([image]) => image !== '')) {
    const v = view('Pod', { spec: { containers: [{ name: 'c', image }], volumes: [{ name: 'v', image: { reference: image } }] } });
    t.same(v.images.map((i) => [i.pullPolicy, i.pullPolicyDefaulted]), [[policy, true], [policy, true]], `${image}: containers and image volumes default alike`);
  }
  const explicit = view('Pod', { spec: { containers: [{ name: 'a', image: 'nginx', imagePullPolicy: 'Never' }, { name: 'b', image: 'nginx:1', imagePullPolicy: 'Always' }, { name: 'c', image: 'nginx', imagePullPolicy: 'IfNotPresent' }] } });
  t.same(explicit.images.map((i) => [i.pullPolicy, i.pullPolicyDefaulted]), [['Never', false], ['Always', false], ['IfNotPresent', false]], 'a written policy is kept');
  const invalid = view('Pod', { spec: { containers: [{ name: 'a', image: 'nginx', imagePullPolicy: 'always' }, { name: 'b', image: 'nginx:1', imagePullPolicy: 3 }, { name: 'c', image: 'nginx', imagePullPolicy: '' }] } });
  t.same(invalid.images.map((i) => [i.pullPolicy, i.pullPolicyDefaulted]), [['Always', true], ['IfNotPresent', true], ['Always', true]], 'an invalid or empty policy gets the default');
  t.same(invalid.problems, ['spec.containers[0].imagePullPolicy is not Always, IfNotPresent or Never; the default applies', 'spec.containers[1].imagePullPolicy is not Always, IfNotPresent or Never; the default applies']);
});

t.test('service account, pull secrets, scheduling fields', async (t) => {
  const sa = (spec: Record<string, unknown>): [string, boolean] => {
    const v = view('Pod', { spec });
    return [v.serviceAccountName, v.serviceAccountNameDefaulted];
  };
  t.same(sa({}), ['default', true], 'none written: default');
  t.same(sa({ serviceAccountName: '' }), ['default', true], 'empty: default');
  t.same(sa({ serviceAccountName: 'ci' }), ['ci', false]);
  t.same(sa({ serviceAccount: 'legacy' }), ['legacy', false], 'the deprecated serviceAccount field is used when serviceAccountName is empty');
  t.same(sa({ serviceAccountName: 'new', serviceAccount: 'legacy' }), ['new', false], 'serviceAccountName wins');
  t.same(sa({ serviceAccountName: 7 }), ['default', true], 'a non-string name: default');

  const secrets = view('Pod', { spec: { imagePullSecrets: [{ name: 'a' }, {}, { name: 5 }, 'b', null, { name: 'c' }] } });
  t.same(secrets.imagePullSecrets, ['a', 'c']);
  t.same(secrets.problems, ['spec.imagePullSecrets[2] has no name', 'spec.imagePullSecrets[3] has no name', 'spec.imagePullSecrets[4] has no name']);
  t.same(view('Pod', { spec: { imagePullSecrets: 'regcred' } }).problems, ['spec.imagePullSecrets is not a list']);

  const sched = view('Pod', { spec: { nodeSelector: { a: 'b', n: 1, ['__proto__']: 'x' }, nodeName: '' } });
  t.same(Object.entries(sched.nodeSelector), [['a', 'b'], ['__proto__', 'x']], 'string labels kept, including odd keys, as plain entries');
  t.same(sched.problems, ['spec.nodeSelector["n"] is not a string; it is ignored']);
  t.equal(sched.nodeName, undefined, 'an empty nodeName is no nodeName');
  t.equal(sched.affinity, undefined);
  t.same(view('Pod', { spec: { nodeSelector: ['x'] } }).problems, ['spec.nodeSelector is not a map']);
});

t.test('tolerating the unschedulable (cordon) taint', async (t) => {
  const cases: [tolerations: unknown, tolerates: boolean][] = [
    [[{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }], true],
    [[{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists' }], true],
    [[{ operator: 'Exists' }], true],
    [[{ operator: 'Exists', effect: 'NoSchedule' }], true],
    [[{ key: 'node.kubernetes.io/unschedulable', operator: 'Equal', value: '' }], true],
    [[{ key: 'node.kubernetes.io/unschedulable' }], true],
    [[{ key: 'node.kubernetes.io/unschedulable', value: 'true' }], false],
    [[{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoExecute' }], false],
    [[{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }], false],
    [[{ operator: 'Exists', effect: 'NoExecute' }], false],
    [[{ key: 'node.kubernetes.io/unschedulable', operator: 'Bogus' }], false],
    [[null, 'x', 3], false],
    ['not a list', false],
    [undefined, false],
  ];
  for (const [tolerations, want] of cases) t.equal(view('Pod', { spec: { tolerations } }).toleratesUnschedulable, want, JSON.stringify(tolerations) ?? 'undefined');
});

t.test('newImages on UPDATE', async (t) => {
  const pod = (containers: unknown[], extra: Record<string, unknown> = {}): PodSpecView => view('Pod', { spec: { containers, ...extra } });
  const images = (list: ImageTarget[]): string[] => list.map((i) => `${i.field}:${i.image}`);
  const cases: [why: string, current: PodSpecView, old: PodSpecView | undefined, want: string[]][] = [
    ['CREATE: every image is new', pod([{ name: 'a', image: 'x:1' }, { name: 'b', image: 'y:1' }]), undefined, ['containers:x:1', 'containers:y:1']],
    ['an unchanged spec has nothing new', pod([{ name: 'a', image: 'x:1' }]), pod([{ name: 'a', image: 'x:1' }]), []],
    ['a changed tag is new', pod([{ name: 'a', image: 'x:2' }]), pod([{ name: 'a', image: 'x:1' }]), ['containers:x:2']],
    ['an image moved to another container is not new', pod([{ name: 'b', image: 'x:1' }]), pod([{ name: 'a', image: 'x:1' }]), []],
    ['an image moved from containers to initContainers is not new', pod([], { initContainers: [{ name: 'i', image: 'x:1' }] }), pod([{ name: 'a', image: 'x:1' }]), []],
    ['an image that was an image volume is not new', pod([{ name: 'a', image: 'x:1' }]), pod([], { volumes: [{ name: 'v', image: { reference: 'x:1' } }] }), []],
    ['an added container with a new image is new', pod([{ name: 'a', image: 'x:1' }, { name: 'b', image: 'z:1' }]), pod([{ name: 'a', image: 'x:1' }]), ['containers:z:1']],
    ['a written-differently reference is a different string, so new', pod([{ name: 'a', image: 'docker.io/library/x:1' }]), pod([{ name: 'a', image: 'x:1' }]), ['containers:docker.io/library/x:1']],
    ['Never to a pulling policy makes the image new: Never was never checked', pod([{ name: 'a', image: 'x:1', imagePullPolicy: 'IfNotPresent' }]), pod([{ name: 'a', image: 'x:1', imagePullPolicy: 'Never' }]), ['containers:x:1']],
    ['a pulling policy to Never is not new', pod([{ name: 'a', image: 'x:1', imagePullPolicy: 'Never' }]), pod([{ name: 'a', image: 'x:1', imagePullPolicy: 'Always' }]), []],
    ['IfNotPresent to Always is not new', pod([{ name: 'a', image: 'x:1', imagePullPolicy: 'Always' }]), pod([{ name: 'a', image: 'x:1', imagePullPolicy: 'IfNotPresent' }]), []],
    ['one old pulling occurrence is enough', pod([{ name: 'a', image: 'x:1', imagePullPolicy: 'Always' }]), pod([{ name: 'a', image: 'x:1', imagePullPolicy: 'Never' }, { name: 'b', image: 'x:1', imagePullPolicy: 'Always' }]), []],
    [
      'kubectl debug (pods/ephemeralcontainers): only the added debug container is new',
      pod([{ name: 'a', image: 'x:1' }], { ephemeralContainers: [{ name: 'dbg-1', image: 'busybox:1.36' }, { name: 'dbg-2', image: 'nicolaka/netshoot' }] }),
      pod([{ name: 'a', image: 'x:1' }], { ephemeralContainers: [{ name: 'dbg-1', image: 'busybox:1.36' }] }),
      ['ephemeralContainers:nicolaka/netshoot'],
    ],
    [
      'kubectl debug with an image the pod already runs adds nothing new',
      pod([{ name: 'a', image: 'x:1' }], { ephemeralContainers: [{ name: 'dbg', image: 'x:1' }] }),
      pod([{ name: 'a', image: 'x:1' }]),
      [],
    ],
  ];
  for (const [why, current, old, want] of cases) t.same(images(newImages(current, old)), want, why);
  const cur = pod([{ name: 'a', image: 'x:1' }]);
  t.not(newImages(cur, undefined), cur.images, 'a copy, not the view\'s own array');
});

t.test('objects that carry no pod spec get a typed reason', async (t) => {
  const cases: [kind: string, object: unknown, code: 'NotPodBearing' | 'NoPodSpec', reason: string][] = [
    ['Service', { spec: { ports: [] } }, 'NotPodBearing', 'kind Service does not carry a pod spec'],
    ['ConfigMap', {}, 'NotPodBearing', 'kind ConfigMap does not carry a pod spec'],
    ['', {}, 'NotPodBearing', 'kind (none) does not carry a pod spec'],
    ['pod', { spec: {} }, 'NotPodBearing', 'kind pod does not carry a pod spec'],
    ['toString', {}, 'NotPodBearing', 'kind toString does not carry a pod spec'],
    ['__proto__', {}, 'NotPodBearing', 'kind __proto__ does not carry a pod spec'],
    ['Pod', {}, 'NoPodSpec', 'Pod has no spec'],
    ['Pod', null, 'NoPodSpec', 'Pod has no spec'],
    ['Pod', { spec: 'x' }, 'NoPodSpec', 'Pod has a malformed spec'],
    ['Pod', { spec: [] }, 'NoPodSpec', 'Pod has a malformed spec'],
    ['Deployment', { spec: {} }, 'NoPodSpec', 'Deployment has no spec.template.spec'],
    ['Deployment', { spec: { template: null } }, 'NoPodSpec', 'Deployment has no spec.template.spec'],
    ['ReplicationController', { spec: { replicas: 1 } }, 'NoPodSpec', 'ReplicationController has no spec.template.spec'],
    ['CronJob', { spec: { jobTemplate: { spec: {} } } }, 'NoPodSpec', 'CronJob has no spec.jobTemplate.spec.template.spec'],
    ['PodTemplate', { template: { spec: 5 } }, 'NoPodSpec', 'PodTemplate has a malformed template.spec'],
    ['Job', 'a string', 'NoPodSpec', 'Job has no spec.template.spec'],
  ];
  for (const [kind, object, code, reason] of cases) t.same(podSpecOf(kind, object), { ok: false, code, reason }, `${kind || '(empty)'}: ${reason}`);
  t.same(podSpecOf(undefined as unknown as string, {}), { ok: false, code: 'NotPodBearing', reason: 'kind (none) does not carry a pod spec' });
});

t.test('malformed parts of a pod spec become problems', async (t) => {
  const cases: [why: string, spec: Record<string, unknown>, images: string[], problems: string[]][] = [
    ['an empty spec has no images', {}, [], []],
    ['containers not a list', { containers: { name: 'a', image: 'x' } }, [], ['spec.containers is not a list']],
    ['containers null', { containers: null }, [], []],
    ['a container that is not an object', { containers: [null, 'x', [], { name: 'ok', image: 'x:1' }] }, ['x:1'], ['spec.containers[0] is not an object', 'spec.containers[1] is not an object', 'spec.containers[2] is not an object']],
    ['an image that is not a string', { containers: [{ name: 'a', image: 42 }, { name: 'b', image: { ref: 'x' } }] }, [], ['spec.containers[0].image is not a string', 'spec.containers[1].image is not a string']],
    ['a container without image (allowed in templates, filled in later)', { initContainers: [{ name: 'a' }, { name: 'b', image: '' }] }, [], ['spec.initContainers[0] has no image', 'spec.initContainers[1] has no image']],
    ['a container without a name keeps its image', { containers: [{ image: 'x:1' }] }, ['x:1'], []],
    ['ephemeralContainers not a list', { ephemeralContainers: 'dbg' }, [], ['spec.ephemeralContainers is not a list']],
    ['volumes not a list', { volumes: {} }, [], ['spec.volumes is not a list']],
    ['a volume that is not an object', { volumes: [7] }, [], ['spec.volumes[0] is not an object']],
    ['an image volume source that is not an object', { volumes: [{ name: 'v', image: 'x:1' }] }, [], ['spec.volumes[0].image is not an object']],
    ['an image volume without reference', { volumes: [{ name: 'v', image: {} }, { name: 'w', image: { reference: 3 } }] }, [], ['spec.volumes[0].image has no reference', 'spec.volumes[1].image.reference is not a string']],
    ['an image volume with null image is not an image volume', { volumes: [{ name: 'v', image: null, emptyDir: {} }] }, [], []],
    ['a very long image string is kept as written', { containers: [{ name: 'a', image: 'x'.repeat(5000) }] }, ['x'.repeat(5000)], []],
  ];
  for (const [why, spec, images, problems] of cases) {
    const v = view('Pod', { spec });
    t.same(v.images.map((i) => i.image), images, `${why}: images`);
    t.same(v.problems, problems, `${why}: problems`);
  }
  const nameless = view('Pod', { spec: { containers: [{ image: 'x:1', name: 5 }] } });
  t.equal(nameless.images[0]?.containerName, '', 'a missing or non-string name is empty');
  const deep = { spec: { containers: [{ name: 'a', image: 'x:1', env: Array.from({ length: 1000 }, () => ({ name: 'E', value: 'v' })) }] } };
  t.equal(view('Pod', deep).images.length, 1, 'unrelated fields are not read');
});
