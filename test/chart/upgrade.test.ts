// In helm TLS mode an upgrade must keep the CA and serving certificate already in the cluster: a new CA in the
// webhook configuration but the old certificate still served (or the reverse) fails every review until both match.
import type { V1Secret, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { X509Certificate } from 'node:crypto';
import t from 'tap';
import { startFakeApiServer, type FakeApiServer } from '../harness/fake-apiserver.ts';
import { namespace, release, serviceName, template, templateAgainst, type Rendered } from './render.ts';

const secretName = `${serviceName}-tls`;
const secretPath = `/api/v1/namespaces/${namespace}/secrets/${secretName}`;

function tlsOf(r: Rendered): { data: Record<string, string>; caBundle: string | undefined } {
  const secret = r.one<V1Secret>('Secret', secretName);
  const caBundle = r.one<V1ValidatingWebhookConfiguration>('ValidatingWebhookConfiguration').webhooks?.[0]?.clientConfig.caBundle;
  return { data: secret.data ?? {}, caBundle };
}

/** A cluster holding these objects (by API path), for `helm template --dry-run=server` (over HTTPS: helm sends its token). */
async function clusterWith(objects: { path: string; body: unknown }[]): Promise<FakeApiServer> {
  const cluster = await startFakeApiServer({ tls: true });
  for (const o of objects) cluster.setObject(o.path, o.body);
  return cluster;
}

const looked = (cluster: FakeApiServer, path: string): boolean => cluster.requests.some((r) => r.method === 'GET' && r.path === path);

/** The Secret as the cluster returns it after `helm install`, with Helm's ownership metadata. */
function installed(data: Record<string, string>): { path: string; body: unknown } {
  return {
    path: secretPath,
    body: {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: {
        name: secretName,
        namespace,
        labels: { 'app.kubernetes.io/managed-by': 'Helm' },
        annotations: { 'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': namespace },
      },
      data,
    },
  };
}

t.test('an upgrade reuses the CA, certificate and key already in the cluster', async (t) => {
  const first = tlsOf(template());
  const cluster = await clusterWith([installed(first.data)]);
  t.teardown(() => cluster.stop());
  const upgrade = tlsOf(await templateAgainst(cluster.kubeconfigFile, { config: { mode: 'warn' } }));
  t.ok(looked(cluster, secretPath), 'the chart looked the Secret up');
  t.same(upgrade.data, first.data, 'tls.crt, tls.key and ca.crt unchanged');
  t.equal(upgrade.caBundle, first.data['ca.crt'], 'the webhook keeps trusting the CA the pods serve from');
});

t.test('with no Secret in the cluster (first install) a new CA and certificate are generated', async (t) => {
  const cluster = await clusterWith([]);
  t.teardown(() => cluster.stop());
  const fresh = tlsOf(await templateAgainst(cluster.kubeconfigFile));
  t.ok(looked(cluster, secretPath));
  const ca = new X509Certificate(Buffer.from(fresh.data['ca.crt'] ?? '', 'base64'));
  const cert = new X509Certificate(Buffer.from(fresh.data['tls.crt'] ?? '', 'base64'));
  t.ok(cert.verify(ca.publicKey));
  t.equal(fresh.caBundle, fresh.data['ca.crt']);
});

t.test('an incomplete Secret (no ca.crt) is replaced by a consistent new set rather than half reused', async (t) => {
  const first = tlsOf(template());
  const { 'ca.crt': _dropped, ...withoutCA } = first.data;
  const cluster = await clusterWith([installed(withoutCA)]);
  t.teardown(() => cluster.stop());
  const next = tlsOf(await templateAgainst(cluster.kubeconfigFile));
  t.not(next.data['tls.crt'], first.data['tls.crt'], 'a new certificate');
  const ca = new X509Certificate(Buffer.from(next.data['ca.crt'] ?? '', 'base64'));
  t.ok(new X509Certificate(Buffer.from(next.data['tls.crt'] ?? '', 'base64')).verify(ca.publicKey), 'signed by the new CA');
  t.equal(next.caBundle, next.data['ca.crt']);
});
