// `pullguard check -f FILE|DIR|-` against real registries, in process through runCheck's streams (one case
// spawns the CLI as CI runs it, reading a real stdin pipe): multi-document
// YAML, List kinds, directories, Helm output on stdin, where each problem is (file, line, document, object),
// exit codes, and --kubeconfig against a fake API server for ServiceAccount pull secrets and node platforms.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startFakeApiServer, type FakeApiServer } from '../harness/fake-apiserver.ts';
import { closedPort, cli, lineOf, rows, run, startCliEnv, type CliEnv } from './env.ts';

// The spawned case pays Node start-up plus loading the registry and Kubernetes clients: seconds on a busy CI machine.
t.setTimeout(300_000);

let env: CliEnv;
let api: FakeApiServer;
t.before(async () => {
  [env, api] = await Promise.all([startCliEnv(), startFakeApiServer()]);
  api.setNode({ name: 'arm-1', arch: 'arm64' });
  api.setNode({ name: 'arm-2', arch: 'arm64' });
  const alice = Buffer.from('alice:alice-secret').toString('base64');
  api.setSecret('shop', 'regcred', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': JSON.stringify({ auths: { [env.basic.host]: { auth: alice } } }) });
  api.setServiceAccount('shop', 'default', ['regcred']);
});
t.teardown(async () => {
  await api?.stop();
  await env?.close();
});

const open = (name: string) => `${env.open.host}/${name}`;
const check = (args: string[], input?: string) => run(['check', '--registry-config', env.registryConfig, ...args], input === undefined ? {} : { input });
/** The real entry point: `node src/cli/main.ts check ...` with the input on its stdin pipe. */
const spawnCheck = (args: string[], input?: string) => cli(['check', '--registry-config', env.registryConfig, ...args], input === undefined ? {} : { input });

interface Row {
  file: string;
  document: number;
  line: number;
  template?: string;
  kind: string;
  name: string;
  namespace: string;
  container: string;
  field: string;
  image: string;
  reference: string | null;
  verdict: string;
  reason: string;
  message: string;
  digest: string | null;
  suggestions?: string[];
}

function write(path: string, text: string): string {
  const full = join(env.dir, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, text);
  return full;
}

const deployment = (name: string, images: string[], extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
${extra}spec:
  replicas: 2
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
${images.map((image, i) => `        - name: c${i}\n          image: ${image}\n`).join('')}`;

const pod = (name: string, image: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  containers:
    - name: main
      image: ${image}
`;

t.test('multi-document YAML: each problem names file:line (document N) Kind/name, the container and the fix', async (t) => {
  const text = `# the shop, all in one file
${deployment('web', [open('team/app:1.0'), open('team/app:1.9')])}---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 80}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: jobs}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          initContainers:
            - name: migrate
              image: ${open('team/migrate:1.0')}
          containers:
            - name: job
              image: ${open('team/app:1.1')}
`;
  const file = write('multi/app.yaml', text);
  const human = await check(['-f', file]);
  t.equal(human.code, 1, human.stderr);
  const lines = human.stdout.trimEnd().split('\n');
  t.equal(lines.length, 3, human.stdout);
  t.match(lines[0], `DENY    ${file}:${lineOf(text, 'team/app:1.9')} (document 1) Deployment/web: container "c1" (spec.template.spec.containers[1].image): image "${open('team/app:1.9')}": TagNotFound:`);
  t.match(lines[0], /Fix: use an existing tag; closest: 1\.1, 1\.0/);
  t.match(lines[1], `DENY    ${file}:${lineOf(text, 'team/migrate')} (document 3) CronJob/nightly: init container "migrate" (spec.jobTemplate.spec.template.spec.initContainers[0].image)`);
  t.match(lines[1], /RepositoryNotFound: .*the repository does not exist/);
  t.equal(lines[2], '4 images in 2 objects: 2 pull, 2 cannot be pulled, 0 could not be checked');
  t.notMatch(human.stdout, /Service/, 'the Service has no pod spec and is not mentioned');
  t.equal(human.stderr, '');

  const json = await check(['--json', '-f', file]);
  t.equal(json.code, 1);
  const out = rows<Row>(json);
  t.same(out.map((r) => [r.document, r.kind, r.name, r.container, r.verdict]), [
    [1, 'Deployment', 'web', 'c0', 'allow'],
    [1, 'Deployment', 'web', 'c1', 'deny'],
    [3, 'CronJob', 'nightly', 'migrate', 'deny'],
    [3, 'CronJob', 'nightly', 'job', 'allow'],
  ]);
  const typo = out[1]!;
  t.match(typo, {
    file,
    line: lineOf(text, 'team/app:1.9'),
    namespace: 'default',
    field: 'spec.template.spec.containers[1].image',
    image: open('team/app:1.9'),
    reference: open('team/app:1.9'),
    reason: 'TagNotFound',
    digest: null,
  });
  t.ok(typo.suggestions?.includes('1.1'));
  t.match(typo.message, /Fix: use an existing tag/);
  t.equal(out[0]!.digest, env.pushed['open/team/app:1.0']!.digest);
  t.equal(out[2]!.namespace, 'jobs');
  t.equal(out[2]!.field, 'spec.jobTemplate.spec.template.spec.initContainers[0].image');
  t.equal(out[3]!.line, lineOf(text, 'team/app:1.1'));
});

t.test('a List is expanded into its items; each item keeps its own line, and items without pod specs are skipped', async (t) => {
  const text = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: settings}
    data: {a: b}
  - apiVersion: v1
    kind: Pod
    metadata: {name: one-off}
    spec:
      containers:
        - name: main
          image: ${open('team/app:1.9')}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api}
    spec:
      template:
        spec:
          containers:
            - name: api
              image: ${open('team/app:1.1')}
`;
  const file = write('list/list.yaml', text);
  const r = await check(['--json', '-f', file]);
  t.equal(r.code, 1, r.stderr);
  const out = rows<Row>(r);
  t.same(out.map((o) => [o.kind, o.name, o.document, o.line, o.verdict]), [
    ['Pod', 'one-off', 1, lineOf(text, 'team/app:1.9'), 'deny'],
    ['Deployment', 'api', 1, lineOf(text, 'team/app:1.1'), 'allow'],
  ]);
  t.equal(out[0]!.field, 'spec.containers[0].image');
});

t.test('a directory is read recursively, only .yaml, .yml and .json files, in name order', async (t) => {
  const podJson = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'from-json' }, spec: { containers: [{ name: 'main', image: open('team/app:1.0') }] } }, null, 2);
  const a = write('tree/a.yaml', pod('from-yaml', open('team/app:1.0')));
  const b = write('tree/nested/deeper/b.yml', deployment('from-yml', [open('team/app:1.9')]));
  const c = write('tree/nested/c.json', podJson);
  write('tree/nested/notes.txt', pod('from-txt', open('team/never:1.0')));
  write('tree/nested/values.yaml.orig', pod('from-orig', open('team/never:1.0')));
  const r = await check(['--json', '-f', join(env.dir, 'tree')]);
  t.equal(r.code, 1, r.stderr);
  const out = rows<Row>(r);
  t.same(out.map((o) => [o.file, o.name, o.verdict]), [
    [a, 'from-yaml', 'allow'],
    [c, 'from-json', 'allow'],
    [b, 'from-yml', 'deny'],
  ]);
  t.equal(out[1]!.line, lineOf(podJson, '"image"'), 'JSON files have lines too');
  t.notMatch(r.stdout, /team\/never/, 'other files are not read');
});

t.test('-f - reads Helm output from stdin and names the template each document came from (spawned: a real stdin)', async (t) => {
  const rendered = `---
# Source: shop/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: shop
---
# Source: shop/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  labels:
    helm.sh/chart: shop-0.1.0
spec:
  replicas: 1
  template:
    spec:
      serviceAccountName: shop
      containers:
        - name: shop
          image: "${open('team/app:1.9')}"
          imagePullPolicy: IfNotPresent
---
# Source: shop/templates/tests/test-connection.yaml
apiVersion: v1
kind: Pod
metadata:
  name: "shop-test-connection"
  annotations:
    "helm.sh/hook": test
spec:
  containers:
    - name: wget
      image: ${open('team/app:1.0')}
  restartPolicy: Never
`;
  const human = await spawnCheck(['-f', '-', '--platform', 'linux/amd64'], rendered);
  t.equal(human.code, 1, human.stderr);
  t.match(human.stdout, `DENY    <stdin>:${lineOf(rendered, 'team/app:1.9')} (document 2, shop/templates/deployment.yaml) Deployment/shop: container "shop"`);
  t.match(human.stdout, /2 images in 2 objects: 1 pull, 1 cannot be pulled, 0 could not be checked\n$/);

  const json = await check(['--json', '-f', '-'], rendered);
  t.same(rows<Row>(json).map((o) => [o.file, o.document, o.template, o.kind, o.verdict]), [
    ['<stdin>', 2, 'shop/templates/deployment.yaml', 'Deployment', 'deny'],
    ['<stdin>', 3, 'shop/templates/tests/test-connection.yaml', 'Pod', 'allow'],
  ]);
});

t.test('malformed YAML is a usage error naming the file, line and document, and nothing is checked', async (t) => {
  const text = `${pod('fine', open('team/app:1.0'))}---
apiVersion: v1
kind: Pod
metadata: {name: [broken
`;
  const bad = write('broken/bad.yaml', text);
  write('broken/good.yaml', pod('good', open('team/app:1.0')));
  const r = await check(['-f', join(env.dir, 'broken')]);
  t.equal(r.code, 3);
  t.match(r.stderr, new RegExp(`^pullguard check: ${bad.replaceAll('.', '\\.')}:\\d+ \\(document 2\\): not valid YAML: `));
  t.equal(r.stdout, '');
});

t.test('exit codes: 0 when every image pulls, 2 when none is denied but one could not be checked', async (t) => {
  const good = write('codes/good.yaml', `${pod('a', open('team/app:1.0'))}---\n${deployment('b', [open('team/app:1.1')])}`);
  const ok = await check(['-f', good]);
  t.equal(ok.code, 0, ok.stdout + ok.stderr);
  t.equal(ok.stdout, '2 images in 2 objects: 2 pull, 0 cannot be pulled, 0 could not be checked\n');

  const downText = pod('down', `127.0.0.1:${await closedPort()}/team/app:1.0`);
  const down = write('codes/down.yaml', downText);
  const unknown = await check(['-f', good, '-f', down]);
  t.equal(unknown.code, 2, unknown.stdout + unknown.stderr);
  t.match(unknown.stdout, `UNKNOWN ${down}:${lineOf(downText, 'image:')} (document 1) Pod/down: container "main" (spec.containers[0].image)`);
  t.match(unknown.stdout, /RegistryUnreachable/);
  t.match(unknown.stdout, /3 images in 3 objects: 2 pull, 0 cannot be pulled, 1 could not be checked/);
});

t.test('objects without pod specs are ignored; an empty input is a warning, not an error', async (t) => {
  const only = write('nopods/only.yaml', 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {image: not-an-image}\n');
  const r = await check(['-f', only]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '0 images in 0 objects: 0 pull, 0 cannot be pulled, 0 could not be checked\n');
  t.equal(r.stderr, '');
  const empty = await check(['-f', '-'], '');
  t.equal(empty.code, 0);
  t.match(empty.stderr, /warning: the input holds no Kubernetes objects/);
});

t.test('a container without an image is a warning naming where it is; the other images are still checked', async (t) => {
  const text = `${deployment('half', [open('team/app:1.0')])}        - name: unset\n          image: ""\n`;
  const file = write('warn/half.yaml', text);
  const r = await check(['--json', '-f', file]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, `pullguard check: warning: ${file}:1 (document 1) Deployment/half: spec.template.spec.containers[1] has no image; skipped`);
  t.same(rows<Row>(r).map((o) => o.container), ['c0']);
});

t.test('usage errors exit 3 with a clear message; --help exits 0', async (t) => {
  const none = await check([]);
  t.equal(none.code, 3);
  t.match(none.stderr, /^pullguard check: no manifests given \(-f FILE, -f DIR or -f - for stdin\)/);
  const missing = await check(['-f', '/nonexistent/deploy.yaml']);
  t.equal(missing.code, 3);
  t.match(missing.stderr, /^pullguard check: \/nonexistent\/deploy\.yaml: cannot read it \(ENOENT\)/);
  t.equal(missing.stdout, '');
  const flag = await check(['--filee', 'x.yaml']);
  t.equal(flag.code, 3);
  t.match(flag.stderr, /Unknown option '--filee'/);
  const help = await run(['check', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /^Usage: pullguard check -f FILE\|DIR\|- /);
  for (const flag of ['--file', '--platform', '--docker-config', '--registry-config', '--kubeconfig', '--json']) t.match(help.stdout, flag);
});

t.test('--kubeconfig: a template without imagePullSecrets uses its ServiceAccount\'s pull secret', async (t) => {
  const text = deployment('private', [`${env.basic.host}/private/app:1.0`], '  namespace: shop\n');
  const file = write('cluster/private.yaml', text);
  const withCluster = await check(['--json', '--kubeconfig', api.kubeconfigFile, '-f', file]);
  t.equal(withCluster.code, 0, withCluster.stdout + withCluster.stderr);
  const [row] = rows<Row & { credentialUsed?: string }>(withCluster);
  t.equal(row?.reason, 'Resolved');
  t.equal(row?.credentialUsed, 'secret shop/regcred');
  t.notMatch(withCluster.stdout + withCluster.stderr, /alice-secret/);

  // Without the cluster its pull secrets are unknown, so the pull may work: not a denial.
  const without = await check(['--json', '-f', file]);
  t.equal(without.code, 2, without.stdout + without.stderr);
  t.match(rows<Row>(without)[0], { reason: 'SecretsUnreadable', verdict: 'unknown' });
  t.match(without.stderr, /note: 1 image needs credentials that only the cluster's pull secrets can give; run with --kubeconfig/);
});

t.test('--kubeconfig: an object without a namespace is in the kubeconfig context\'s namespace', async (t) => {
  const file = write('cluster/no-namespace.yaml', deployment('private', [`${env.basic.host}/private/app:1.0`]));
  const shopContext = write('cluster/kubeconfig-shop', readFileSync(api.kubeconfigFile, 'utf8').replace('namespace: default', 'namespace: shop'));
  const inShop = await check(['--json', '--kubeconfig', shopContext, '-f', file]);
  t.equal(inShop.code, 0, inShop.stdout + inShop.stderr);
  t.equal(rows<Row>(inShop)[0]?.namespace, 'shop');
  const inDefault = await check(['--json', '--kubeconfig', api.kubeconfigFile, '-f', file]);
  t.equal(inDefault.code, 1, 'the default ServiceAccount of namespace default has no pull secret');
  t.match(rows<Row>(inDefault)[0], { namespace: 'default', reason: 'AuthRequired' });
});

t.test('--kubeconfig: platforms come from the nodes, so an amd64-only single-manifest image on arm64 nodes is ExecFormatError', async (t) => {
  const text = deployment('amd', [open('team/amd-only:1.0'), open('team/app:1.0')], '  namespace: shop\n');
  const file = write('cluster/amd.yaml', text);
  const r = await check(['--kubeconfig', api.kubeconfigFile, '-f', file]);
  t.equal(r.code, 1, r.stdout + r.stderr);
  t.match(r.stdout, `DENY    ${file}:${lineOf(text, 'amd-only')} (document 1) Deployment/amd: container "c0"`);
  t.match(r.stdout, /ExecFormatError: .*the image offers linux\/amd64, but the nodes this pod may land on run linux\/arm64/);
  t.match(r.stdout, /2 images in 1 object: 1 pull, 1 cannot be pulled/);
  // Without the cluster nothing constrains the platform.
  const anyPlatform = await check(['-f', file]);
  t.equal(anyPlatform.code, 0, anyPlatform.stdout);
});

t.test('--kubeconfig: a pod naming a pull secret that does not exist gets the kubectl command for it', async (t) => {
  const text = `apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec:
  imagePullSecrets: [{name: missing-cred}]
  containers:
    - name: main
      image: ${env.basic.host}/private/app:1.0
`;
  const file = write('cluster/missing-secret.yaml', text);
  const r = await check(['--kubeconfig', api.kubeconfigFile, '-f', file]);
  t.equal(r.code, 1, r.stdout + r.stderr);
  t.match(r.stdout, /AuthRequired: .*missing-cred: does not exist in namespace shop/);
  t.match(r.stdout, `kubectl create secret docker-registry missing-cred --docker-server=${env.basic.host} --docker-username=USER --docker-password=TOKEN -n shop`);
});

t.test('--kubeconfig pointing at a file that is not a kubeconfig is a usage error', async (t) => {
  const notKube = write('cluster/not-kube.yaml', 'hello: world\n');
  const file = write('cluster/any.yaml', pod('p', open('team/app:1.0')));
  const r = await check(['--kubeconfig', notKube, '-f', file]);
  t.equal(r.code, 3);
  t.match(r.stderr, /^pullguard check: kubernetes: .*not-kube\.yaml/);
  t.equal(r.stdout, '');
});
