// The checker's orchestration with a stub registry and a stub cluster: the review deadline, one registry question
// per distinct image, exclusions, invalid references, which pull secrets are read (pod, ServiceAccount), the order
// of credentials handed to the registry, eligible platforms, pullPolicy Never, and when an auth failure becomes
// SecretsUnreadable.
import t from 'tap';
import type { ClusterReader, DockerSecret, Lookup, NodeInfo } from '../../src/cluster/types.ts';
import type { CredentialEntry } from '../../src/credentials/dockerconfig.ts';
import type { Reference } from '../../src/reference/reference.ts';
import { withResolutionCache, type ResolveOptions } from '../../src/registry/index.ts';
import { resolution, type RegistryOutcome, type Resolution } from '../../src/registry/resolution.ts';
import type { ReasonCode } from '../../src/verdict/reasons.ts';
import { type CheckerOptions, type PodPullSpec } from '../../src/verdict/check.ts';
import { stubChecker } from './stub-checker.ts';
import type { ImageTarget } from '../../src/verdict/finding.ts';
import { podSpecOf } from '../../src/workloads/podspec.ts';

interface Call {
  ref: Reference;
  opts: ResolveOptions;
}

/** A registry whose answer for each call is `answer(ref)`; every call is recorded. */
function stubRegistry(answer: (ref: Reference, opts: ResolveOptions) => Promise<Resolution> | Resolution = (ref) => resolution('Resolved', ref.canonical, { reference: ref.canonical })) {
  const calls: Call[] = [];
  return {
    calls,
    resolve(ref: Reference, opts: ResolveOptions): Promise<Resolution> {
      calls.push({ ref, opts });
      return Promise.resolve(answer(ref, opts));
    },
  };
}

const json = (auths: Record<string, { username: string; password: string }>): Buffer =>
  Buffer.from(JSON.stringify({ auths: Object.fromEntries(Object.entries(auths).map(([k, u]) => [k, { auth: Buffer.from(`${u.username}:${u.password}`).toString('base64') }])) }));

