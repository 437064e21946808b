// Webhook TLS, three ways: a Helm-generated CA and serving certificate, a cert-manager CA chain, or the user's
// own Secret. In every case the API server must trust what the pods serve.
import type { V1Secret, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import t from 'tap';
import { namespace, serviceName, template, tlsVariants, type Manifest } from './render.ts';

interface Certificate extends Manifest {
  spec: { isCA?: boolean; secretName: string; dnsNames?: string[]; issuerRef: { name: string; kind: string }; usages?: string[] };
}
interface Issuer extends Manifest {
  spec: { selfSigned?: object; ca?: { secretName: string } };
}

const serviceDnsNames = [serviceName, `${serviceName}.${namespace}`, `${serviceName}.${namespace}.svc`, `${serviceName}.${namespace}.svc.cluster.local`];

function decode(secret: V1Secret, key: string): string {
  const value = secret.data?.[key];
  if (value === undefined) throw new Error(`Secret has no ${key}`);
  return Buffer.from(value, 'base64').toString('utf8');
}

t.test('helm mode generates a CA that signs a serving certificate for the Service names, and trusts that CA', async (t) => {
  const r = template(tlsVariants['helm']);
  const secret = r.one<V1Secret>('Secret', `${serviceName}-tls`);
  t.equal(secret.type, 'kubernetes.io/tls');
  const ca = new X509Certificate(decode(secret, 'ca.crt'));
  const cert = new X509Certificate(decode(secret, 'tls.crt'));

  t.ok(ca.ca, 'ca.crt is a CA certificate');
  t.ok(cert.checkIssued(ca), 'the serving certificate names the CA as issuer');
  t.ok(cert.verify(ca.publicKey), "the serving certificate carries the CA's signature");
  t.notOk(cert.ca, 'the serving certificate is not itself a CA');
  const sans = (cert.subjectAltName ?? '').split(', ').map((s) => s.replace(/^DNS:/, ''));
  t.same(sans.sort(), [...serviceDnsNames].sort(), 'every name the API server may use for the Service');
  t.ok(cert.checkHost(`${serviceName}.${namespace}.svc`), 'valid for <service>.<namespace>.svc, the name the API server calls');

  const key = createPrivateKey(decode(secret, 'tls.key'));
  t.same(createPublicKey(key).export({ format: 'jwk' }), cert.publicKey.export({ format: 'jwk' }), 'tls.key belongs to tls.crt');
  t.ok(new Date(cert.validTo).getTime() > Date.now() + 365 * 86_400_000, 'valid for years (tls.validityDays)');

  const caBundle = r.one<V1ValidatingWebhookConfiguration>('ValidatingWebhookConfiguration').webhooks?.[0]?.clientConfig.caBundle;
  t.equal(caBundle, secret.data?.['ca.crt'], 'the webhook trusts the very CA in the Secret');
});

t.test('helm mode uses the cluster domain from values in the certificate names', async (t) => {
  const secret = template({ clusterDomain: 'corp.internal' }).one<V1Secret>('Secret', `${serviceName}-tls`);
  const cert = new X509Certificate(decode(secret, 'tls.crt'));
  t.match(cert.subjectAltName, `DNS:${serviceName}.${namespace}.svc.corp.internal`);
});

t.test('certManager mode chains a self-signed Issuer, a CA Certificate, a CA Issuer and the serving Certificate', async (t) => {
  const r = template(tlsVariants['certManager']);
  t.notOk(r.all<V1Secret>('Secret').length, 'the chart renders no Secret: cert-manager writes it');
  const issuers = r.all<Issuer>('Issuer');
  const certificates = r.all<Certificate>('Certificate');
  t.equal(issuers.length, 2);
  t.equal(certificates.length, 2);

  const selfSigned = issuers.find((i) => i.spec.selfSigned !== undefined);
  const caCert = certificates.find((c) => c.spec.isCA === true);
  const caIssuer = issuers.find((i) => i.spec.ca !== undefined);
  const serving = certificates.find((c) => c.spec.isCA !== true);
  t.equal(caCert?.spec.issuerRef.name, selfSigned?.metadata.name, 'the CA is signed by the self-signed Issuer');
  t.equal(caIssuer?.spec.ca?.secretName, caCert?.spec.secretName, "the CA Issuer signs with the CA Certificate's Secret");
  t.equal(serving?.spec.issuerRef.name, caIssuer?.metadata.name, 'the serving Certificate is signed by the CA Issuer');
  t.same(serving?.spec.dnsNames, serviceDnsNames);
  t.ok(serving?.spec.usages?.includes('server auth'));
  t.equal(serving?.spec.secretName, `${serviceName}-tls`, 'the Secret the Deployment mounts');
  for (const o of [...issuers, ...certificates]) {
    t.equal(o.apiVersion, 'cert-manager.io/v1');
    t.equal(o.metadata.namespace, namespace);
  }
  const config = r.one<V1ValidatingWebhookConfiguration>('ValidatingWebhookConfiguration');
  t.equal(config.metadata?.annotations?.['cert-manager.io/inject-ca-from'], `${namespace}/${serving?.metadata.name}`,
    'the cainjector reads the CA of the serving Certificate');
});

t.test('existingSecret mode renders neither a Secret nor cert-manager objects', async (t) => {
  const r = template(tlsVariants['existingSecret']);
  t.notOk(r.has('Secret') || r.has('Certificate') || r.has('Issuer'));
});

t.test('helm mode renders no cert-manager objects', async (t) => {
  const r = template(tlsVariants['helm']);
  t.notOk(r.has('Certificate') || r.has('Issuer'));
});
