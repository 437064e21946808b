// The in-cluster objects: a hardened, spread, disruption-protected Deployment, its Service, least-privilege RBAC,
// and the optional ServiceMonitor and NetworkPolicy.
import type {
  V1ClusterRole, V1ClusterRoleBinding, V1Container, V1Deployment, V1NetworkPolicy, V1PodDisruptionBudget, V1PolicyRule, V1Role,
  V1RoleBinding, V1Service,
} from '@kubernetes/client-node';
import t from 'tap';
import { merge, modes, namespace, serviceName, template, tlsVariants, type Manifest } from './render.ts';

interface ServiceMonitor extends Manifest {
  spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] };
}

const selectorLabels = { 'app.kubernetes.io/name': 'pullguard', 'app.kubernetes.io/instance': 'rel' };

function container(d: V1Deployment): V1Container {
  const c = d.spec?.template.spec?.containers[0];
  if (c === undefined) throw new Error('no container');
  return c;
}

for (const [tlsName, tls] of Object.entries(tlsVariants)) {
  for (const mode of modes) {
    t.test(`with tls ${tlsName} in ${mode} mode the Deployment is hardened, probed and highly available`, async (t) => {
      const r = template(merge(tls, { config: { mode } }));
      const d = r.one<V1Deployment>('Deployment');
      const pod = d.spec?.template.spec;
      const c = container(d);
      t.equal(d.spec?.replicas, 2);
      t.same(d.spec?.selector.matchLabels, selectorLabels);

      t.match(pod?.securityContext, { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
      t.match(c.securityContext, {
        runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
      });
      t.equal(c.securityContext?.privileged, undefined, 'never privileged');
      t.equal(c.securityContext?.capabilities?.add, undefined, 'no capabilities added');

      t.same(c.ports, [{ name: 'webhook', containerPort: 8443, protocol: 'TCP' }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }]);
      t.match(c.livenessProbe, { httpGet: { path: '/healthz', port: 'metrics' } });
      t.match(c.readinessProbe, { httpGet: { path: '/readyz', port: 'metrics' } });
      t.same(c.args, ['serve', '--config', '/etc/pullguard/config.yaml']);
      t.ok(c.resources?.requests?.['memory'] && c.resources.limits?.['memory'], 'memory requested and limited');
      t.match(c.image, /^ghcr\.io\/pullguard\/pullguard:0\.1\.0$/, 'the appVersion tag by default');

      const tlsVolume = pod?.volumes?.find((v) => v.name === 'tls');
      t.equal(tlsVolume?.secret?.secretName, tlsName === 'existingSecret' ? 'my-webhook-tls' : `${serviceName}-tls`);
      const tlsMount = c.volumeMounts?.find((m) => m.name === 'tls');
      t.equal(tlsMount?.subPath, undefined, 'a whole-Secret mount, so renewed certificates reach the pod');
      t.ok(c.volumeMounts?.some((m) => m.mountPath === '/tmp'), 'a writable /tmp beside the read-only root');

      t.same(pod?.topologySpreadConstraints, [{
        maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selectorLabels },
      }]);
      t.match(d.spec?.template.metadata?.annotations?.['checksum/config'], /^[0-9a-f]{64}$/);

      const pdb = r.one<V1PodDisruptionBudget>('PodDisruptionBudget');
      t.equal(pdb.spec?.minAvailable, 1);
      t.same(pdb.spec?.selector?.matchLabels, selectorLabels);

      const svc = r.one<V1Service>('Service');
      t.same(svc.spec?.ports?.map((p) => [p.name, p.port, p.targetPort]), [['webhook', 443, 'webhook'], ['metrics', 9090, 'metrics']]);
      t.same(svc.spec?.selector, selectorLabels);
      t.equal(svc.metadata?.name, serviceName);
      t.equal(pod?.serviceAccountName, r.one('ServiceAccount').metadata.name);
      t.notOk(r.has('ServiceMonitor') || r.has('NetworkPolicy'), 'optional objects are off by default');
    });
  }
}