function secret(namespace: string, name: string, auths: Record<string, { username: string; password: string }>): Lookup<DockerSecret> {
  return { found: true, value: { namespace, name, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': json(auths) } } };
}

/** A cluster with these secrets and service accounts (by `ns/name`); `pending` lookups never answer. */
function stubCluster(opts: { secrets?: Record<string, Lookup<DockerSecret> | 'pending'>; serviceAccounts?: Record<string, Lookup<string[]> | 'pending'>; nodes?: NodeInfo[] | 'pending'; connected?: boolean } = {}) {
  const calls: string[] = [];
  const never = new Promise<never>(() => {});
  const notFound = { found: false, reason: 'NotFound', message: 'not found' } as const;
  const cluster: ClusterReader & { calls: string[] } = {
    calls,
    connected: opts.connected ?? true,
    getSecret(ns, name) {
      calls.push(`secret ${ns}/${name}`);
      const v = opts.secrets?.[`${ns}/${name}`] ?? notFound;
      return v === 'pending' ? never : Promise.resolve(v);
    },
    getServiceAccountPullSecrets(ns, name) {
      calls.push(`serviceaccount ${ns}/${name}`);
      const v = opts.serviceAccounts?.[`${ns}/${name}`] ?? notFound;
      return v === 'pending' ? never : Promise.resolve(v);
    },
    listNodes() {
      calls.push('nodes');
      return opts.nodes === 'pending' ? never : Promise.resolve(opts.nodes ?? []);
    },
    getNamespaceLabels: () => Promise.resolve(notFound),
    close: () => Promise.resolve(),
  };
  return cluster;
}

function node(name: string, architecture: string, extra: Partial<NodeInfo> = {}): NodeInfo {
  return { name, labels: { 'kubernetes.io/arch': architecture, 'kubernetes.io/os': 'linux' }, platform: { os: 'linux', architecture }, images: [], ...extra };
}

const checker = stubChecker;

function spec(over: Partial<PodPullSpec> = {}): PodPullSpec {
  return { namespace: 'demo', isTemplate: false, serviceAccountName: 'default', imagePullSecrets: [], nodeSelector: {}, ...over };
}

function targets(...images: (string | [string, ImageTarget['pullPolicy']])[]): ImageTarget[] {
  return images.map((entry, i) => {
    const [image, pullPolicy] = typeof entry === 'string' ? [entry, 'IfNotPresent' as const] : entry;
    return { containerName: `c${i}`, field: 'containers', image, fieldPath: `spec.containers[${i}].image`, pullPolicy, pullPolicyDefaulted: false };
  });
}

const soon = (ms = 8000): number => Date.now() + ms;

t.test('a registry that does not answer before the deadline gives RegistryTimeout, in time', async (t) => {
  const registry = stubRegistry(() => new Promise<Resolution>(() => {}));
  const c = checker(registry, stubCluster());
  const started = Date.now();
  const { findings } = await c.check(spec(), targets('registry.example/app:1'), Date.now() + 300);
  const took = Date.now() - started;
  t.equal(findings[0]?.resolution.reason, 'RegistryTimeout');
  t.equal(findings[0]?.resolution.verdict, 'unknown');
  t.equal(findings[0]?.resolution.reference, 'registry.example/app:1');
  t.match(findings[0]?.resolution.detail, 'the review deadline was reached before the registry answered');
  t.ok(took >= 290 && took < 3000, `answered at the deadline, not when the registry answers (never) (${took} ms)`);
  t.same(registry.calls[0]?.opts.deadline !== undefined, true, 'the registry gets the deadline too');

  const late = await c.check(spec(), targets('registry.example/app:1'), Date.now() - 1);
  t.equal(late.findings[0]?.resolution.reason, 'RegistryTimeout', 'a deadline already past');
});

t.test('an API server that does not answer gets half the time left; its secrets count as unreadable', async (t) => {
  const registry = stubRegistry((ref) => resolution('AuthRequired', ref.canonical, { reference: ref.canonical, status: 401 }));
  const cluster = stubCluster({ secrets: { 'demo/regcred': 'pending' }, nodes: 'pending' });
  const c = checker(registry, cluster, { fallbackPlatforms: [{ os: 'linux', architecture: 'amd64' }] });
  const started = Date.now();
  const { findings } = await c.check(spec({ imagePullSecrets: ['regcred'] }), targets('registry.example/app:1'), Date.now() + 1000);
  const took = Date.now() - started;
  t.ok(took >= 450 && took < 3000, `cluster reads cut at about half the time, then the registry asked (${took} ms)`);
  const f = findings[0]!;
  t.equal(f.resolution.reason, 'SecretsUnreadable');
  t.same(f.secrets, [{ name: 'regcred', namespace: 'demo', from: 'pod', status: 'Unavailable', message: 'the API server did not answer in time reading secret demo/regcred' }]);
  t.match(f.resolution.detail, 'regcred: the API server did not answer in time reading secret demo/regcred');
  t.equal(f.platformSource, 'any', 'nodes unknown in time on a connected cluster: any platform, not the (possibly narrower) fallback');
  t.equal(registry.calls.length, 1, 'the registry was still asked');

  const saCluster = stubCluster({ serviceAccounts: { 'demo/builder': 'pending' } });
  const tpl = await checker(registry, saCluster).check(spec({ isTemplate: true, serviceAccountName: 'builder' }), targets('registry.example/app:1'), Date.now() + 1000);
  t.equal(tpl.findings[0]?.resolution.reason, 'SecretsUnreadable', 'a ServiceAccount that does not answer');
  t.match(tpl.findings[0]?.secrets[0]?.message, 'service account demo/builder');
});

t.test('identical images in one review are resolved once; each finding keeps the image as written', async (t) => {
  const registry = stubRegistry();
  const c = checker(registry, stubCluster());
  const { findings } = await c.check(spec(), targets('nginx', 'docker.io/library/nginx:latest', 'index.docker.io/library/nginx', 'nginx:1.27', 'nginx:latest'), soon());
  t.equal(registry.calls.length, 2, 'nginx:latest and nginx:1.27');
  t.same(registry.calls.map((c) => c.ref.canonical), ['docker.io/library/nginx:latest', 'docker.io/library/nginx:1.27']);
  t.same(findings.map((f) => f.resolution.image), ['nginx', 'docker.io/library/nginx:latest', 'index.docker.io/library/nginx', 'nginx:1.27', 'nginx:latest']);
  t.same(findings.map((f) => f.target.containerName), ['c0', 'c1', 'c2', 'c3', 'c4']);
  t.ok(findings.every((f) => f.resolution.reason === 'Resolved'));
});

t.test('excluded images and registries are listed apart and never resolved', async (t) => {
  const registry = stubRegistry();
  const cluster = stubCluster();
  const c = checker(registry, cluster, { excludeImages: ['*:latest', 'registry.k8s.io/*'], excludeRegistries: ['*.internal.example'] });
  const { findings, excluded } = await c.check(spec({ imagePullSecrets: ['regcred'] }), targets('nginx', 'registry.k8s.io/pause:3.9', 'repo.internal.example/app:1', 'quay.io/app:1'), soon());
  t.same(excluded.map((e) => e.image), ['nginx', 'registry.k8s.io/pause:3.9', 'repo.internal.example/app:1'], 'the written image and its normalised form (nginx → …:latest) are both matched');
  t.same(findings.map((f) => f.resolution.image), ['quay.io/app:1']);
  t.same(registry.calls.map((c) => c.ref.canonical), ['quay.io/app:1']);

  const none = stubCluster();
  const all = await checker(registry, none, { excludeImages: ['*'] }).check(spec({ imagePullSecrets: ['regcred'] }), targets('a:1', 'b:2'), soon());
  t.same(all.findings, []);
  t.equal(all.excluded.length, 2);
  t.same(none.calls, [], 'nothing excluded-only reads secrets or nodes');
});

t.test('an invalid reference is denied as InvalidReference with the parser\'s reason, without asking the registry', async (t) => {
  const registry = stubRegistry();
  const c = checker(registry, stubCluster());
  const { findings } = await c.check(spec(), targets('Nginx:1', 'nginx:', `app@sha256:${'z'.repeat(64)}`, 'ok:1'), soon());
  t.same(findings.slice(0, 3).map((f) => [f.resolution.reason, f.resolution.verdict]), [['InvalidReference', 'deny'], ['InvalidReference', 'deny'], ['InvalidReference', 'deny']]);
  for (const f of findings.slice(0, 3)) {
    t.ok(f.resolution.detail && f.resolution.detail.length > 0, `${f.resolution.image}: ${f.resolution.detail}`);
    t.equal(f.resolution.reference, undefined);
  }
  t.equal(findings[3]?.resolution.reason, 'Resolved');
  t.same(registry.calls.map((c) => c.ref.canonical), ['docker.io/library/ok:1']);
});

t.test('a template without pull secrets reads its ServiceAccount\'s; a Pod, or a template with its own, does not', async (t) => {
  const secrets = { 'demo/sa-cred': secret('demo', 'sa-cred', { 'registry.example': { username: 'sa', password: 'p' } }), 'demo/own': secret('demo', 'own', { 'registry.example': { username: 'own', password: 'p' } }) };
  const serviceAccounts: Record<string, Lookup<string[]>> = { 'demo/default': { found: true, value: ['sa-cred'] }, 'demo/builder': { found: true, value: ['sa-cred', 'sa-cred'] } };
  const image = targets('registry.example/app:1');
  const cases: [string, Partial<PodPullSpec>, Partial<CheckerOptions>, string[], string[]][] = [
    ['template, default ServiceAccount', { isTemplate: true }, {}, ['serviceaccount demo/default', 'secret demo/sa-cred'], ['sa']],
    ['template, named ServiceAccount (listed twice, read once)', { isTemplate: true, serviceAccountName: 'builder' }, {}, ['serviceaccount demo/builder', 'secret demo/sa-cred'], ['sa']],
    ['template with its own list', { isTemplate: true, imagePullSecrets: ['own'] }, {}, ['secret demo/own'], ['own']],
    ['Pod', { isTemplate: false }, {}, [], []],
    ['template, serviceAccountSecrets off', { isTemplate: true }, { serviceAccountSecrets: false }, [], []],
  ];
  for (const [name, s, o, reads, users] of cases) {
    const cluster = stubCluster({ secrets, serviceAccounts });
    const registry = stubRegistry();
    const { findings } = await checker(registry, cluster, o).check(spec(s), image, soon());
    t.same(cluster.calls.filter((c) => c !== 'nodes'), reads, `${name}: reads`);
    t.same(registry.calls[0]?.opts.credentials.map((c) => c.username), users, `${name}: credentials`);
    t.same(findings[0]?.secrets.map((n) => n.from), reads.filter((r) => r.startsWith('secret')).map(() => (s.imagePullSecrets?.length ? 'pod' : 'serviceAccount')), `${name}: where the secrets came from`);
  }
});

t.test('limits.pullSecretsPerReview: a pod listing exactly the limit has every secret read; one more is left unread and said so', async (t) => {
  const names = (n: number) => Array.from({ length: n }, (_, i) => `s${i}`);
  const cases: [string, number | undefined, number, number][] = [
    // name, limit (undefined: the default), secrets listed, secrets read
    ['the default, at the boundary', undefined, 32, 32],
    ['the default, one beyond', undefined, 33, 32],
    ['a configured limit, at the boundary', 3, 3, 3],
    ['a configured limit, one beyond', 3, 4, 3],
  ];
  for (const [name, limit, listed, read] of cases) {
    const cluster = stubCluster({ secrets: Object.fromEntries(names(listed).map((n) => [`demo/${n}`, secret('demo', n, { 'other.example': { username: n, password: 'p' } })])) });
    const registry = stubRegistry(() => resolution('AuthRequired', 'registry.example/app:1', { reference: 'registry.example/app:1' }));
    const { findings } = await checker(registry, cluster, limit === undefined ? {} : { pullSecretsPerReview: limit }).check(spec({ imagePullSecrets: names(listed) }), targets('registry.example/app:1'), soon());
    t.same(cluster.calls.filter((c) => c.startsWith('secret')), names(read).map((n) => `secret demo/${n}`), `${name}: the first ${read} are read`);
    const unread = findings[0]?.secrets.filter((n) => n.status !== 'ok') ?? [];
    if (listed === read) {
      t.same(unread, [], `${name}: none left unread`);
      t.equal(findings[0]?.resolution.reason, 'AuthRequired', `${name}: an auth failure stands`);
    } else {
      t.same(unread, [{ name: `${listed - read} more pull secrets`, namespace: 'demo', from: 'pod', status: 'Unavailable', message: `not read: pullguard reads at most ${read} pull secrets per pod (limits.pullSecretsPerReview)` }], `${name}: the rest named`);
      t.equal(findings[0]?.resolution.reason, 'SecretsUnreadable', `${name}: an auth failure is unknown`);
    }
  }
});

t.test('credentials reach the registry in the kubelet\'s order: all pod secrets by key, then node credentials', async (t) => {
  const secrets = {
    'demo/first': secret('demo', 'first', { 'registry.example': { username: 'host-key', password: 'p' } }),
    'demo/second': secret('demo', 'second', { 'registry.example/team': { username: 'path-key', password: 'p' }, 'other.example': { username: 'other', password: 'p' } }),
  };
  const nodeCredentials: CredentialEntry[] = [
    { key: 'registry.example/team/app', source: 'docker-config /var/lib/kubelet/config.json', username: 'node', password: 'p' },
    { key: 'registry.example', source: 'docker-config /var/lib/kubelet/config.json', username: 'host-key', password: 'p' },
  ];
  const registry = stubRegistry();
  await checker(registry, stubCluster({ secrets }), { nodeCredentials }).check(spec({ imagePullSecrets: ['first', 'second'] }), targets('registry.example/team/app:1'), soon());
  t.same(
    registry.calls[0]?.opts.credentials.map((c) => `${c.username} ${c.source}`),
    ['path-key secret demo/second', 'host-key secret demo/first', 'node docker-config /var/lib/kubelet/config.json'],
    'most specific pod key first, then the node\'s; a duplicate of a pod credential is dropped',
  );
});

t.test('a pod without pull secrets gets the node credentials alone, review after review; one with secrets gets both', async (t) => {
  const nodeCredentials: CredentialEntry[] = [
    { key: 'registry.example/team', source: 'docker-config /var/lib/kubelet/config.json', username: 'node-team', password: 'p' },
    { key: 'registry.example', source: 'docker-config /var/lib/kubelet/config.json', username: 'node', password: 'p' },
  ];
  const registry = stubRegistry();
  const c = checker(registry, stubCluster({ secrets: { 'demo/s': secret('demo', 's', { 'registry.example': { username: 'pod', password: 'p' } }) } }), { nodeCredentials });
  await c.check(spec(), targets('registry.example/team/app:1'), soon());
  await c.check(spec({ imagePullSecrets: ['s'] }), targets('registry.example/team/app:1'), soon());
  await c.check(spec(), targets('registry.example/team/app:1', 'other.example/app:1'), soon());
  t.same(registry.calls.map((call) => `${call.ref.registry}: ${call.opts.credentials.map((cr) => cr.username).join(',')}`), [
    'registry.example: node-team,node',
    'registry.example: pod,node-team,node',
    'registry.example: node-team,node',
    'other.example: ',
  ]);
});

t.test('nodeCredentials is set for registries (and paths) in nodeCredentialRegistries', async (t) => {
  const registry = stubRegistry();
  const c = checker(registry, stubCluster(), { nodeCredentialRegistries: ['*.dkr.ecr.*.amazonaws.com', 'registry.example/team'] });
  await c.check(spec(), targets('123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1', 'registry.example/team/app:1', 'registry.example/other/app:1', 'nginx:1'), soon());
  t.same(registry.calls.map((c) => [c.ref.canonical, c.opts.nodeCredentials]), [
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1', true],
    ['registry.example/team/app:1', true],
    ['registry.example/other/app:1', false],
    ['docker.io/library/nginx:1', false],
  ]);
});

t.test('candidate platforms: eligible nodes\' platforms, else the configured fallback, else any', async (t) => {
  const nodes = [node('a', 'amd64', { labels: { pool: 'x86' } }), node('b', 'arm64', { labels: { pool: 'arm' } }), node('c', 'arm64', { labels: { pool: 'arm' } })];
  const fallback = [{ os: 'linux', architecture: 's390x' }];
  const cases: [string, ClusterReader, Partial<CheckerOptions>, Partial<PodPullSpec>, string[], string][] = [
    ['all nodes, distinct', stubCluster({ nodes }), {}, {}, ['amd64', 'arm64'], 'nodes'],
    ['nodeSelector', stubCluster({ nodes }), {}, { nodeSelector: { pool: 'arm' } }, ['arm64'], 'nodes'],
    ['no node matches', stubCluster({ nodes }), { fallbackPlatforms: fallback }, { nodeSelector: { pool: 'none' } }, [], 'any'],
    ['no inventory', stubCluster({ nodes: [] }), { fallbackPlatforms: fallback }, {}, ['s390x'], 'config'],
    ['not connected', stubCluster({ nodes, connected: false }), { fallbackPlatforms: fallback }, {}, ['s390x'], 'config'],
    ['fromNodes off', stubCluster({ nodes }), { platformsFromNodes: false }, {}, [], 'any'],
  ];
  for (const [name, cluster, o, s, archs, source] of cases) {
    const registry = stubRegistry();
    const { findings } = await checker(registry, cluster, o).check(spec(s), targets('app:1'), soon());
    t.same(registry.calls[0]?.opts.platforms.map((p) => p.architecture), archs, name);
    t.equal(findings[0]?.platformSource, source, `${name}: source`);
    t.same(findings[0]?.eligiblePlatforms.map((p) => p.architecture), archs, `${name}: in the finding`);
  }
});

t.test('pullPolicy Never is never resolved; it says which eligible nodes report the image', async (t) => {
  const digest = `sha256:${'b'.repeat(64)}`;
  const nodes = [
    node('a', 'amd64', { images: ['docker.io/library/nginx:1.27', `docker.io/library/redis@${digest}`] }),
    node('b', 'amd64', { images: ['docker.io/library/nginx:1.27'] }),
    node('c', 'arm64', { labels: { pool: 'arm' }, images: ['docker.io/library/nginx:1.27'] }),
  ];
  const registry = stubRegistry();
  const c = checker(registry, stubCluster({ nodes }));
  const { findings } = await c.check(spec({ nodeSelector: { 'kubernetes.io/arch': 'amd64' } }), targets(['nginx:1.27', 'Never'], [`redis@${digest}`, 'Never'], ['busybox', 'Never']), soon());
  t.same(registry.calls, []);
  t.same(findings.map((f) => [f.resolution.reason, f.resolution.verdict, f.nodesWithImage, f.eligibleNodeCount]), [
    ['NeverPull', 'unknown', ['a', 'b'], 2],
    ['NeverPull', 'unknown', ['a'], 2],
    ['NeverPull', 'unknown', [], 2],
  ]);
  const blind = await checker(registry, stubCluster({ connected: false })).check(spec(), targets(['nginx:1.27', 'Never']), soon());
  t.equal(blind.findings[0]?.nodesWithImage, undefined, 'without nodes, nothing is claimed');
  t.equal(blind.findings[0]?.eligibleNodeCount, undefined);
});

t.test('an empty pull policy is defaulted as the API server does, and a defaulted policy always pulls', async (t) => {
  const pod = { spec: { containers: [
    { name: 'a', image: 'nginx' },
    { name: 'b', image: 'nginx:latest' },
    { name: 'c', image: 'nginx:1.27' },
    { name: 'd', image: `nginx@sha256:${'c'.repeat(64)}` },
    { name: 'e', image: 'nginx:1.27', imagePullPolicy: 'Never' },
  ] } };
  const view = podSpecOf('Pod', pod);
  if (!view.ok) throw new Error(view.reason);
  t.same(view.view.images.map((i) => [i.containerName, i.pullPolicy, i.pullPolicyDefaulted]), [
    ['a', 'Always', true],
    ['b', 'Always', true],
    ['c', 'IfNotPresent', true],
    ['d', 'IfNotPresent', true],
    ['e', 'Never', false],
  ]);
  const registry = stubRegistry();
  const { findings } = await checker(registry, stubCluster()).check({ ...view.view, namespace: 'demo' }, view.view.images, soon());
  t.same(findings.map((f) => f.resolution.reason), ['Resolved', 'Resolved', 'Resolved', 'Resolved', 'NeverPull']);
  t.equal(registry.calls.length, 3, 'nginx:latest once, nginx:1.27 once, the digest once; Never not at all');
});

t.test('an auth failure becomes SecretsUnreadable only when a secret could not be read', async (t) => {
  const forbidden: Lookup<DockerSecret> = { found: false, reason: 'Forbidden', message: 'pullguard may not get secret demo/locked' };
  const unavailable: Lookup<DockerSecret> = { found: false, reason: 'Unavailable', message: 'the API server answered 500' };
  const cases: [string, Record<string, Lookup<DockerSecret>>, RegistryOutcome, ReasonCode, string[]?][] = [
    ['forbidden, AuthRequired', { 'demo/s': forbidden }, 'AuthRequired', 'SecretsUnreadable'],
    ['unavailable, CredentialsRejected', { 'demo/s': unavailable }, 'CredentialsRejected', 'SecretsUnreadable'],
    ['forbidden, AccessDenied', { 'demo/s': forbidden }, 'AccessDenied', 'SecretsUnreadable'],
    ['forbidden, RepositoryNotFound asked with another credential (a repository hidden from the account asking)', { 'demo/s': forbidden }, 'RepositoryNotFound', 'SecretsUnreadable', ['docker-config /etc/pullguard/config.json']],
    ['forbidden, RepositoryNotFound asked anonymously stays (a private repository answers 401 to anonymous)', { 'demo/s': forbidden }, 'RepositoryNotFound', 'RepositoryNotFound'],
    ['forbidden, TagNotFound stays', { 'demo/s': forbidden }, 'TagNotFound', 'TagNotFound'],
    ['forbidden, Resolved stays', { 'demo/s': forbidden }, 'Resolved', 'Resolved'],
    ['not found, AuthRequired stays', {}, 'AuthRequired', 'AuthRequired'],
    ['not found, RepositoryNotFound stays', {}, 'RepositoryNotFound', 'RepositoryNotFound'],
  ];
  for (const [name, secrets, answer, expected, tried = ['anonymous']] of cases) {
    const registry = stubRegistry((ref) => resolution(answer, ref.canonical, { reference: ref.canonical, credentialsTried: tried }));
    const { findings } = await checker(registry, stubCluster({ secrets })).check(spec({ imagePullSecrets: ['s'] }), targets('registry.example/app:1'), soon());
    const r = findings[0]!.resolution;
    t.equal(r.reason, expected, name);
    if (expected === 'SecretsUnreadable') {
      t.equal(r.verdict, 'unknown');
      t.match(r.detail, /^(the registry answered RepositoryNotFound, which registries also answer for a repository hidden from the account asking; )?s: (pullguard may not get secret demo\/locked|the API server answered 500)$/);
      t.same(r.credentialsTried, tried, 'what was tried is kept');
    }
  }
});

t.test('the pod spec view carries runtimeClassName to the checker: an index-less image of another platform is then unknown', async (t) => {
  const view = podSpecOf('Pod', { spec: { runtimeClassName: 'wasmtime-spin-v2', containers: [{ name: 'a', image: 'registry.example/spin:1' }] } });
  if (!view.ok) throw new Error(view.reason);
  t.equal(view.view.runtimeClassName, 'wasmtime-spin-v2');
  const plain = podSpecOf('Pod', { spec: { runtimeClassName: '', containers: [{ name: 'a', image: 'registry.example/spin:1' }] } });
  t.equal(plain.ok && plain.view.runtimeClassName, undefined, 'an empty name is no RuntimeClass');
  const registry = stubRegistry((ref) => resolution('PlatformMismatch', ref.canonical, { reference: ref.canonical, mediaType: 'application/vnd.oci.image.manifest.v1+json', platforms: [{ os: 'linux', architecture: 'arm64' }] }));
  const { findings } = await checker(registry, stubCluster({ nodes: [node('n', 'amd64')] })).check({ ...view.view, namespace: 'demo' }, view.view.images, soon());
  t.equal(findings[0]?.resolution.reason, 'ExecFormatError');
  t.equal(findings[0]?.resolution.verdict, 'unknown');
});

/** The cluster, with these answers at hand (a fresh cache) through its optional peek members; the rest as it was. */
function withAnswersAtHand(cluster: ReturnType<typeof stubCluster>, atHand: { secrets?: Record<string, Lookup<DockerSecret>>; serviceAccounts?: Record<string, Lookup<string[]>>; nodes?: NodeInfo[] }): ReturnType<typeof stubCluster> {
  return Object.assign(cluster, {
    peekSecret: (ns: string, name: string) => atHand.secrets?.[`${ns}/${name}`],
    peekServiceAccountPullSecrets: (ns: string, name: string) => atHand.serviceAccounts?.[`${ns}/${name}`],
    peekNodes: () => atHand.nodes,
  });
}

t.test('cluster answers at hand (fresh in the reader\'s cache) are used without waiting; the others are read', async (t) => {
  const regcred = secret('demo', 'regcred', { 'registry.example': { username: 'alice', password: 'pw' } });
  const nodes = [node('arm', 'arm64')];
  // Every getter hangs: the check can only finish in time on the answers at hand.
  const hanging = withAnswersAtHand(stubCluster({ secrets: { 'demo/regcred': 'pending' }, serviceAccounts: { 'demo/builder': 'pending' }, nodes: 'pending' }), {
    secrets: { 'demo/regcred': regcred },
    serviceAccounts: { 'demo/builder': { found: true, value: ['regcred'] } },
    nodes,
  });
  const registry = stubRegistry();
  const started = Date.now();
  const { findings } = await checker(registry, hanging).check(spec({ isTemplate: true, serviceAccountName: 'builder' }), targets('registry.example/app:1'), soon(4000));
  t.ok(Date.now() - started < 1000, 'answered without waiting for the API server');
  t.same(hanging.calls, [], 'nothing read from the API server');
  t.same(findings[0]?.secrets, [{ name: 'regcred', namespace: 'demo', from: 'serviceAccount', status: 'ok' }]);
  t.same(registry.calls[0]?.opts.credentials.map((c) => c.username), ['alice'], 'the ServiceAccount\'s secret at hand was used');
  t.same(findings[0]?.eligiblePlatforms, [{ os: 'linux', architecture: 'arm64' }], 'the nodes at hand were used');

  // Nothing at hand any more (the cached answers expired): read again, exactly as without the peek members.
  const expired = withAnswersAtHand(stubCluster({ secrets: { 'demo/regcred': regcred }, serviceAccounts: { 'demo/builder': { found: true, value: ['regcred'] } }, nodes }), {});
  const again = await checker(stubRegistry(), expired).check(spec({ isTemplate: true, serviceAccountName: 'builder' }), targets('registry.example/app:1'), soon());
  t.same(expired.calls, ['serviceaccount demo/builder', 'nodes', 'secret demo/regcred'], 'every expired answer read again');
  t.same(again.findings[0]?.secrets, findings[0]?.secrets);
  t.same(again.findings[0]?.eligiblePlatforms, findings[0]?.eligiblePlatforms);
});

t.test('past the deadline an answer at hand counts as late, as the same answer read from the API server would', async (t) => {
  const regcred = secret('demo', 'regcred', { 'registry.example': { username: 'alice', password: 'pw' } });
  const read = await checker(stubRegistry(), stubCluster({ secrets: { 'demo/regcred': regcred } })).check(spec({ imagePullSecrets: ['regcred'] }), targets('registry.example/app:1'), Date.now() - 1);
  const atHand = await checker(stubRegistry(), withAnswersAtHand(stubCluster({ secrets: { 'demo/regcred': regcred } }), { secrets: { 'demo/regcred': regcred } })).check(spec({ imagePullSecrets: ['regcred'] }), targets('registry.example/app:1'), Date.now() - 1);
  t.same(atHand.findings[0]?.secrets, [{ name: 'regcred', namespace: 'demo', from: 'pod', status: 'Unavailable', message: 'the API server did not answer in time reading secret demo/regcred' }]);
  t.same(atHand.findings, read.findings, 'the same findings either way');
});

/** The resolution cache over a stub registry, as the runtime wires it (cache → registry), with its peek. */
function cachedRegistry(answer?: Parameters<typeof stubRegistry>[0]) {
  const inner = stubRegistry(answer);
  const cache = withResolutionCache({ resolve: (ref: Reference, o: ResolveOptions) => inner.resolve(ref, o), close: async () => {} }, { digestTtlMs: 60_000, tagTtlMs: 60_000, negativeTtlMs: 60_000, maxEntries: 100, maxBytes: 1_000_000 });
  const peeks: string[] = [];
  return {
    calls: inner.calls,
    peeks,
    resolve: (ref: Reference, o: ResolveOptions) => cache.resolve(ref, o),
    peek(ref: Reference, o: ResolveOptions) {
      peeks.push(ref.canonical);
      return cache.peek(ref, o);
    },
  };
}

t.test('a resolution at hand in the cache needs no resolution slot, and gives the finding the queued question gave', async (t) => {
  const index = (ref: Reference) => resolution('Resolved', ref.canonical, { reference: ref.canonical, digest: `sha256:${'a'.repeat(64)}`, mediaType: 'application/vnd.oci.image.index.v1+json', platforms: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }] });
  const registry = cachedRegistry((ref) => (ref.repository === 'stalled' ? new Promise<Resolution>(() => {}) : index(ref)));
  const cluster = stubCluster({ nodes: [node('a', 'amd64', { containerRuntimeVersion: 'containerd://2.1.4' }), node('b', 'arm64', { containerRuntimeVersion: 'cri-o://1.31.1' })] });
  const c = checker(registry, cluster, { resolutionsInFlight: 1 });
  const queued = await c.check(spec(), targets('registry.example/app:1'), soon());
  t.equal(registry.calls.length, 1, 'the first review asked the registry');
  // The one slot is taken by a registry that never answers: only an answer at hand can come before the deadline.
  const stuck = new AbortController();
  void c.check(spec(), targets('registry.example/stalled:1'), soon(), stuck.signal);
  t.teardown(() => stuck.abort());
  const atHand = await c.check(spec(), targets('registry.example/app:1'), soon(300));
  t.equal(registry.calls.length, 2, 'not asked again (the second call is the stalled image)');
  t.same(atHand.findings, queued.findings, 'the same finding as the queued question');
  t.equal(atHand.findings[0]?.resolution.reason, 'Resolved', 'not RegistryTimeout waiting for the slot');
});

