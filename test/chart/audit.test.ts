// The chart's audit parts, rendered and linted with the real helm: RBAC for the continuous audit only when it is on
// (list on the workload kinds; the Lease; events only with config.audit.events), the PrometheusRule and the
// Grafana dashboard ConfigMap, both off by default.
import type { V1ClusterRole, V1ConfigMap, V1Role } from '@kubernetes/client-node';
import t from 'tap';
import { parseConfigText } from '../../src/config.ts';
import { lint, namespace, release, template, templateError } from './render.ts';

const fullname = `${release}-pullguard`;
const auditOn = { config: { audit: { enabled: true } } };

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface PrometheusRule {
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: { groups: { name: string; rules: Rule[] }[] };
}

t.test('by default: no audit RBAC, no PrometheusRule, no dashboard; the config says audit off', async (t) => {
  const r = template();
  t.notOk(r.all<V1ClusterRole>('ClusterRole').some((c) => c.metadata?.name === `${fullname}-audit`));
  t.notOk(r.has('Role') && r.all<V1Role>('Role').some((c) => c.metadata?.name === `${fullname}-audit-lease`));
  t.notOk(r.has('PrometheusRule'));
  t.equal(r.all('ConfigMap').length, 1, 'only the config ConfigMap');
  const cm = r.one<V1ConfigMap>('ConfigMap');
  const parsed = parseConfigText(cm.data?.['config.yaml'] ?? '', 'config.yaml');
  t.ok(parsed.ok);
  t.match(parsed.ok ? parsed.value : {}, { audit: { enabled: false, intervalMinutes: 60 } });
});

t.test('config.audit.enabled: list on every audited kind, the Lease by name in the release namespace, no events', async (t) => {
  const r = template(auditOn);
  const role = r.one<V1ClusterRole>('ClusterRole', `${fullname}-audit`);
  const verbs = (group: string, resource: string) => role.rules?.filter((x) => x.apiGroups?.includes(group) && x.resources?.includes(resource)).flatMap((x) => x.verbs) ?? [];
  for (const [group, resource] of [['apps', 'deployments'], ['apps', 'statefulsets'], ['apps', 'daemonsets'], ['apps', 'replicasets'], ['batch', 'cronjobs'], ['batch', 'jobs'], ['', 'replicationcontrollers'], ['', 'pods']] as const) {
    t.same(verbs(group, resource), ['list'], `${resource}: list only`);
  }
  t.same(verbs('', 'events'), [], 'no events unless config.audit.events');
  const lease = r.one<V1Role>('Role', `${fullname}-audit-lease`);
  t.equal(lease.metadata?.namespace, namespace);
  t.same(lease.rules, [
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['pullguard-audit'], verbs: ['get', 'update'] },
  ]);
  const binding = r.one<{ roleRef: { name: string }; subjects: { name: string; namespace: string }[] }>('ClusterRoleBinding', `${fullname}-audit`);
  t.equal(binding.roleRef.name, `${fullname}-audit`);
  t.equal(binding.subjects[0]?.namespace, namespace);
});

t.test('config.audit.events adds create on events; a lease namespace and name move the Role', async (t) => {
  const r = template({ config: { audit: { enabled: true, events: true, lease: { namespace: 'ops', name: 'audit-lock' } } } });
  const role = r.one<V1ClusterRole>('ClusterRole', `${fullname}-audit`);
  t.same(role.rules?.find((x) => x.resources?.includes('events')), { apiGroups: [''], resources: ['events'], verbs: ['create'] });
  const lease = r.one<V1Role>('Role', `${fullname}-audit-lease`);
  t.equal(lease.metadata?.namespace, 'ops');
  t.same(lease.rules?.[1]?.resourceNames, ['audit-lock']);
  t.equal(r.one<{ metadata: { namespace: string } }>('RoleBinding', `${fullname}-audit-lease`).metadata.namespace, 'ops');
});

t.test('rbac.create=false: no audit RBAC either', async (t) => {
  const r = template({ ...auditOn, rbac: { create: false } });
  t.notOk(r.all<V1ClusterRole>('ClusterRole').some((c) => c.metadata?.name === `${fullname}-audit`));
});