t.test('pod placement, priority, image and extra settings come from values', async (t) => {
  const d = template({
    priorityClassName: 'system-cluster-critical',
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoSchedule' }],
    affinity: { nodeAffinity: {} },
    podAnnotations: { 'example.com/team': 'platform' },
    image: { repository: 'registry.example.com/pullguard', tag: 'v9', digest: `sha256:${'a'.repeat(64)}`, pullPolicy: 'Always' },
    imagePullSecrets: [{ name: 'regcred' }],
    replicaCount: 3,
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { a: 'b' } } }],
  }).one<V1Deployment>('Deployment');
  const pod = d.spec?.template.spec;
  t.equal(d.spec?.replicas, 3);
  t.equal(pod?.priorityClassName, 'system-cluster-critical');
  t.same(pod?.nodeSelector, { 'kubernetes.io/os': 'linux' });
  t.equal(pod?.tolerations?.[0]?.key, 'dedicated');
  t.same(pod?.affinity, { nodeAffinity: {} });
  t.same(pod?.imagePullSecrets, [{ name: 'regcred' }]);
  t.equal(d.spec?.template.metadata?.annotations?.['example.com/team'], 'platform');
  t.equal(container(d).image, `registry.example.com/pullguard@sha256:${'a'.repeat(64)}`, 'a digest wins over the tag');
  t.equal(container(d).imagePullPolicy, 'Always');
  t.same(pod?.topologySpreadConstraints?.[0]?.labelSelector, { matchLabels: { a: 'b' } }, "a constraint's own selector is kept");
});

t.test('a single replica gets no PodDisruptionBudget, which would block every drain', async (t) => {
  t.notOk(template({ replicaCount: 1 }).has('PodDisruptionBudget'));
  t.notOk(template({ podDisruptionBudget: { enabled: false } }).has('PodDisruptionBudget'));
});

t.test('a changed config changes the checksum that rolls the pods', async (t) => {
  const checksum = (mode: string, fresh = false) => template({ config: { mode } }, { fresh }).one<V1Deployment>('Deployment').spec?.template.metadata?.annotations?.['checksum/config'];
  t.not(checksum('enforce'), checksum('warn'));
  // A second helm run, not the render cache's copy of the first.
  t.equal(checksum('warn', true), checksum('warn'), 'and only a changed config');
});

t.test('node-level credentials from an existing Secret are mounted and listed in the config', async (t) => {
  const r = template({ nodeCredentials: { existingSecret: 'node-pull-creds' } });
  const d = r.one<V1Deployment>('Deployment');
  const volume = d.spec?.template.spec?.volumes?.find((v) => v.secret?.secretName === 'node-pull-creds');
  t.same(volume?.secret?.items, [{ key: '.dockerconfigjson', path: 'config.json' }]);
  const mount = container(d).volumeMounts?.find((m) => m.name === volume?.name);
  t.equal(mount?.mountPath, '/etc/pullguard-docker');
  t.equal(mount?.readOnly, true);
});

/** Rules as comparable strings: "group|resource|verb", one per combination. */
function grants(rules: V1PolicyRule[] | undefined): string[] {
  const out: string[] = [];
  for (const rule of rules ?? []) {
    if (rule.resourceNames !== undefined || rule.nonResourceURLs !== undefined) out.push('unexpected resourceNames or nonResourceURLs');
    for (const g of rule.apiGroups ?? []) for (const r of rule.resources ?? []) for (const v of rule.verbs) out.push(`${g}|${r}|${v}`);
  }
  return out.sort();
}

const readsWithoutSecrets = ['|namespaces|get', '|nodes|list', '|nodes|watch', '|serviceaccounts|get'];