t.test('a review already ended, or too close to its deadline, gets RegistryTimeout even with an answer at hand, as from the queue', async (t) => {
  const registry = cachedRegistry();
  const c = checker(registry, stubCluster());
  await c.check(spec(), targets('registry.example/app:1'), soon());
  const ended = new AbortController();
  ended.abort();
  const gaveUp = await c.check(spec(), targets('registry.example/app:1'), soon(), ended.signal);
  t.equal(gaveUp.findings[0]?.resolution.reason, 'RegistryTimeout');
  t.match(gaveUp.findings[0]?.resolution.detail, 'before a resolution slot was free');
  const late = await c.check(spec(), targets('registry.example/app:1'), Date.now() + 5);
  t.equal(late.findings[0]?.resolution.reason, 'RegistryTimeout');
  t.equal(registry.calls.length, 1, 'the registry was asked only the first time');
});

t.test('an image a credential provider matches is asked with the provider\'s answer, never taken from the cache unasked', async (t) => {
  const registry = cachedRegistry((ref) => resolution('AuthRequired', ref.canonical, { reference: ref.canonical, status: 401 }));
  const credentialProviders = {
    matches: (ref: { registry: string }) => ref.registry === 'registry.example',
    provide: async () => ({ matched: ['ecr'], entries: [], unavailable: [{ provider: 'ecr', why: 'timed out' }] }),
  };
  const c = checker(registry, stubCluster(), { credentialProviders });
  for (let i = 0; i < 2; i++) {
    const { findings } = await c.check(spec(), targets('registry.example/app:1'), soon());
    t.equal(findings[0]?.resolution.reason, 'CredentialProviderUnavailable', `review ${i + 1}: the provider's gap is said`);
  }
  t.same(registry.peeks, [], 'no peek for a provider-matched image');
});