t.test('the PrometheusRule: workloads that would not pull, unknown share, latency near the timeout, Docker Hub budget', async (t) => {
  const r = template({ ...auditOn, webhook: { timeoutSeconds: 10 }, audit: { prometheusRule: { enabled: true, labels: { release: 'kube-prometheus' } } } });
  const rule = r.one<PrometheusRule>('PrometheusRule');
  t.equal(rule.metadata.namespace, namespace);
  t.equal(rule.metadata.labels['release'], 'kube-prometheus');
  const alerts = Object.fromEntries(rule.spec.groups[0]!.rules.map((x) => [x.alert, x]));
  t.same(Object.keys(alerts).sort(), ['PullguardAuditStale', 'PullguardAuditUnknownShareHigh', 'PullguardDockerHubBudgetLow', 'PullguardWebhookLatencyNearTimeout', 'PullguardWorkloadImageWouldNotPull']);
  t.equal(alerts['PullguardWorkloadImageWouldNotPull']!.expr, 'sum by (namespace, kind, name) (pullguard_audit_workload_problems{verdict="deny"}) > 0');
  t.match(alerts['PullguardWorkloadImageWouldNotPull']!.annotations['summary'], '{{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }}', 'Prometheus templating survives helm');
  t.match(alerts['PullguardAuditUnknownShareHigh']!.expr, /> 0\.2$/);
  t.match(alerts['PullguardWebhookLatencyNearTimeout']!.expr, /rate\(pullguard_admission_duration_seconds_bucket\[5m\]\)\)\) > 8$/, '0.8 of the 10 s timeout');
  t.match(alerts['PullguardDockerHubBudgetLow']!.expr, /pullguard_registry_ratelimit_remaining\{host=~"registry-1\\\\.docker\\\\.io\|.*"\}\) < 20$/);
  t.match(alerts['PullguardAuditStale']!.expr, /> 10800$/, 'three 60-minute intervals');
  const off = template({ audit: { prometheusRule: { enabled: true } } }).one<PrometheusRule>('PrometheusRule');
  t.notOk(off.spec.groups[0]!.rules.some((x) => x.alert === 'PullguardAuditStale'), 'no staleness alert when the audit is off');
});

t.test('the Grafana dashboard: a ConfigMap with the sidecar label and a dashboard over pullguard\'s metrics', async (t) => {
  const r = template({ audit: { grafanaDashboard: { enabled: true, annotations: { grafana_folder: 'Platform' } } } });
  const cm = r.one<V1ConfigMap>('ConfigMap', `${fullname}-dashboard`);
  t.equal(cm.metadata?.labels?.['grafana_dashboard'], '1');
  t.equal(cm.metadata?.annotations?.['grafana_folder'], 'Platform');
  const dashboard = JSON.parse(cm.data?.['pullguard.json'] ?? '') as { uid: string; panels: { title: string; targets: { expr: string; legendFormat: string }[] }[] };
  t.equal(dashboard.uid, 'pullguard');
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((x) => x.expr)).join('\n');
  for (const metric of ['pullguard_audit_workload_problems', 'pullguard_audit_images', 'pullguard_audit_last_run_timestamp_seconds', 'pullguard_admission_duration_seconds_bucket', 'pullguard_registry_ratelimit_remaining']) t.match(exprs, metric);
  t.ok(dashboard.panels.some((p) => p.targets.some((x) => x.legendFormat === '{{host}}')), 'legend templates reach Grafana as written');
});

t.test('values are validated: unknown keys and out-of-range shares fail', async (t) => {
  t.match(templateError({ audit: { prometheusRule: { enabeld: true } } }), /enabeld/);
  t.match(templateError({ audit: { prometheusRule: { unknownShare: 2 } } }), /unknownShare/);
  t.match(templateError({ config: { audit: { intervalMinutes: 0 } } }), /intervalMinutes/);
});

t.test('helm lint --strict passes with the audit, events, rule and dashboard on', async (t) => {
  const run = lint({ config: { audit: { enabled: true, events: true } }, audit: { prometheusRule: { enabled: true }, grafanaDashboard: { enabled: true } } });
  if (!run.ok) t.comment(run.stdout + run.stderr);
  t.equal(run.ok, true);
});