t.test('the ClusterRole grants exactly the reads pullguard makes, nothing else', async (t) => {
  const r = template();
  const role = r.one<V1ClusterRole>('ClusterRole');
  const all = grants(role.rules);
  t.same(all, [...readsWithoutSecrets, '|secrets|get'].sort());
  t.notOk(all.some((g) => g.includes('*')), 'no wildcards');
  t.notOk(all.some((g) => /\|(create|update|patch|delete|deletecollection|escalate|bind|impersonate)$/.test(g)), 'no writes');
  const binding = r.one<V1ClusterRoleBinding>('ClusterRoleBinding');
  t.same(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata?.name });
  t.same(binding.subjects, [{ kind: 'ServiceAccount', name: serviceName, namespace }]);
  t.notOk(r.has('Role'), 'no namespaced roles by default');
});

t.test('rbac.readSecrets=false removes every Secret read', async (t) => {
  const r = template({ rbac: { readSecrets: false, secretsNamespaces: ['ignored'] } });
  t.same(grants(r.one<V1ClusterRole>('ClusterRole').rules), readsWithoutSecrets);
  t.notOk(r.has('Role'));
});

t.test('rbac.secretsNamespaces limits Secret reads to those namespaces', async (t) => {
  const r = template({ rbac: { secretsNamespaces: ['team-a', 'team-b'] } });
  t.same(grants(r.one<V1ClusterRole>('ClusterRole').rules), readsWithoutSecrets, 'no cluster-wide Secret read');
  const roles = r.all<V1Role>('Role');
  t.same(roles.map((role) => role.metadata?.namespace), ['team-a', 'team-b']);
  for (const role of roles) t.same(grants(role.rules), ['|secrets|get']);
  const bindings = r.all<V1RoleBinding>('RoleBinding');
  t.same(bindings.map((b) => [b.metadata?.namespace, b.roleRef.name, b.subjects?.[0]?.namespace]), [
    ['team-a', `${serviceName}-secrets`, namespace], ['team-b', `${serviceName}-secrets`, namespace],
  ]);
});

t.test('rbac.create=false and serviceAccount.create=false render neither', async (t) => {
  const r = template({ rbac: { create: false }, serviceAccount: { create: false, name: 'existing-sa' } });
  t.notOk(r.has('ClusterRole') || r.has('ClusterRoleBinding') || r.has('ServiceAccount'));
  t.equal(r.one<V1Deployment>('Deployment').spec?.template.spec?.serviceAccountName, 'existing-sa');
});

t.test('the ServiceMonitor scrapes the metrics port of this release only', async (t) => {
  const sm = template({ monitoring: { serviceMonitor: { enabled: true, labels: { release: 'prom' } } } }).one<ServiceMonitor>('ServiceMonitor');
  t.equal(sm.apiVersion, 'monitoring.coreos.com/v1');
  t.same(sm.spec.selector.matchLabels, selectorLabels);
  t.same(sm.spec.endpoints.map((e) => [e.port, e.path]), [['metrics', '/metrics']]);
  t.equal(sm.metadata.labels?.['release'], 'prom');
});

t.test('the NetworkPolicy opens the webhook port to all and metrics to the chosen peers', async (t) => {
  const peer = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } };
  const np = template({ networkPolicy: { enabled: true, metricsFrom: [peer] } }).one<V1NetworkPolicy>('NetworkPolicy');
  t.same(np.spec?.podSelector?.matchLabels, selectorLabels);
  t.same(np.spec?.policyTypes, ['Ingress'], 'egress stays open: registries have no fixed addresses');
  t.same(np.spec?.ingress, [
    { ports: [{ port: 'webhook', protocol: 'TCP' }] },
    { from: [peer], ports: [{ port: 'metrics', protocol: 'TCP' }] },
  ]);
  const closed = template({ networkPolicy: { enabled: true } }).one<V1NetworkPolicy>('NetworkPolicy');
  t.same(closed.spec?.ingress, [{ ports: [{ port: 'webhook', protocol: 'TCP' }] }], 'no metricsFrom: metrics closed');
});