t.test('the review\'s end reaches the work it started: at the check\'s return, at its deadline, and at the caller\'s signal', async (t) => {
  const answered = stubRegistry();
  await checker(answered, stubCluster()).check(spec(), targets('registry.example/app:1'), soon());
  t.equal(answered.calls[0]?.opts.signal?.aborted, true, 'the check returned: its registry work is ended');

  const stalled = stubRegistry(() => new Promise<Resolution>(() => {}));
  const { findings } = await checker(stalled, stubCluster()).check(spec(), targets('registry.example/app:1'), Date.now() + 200);
  t.equal(findings[0]?.resolution.reason, 'RegistryTimeout');
  t.equal(stalled.calls[0]?.opts.signal?.aborted, true, 'the deadline ended it');

  const caller = new AbortController();
  const waiting = stubRegistry(() => new Promise<Resolution>(() => {}));
  const pending = checker(waiting, stubCluster()).check(spec(), targets('registry.example/app:1'), Date.now() + 400, caller.signal);
  while (waiting.calls.length === 0) await new Promise((r) => setImmediate(r));
  const signal = waiting.calls[0]!.opts.signal!;
  t.equal(signal.aborted, false, 'running');
  caller.abort();
  t.equal(signal.aborted, true, 'the caller stopped waiting: ended at once');
  await pending;

  const provided: AbortSignal[] = [];
  const credentialProviders = {
    matches: () => true,
    provide: async (_ref: unknown, _deadline: number, s?: AbortSignal) => {
      if (s) provided.push(s);
      return { matched: ['ecr'], entries: [], unavailable: [] };
    },
  };
  await checker(stubRegistry(), stubCluster(), { credentialProviders }).check(spec(), targets('registry.example/app:1'), soon());
  t.equal(provided.length, 1, 'the provider got the review\'s signal');
  t.equal(provided[0]?.aborted, true, 'ended when the check returned');
});

t.test('a cluster read that fails rejects the check as before, whether the others are at hand or awaited, and leaves no failure unobserved', async (t) => {
  const unobserved: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unobserved.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => {
    process.off('unhandledRejection', onUnhandled);
  });
  const cluster = stubCluster();
  const failing: ClusterReader = {
    ...cluster,
    getSecret(ns, name) {
      if (name === 'later') return new Promise((_resolve, reject) => setTimeout(() => reject(new Error('read failed later')), 20));
      throw new Error(`reading ${ns}/${name} failed at once`);
    },
  };
  await t.rejects(checker(stubRegistry(), failing).check(spec({ imagePullSecrets: ['later', 'now'] }), targets('registry.example/app:1'), soon()), /reading demo\/now failed at once/);
  await t.rejects(checker(stubRegistry(), { ...failing, peekNodes: () => [node('n', 'amd64')] }).check(spec({ imagePullSecrets: ['now'] }), targets('registry.example/app:1'), soon()), /failed at once/);
  await new Promise((r) => setTimeout(r, 60));
  t.same(unobserved, [], 'the later failure was observed too');
});
