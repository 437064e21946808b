// The ValidatingWebhookConfiguration: what it sends to pullguard, what it never sends, and how it reaches it.
import type { V1ValidatingWebhook, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import t from 'tap';
import { merge, modes, namespace, serviceName, template, testCA, tlsVariants, type Values } from './render.ts';

function webhookOf(values: Values): { config: V1ValidatingWebhookConfiguration; webhook: V1ValidatingWebhook } {
  const config = template(values).one<V1ValidatingWebhookConfiguration>('ValidatingWebhookConfiguration');
  const webhook = config.webhooks?.[0];
  if (config.webhooks?.length !== 1 || webhook === undefined) throw new Error('expected exactly one webhook');
  return { config, webhook };
}

/** Every (group, resource, operation) the rules match, as "group/resource:OPERATION". */
function covered(webhook: V1ValidatingWebhook): string[] {
  const out: string[] = [];
  for (const rule of webhook.rules ?? []) {
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        for (const op of rule.operations ?? []) out.push(`${group || 'core'}/${resource}:${op}`);
      }
    }
  }
  return out.sort();
}

const expectedCoverage = [
  'core/pods:CREATE',
  'core/pods/ephemeralcontainers:UPDATE',
  'core/replicationcontrollers:CREATE',
  'core/replicationcontrollers:UPDATE',
  'core/podtemplates:CREATE',
  'core/podtemplates:UPDATE',
  'apps/deployments:CREATE',
  'apps/deployments:UPDATE',
  'apps/replicasets:CREATE',
  'apps/replicasets:UPDATE',
  'apps/statefulsets:CREATE',
  'apps/statefulsets:UPDATE',
  'apps/daemonsets:CREATE',
  'apps/daemonsets:UPDATE',
  'batch/jobs:CREATE',
  'batch/jobs:UPDATE',
  'batch/cronjobs:CREATE',
  'batch/cronjobs:UPDATE',
].sort();

for (const [tlsName, tls] of Object.entries(tlsVariants)) {
  for (const mode of modes) {
    t.test(`with tls ${tlsName} in ${mode} mode the webhook covers every workload kind and excludes what it must`, async (t) => {
      const { config, webhook } = webhookOf(merge(tls, { config: { mode } }));
      t.equal(webhook.name, 'images.pullguard.io');
      t.same(covered(webhook), expectedCoverage, 'pods, ephemeral containers and every pod-template controller');
      for (const rule of webhook.rules ?? []) {
        t.same(rule.apiVersions, ['v1'], `${rule.resources?.join(',')}: v1 (matchPolicy Equivalent covers the rest)`);
        t.equal(rule.scope, 'Namespaced');
      }
      t.equal(webhook.failurePolicy, 'Ignore', 'availability first by default');
      t.equal(webhook.timeoutSeconds, 10);
      t.equal(webhook.sideEffects, 'None', 'so server-side dry runs are checked too');
      t.same(webhook.admissionReviewVersions, ['v1']);
      t.equal(webhook.matchPolicy, 'Equivalent');

      const nsExpressions = webhook.namespaceSelector?.matchExpressions ?? [];
      t.same(nsExpressions.find((e) => e.key === 'kubernetes.io/metadata.name'), {
        key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [namespace, 'kube-system'],
      }, 'the release namespace and kube-system are never sent');
      t.same(nsExpressions.find((e) => e.key === 'pullguard.io/mode'), { key: 'pullguard.io/mode', operator: 'NotIn', values: ['off'] },
        'namespaces labelled off are never sent');
      t.same(webhook.objectSelector, { matchExpressions: [{ key: 'pullguard.io/ignore', operator: 'NotIn', values: ['true'] }] });

      t.same(webhook.clientConfig.service, { name: serviceName, namespace, path: '/validate', port: 443 });
      t.equal(webhook.clientConfig.url, undefined);
      const inject = config.metadata?.annotations?.['cert-manager.io/inject-ca-from'];
      if (tlsName === 'certManager') {
        t.equal(inject, `${namespace}/${serviceName}-tls`, "cert-manager's cainjector fills the caBundle from the serving certificate");
        t.equal(webhook.clientConfig.caBundle, undefined, 'no caBundle to fight the injector over');
      } else {
        t.equal(inject, undefined);
        t.match(Buffer.from(webhook.clientConfig.caBundle ?? '', 'base64').toString(), /^-----BEGIN CERTIFICATE-----/, 'caBundle is a base64 PEM');
      }
      if (tlsName === 'existingSecret') t.equal(webhook.clientConfig.caBundle, testCA, 'the caBundle given in values');
    });
  }
}

t.test('extra excluded namespaces, failure policy, timeout and ignore label come from values', async (t) => {
  const { webhook } = webhookOf({
    webhook: { excludeNamespaces: ['monitoring', 'kube-system'], failurePolicy: 'Fail', timeoutSeconds: 5, ignoreLabel: 'example.com/skip-pull-check' },
    config: { modeLabel: 'example.com/pull-mode' },
  });
  t.same(webhook.namespaceSelector?.matchExpressions, [
    { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [namespace, 'kube-system', 'monitoring'] },
    { key: 'example.com/pull-mode', operator: 'NotIn', values: ['off'] },
  ], 'a custom mode label is the one the selector reads');
  t.equal(webhook.failurePolicy, 'Fail');
  t.equal(webhook.timeoutSeconds, 5);
  t.same(webhook.objectSelector, { matchExpressions: [{ key: 'example.com/skip-pull-check', operator: 'NotIn', values: ['true'] }] });
});

t.test('an empty ignore label means no objectSelector', async (t) => {
  const { webhook } = webhookOf({ webhook: { ignoreLabel: '' } });
  t.equal(webhook.objectSelector, undefined);
});

t.test('webhook.url sends reviews to a webhook outside the cluster and still deploys it unless external', async (t) => {
  const url = 'https://192.168.1.20:8443/validate';
  const inside = template({ webhook: { url }, tls: { caBundle: testCA } });
  const webhook = inside.one<V1ValidatingWebhookConfiguration>('ValidatingWebhookConfiguration').webhooks?.[0];
  t.equal(webhook?.clientConfig.url, url);
  t.equal(webhook?.clientConfig.service, undefined);
  t.equal(webhook?.clientConfig.caBundle, testCA, 'the CA of the external server, not a generated one');
  t.ok(inside.has('Deployment'));

  const outside = template({ webhook: { url, external: true }, tls: { caBundle: testCA } });
  t.same(outside.docs.map((d) => d.kind), ['ValidatingWebhookConfiguration'], 'external: only the webhook configuration');
});

t.test('certManager mode with webhook.url uses the given caBundle instead of injection', async (t) => {
  const { config, webhook } = webhookOf({ webhook: { url: 'https://dev.example.com/validate' }, tls: { mode: 'certManager', caBundle: testCA } });
  t.equal(config.metadata?.annotations?.['cert-manager.io/inject-ca-from'], undefined);
  t.equal(webhook.clientConfig.caBundle, testCA);
});
