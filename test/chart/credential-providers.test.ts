// The chart's credentialProviders values, rendered and linted with the real helm: the CredentialProviderConfig in
// the ConfigMap (which pullguard's own loader accepts), the init container that copies the plugins into a shared
// emptyDir (its command run here for real), config.yaml pointing at both, the ServiceAccount annotations of IRSA,
// EKS Pod Identity and GKE Workload Identity, and AKS's azure.json mounted for the plugin's one argument.
import type { V1ConfigMap, V1Deployment, V1ServiceAccount } from '@kubernetes/client-node';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseConfigText } from '../../src/config.ts';
import { loadCredentialProviderConfig } from '../../src/credentials/provider-config.ts';
import { lint, merge, template, templateError, type Values } from './render.ts';

const provider = (name: string, matchImages: string[], extra: Values = {}): Values => ({ name, matchImages, defaultCacheDuration: '12h', apiVersion: 'credentialprovider.kubelet.k8s.io/v1', ...extra });
const enabled = (providers: Values[], extra: Values = {}): Values => merge({
  credentialProviders: {
    enabled: true,
    image: { repository: 'registry.example.com/platform/credential-providers', tag: 'v1.31.0' },
    config: { apiVersion: 'kubelet.config.k8s.io/v1', kind: 'CredentialProviderConfig', providers },
  },
}, extra);

/** One worked example per cloud, as in the README. */
const clouds: Record<string, { values: Values; annotations: Record<string, string>; labels?: Record<string, string>; mountPath?: string }> = {
  'EKS with IRSA': {
    values: enabled([provider('ecr-credential-provider', ['*.dkr.ecr.*.amazonaws.com', '*.dkr.ecr.*.amazonaws.com.cn'], { args: ['get-credentials'] })], {
      credentialProviders: { serviceAccountAnnotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/pullguard-ecr-read' }, env: [{ name: 'AWS_REGION', value: 'eu-west-1' }] },
    }),
    annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/pullguard-ecr-read' },
  },
  'EKS Pod Identity': {
    values: enabled([provider('ecr-credential-provider', ['*.dkr.ecr.*.amazonaws.com'], { args: ['get-credentials'] })]),
    annotations: {},
  },
  'GKE Workload Identity': {
    values: enabled([provider('gcp-credential-provider', ['gcr.io', '*.gcr.io', '*.pkg.dev'], { args: ['--v=3'], defaultCacheDuration: '1m' })], {
      credentialProviders: { serviceAccountAnnotations: { 'iam.gke.io/gcp-service-account': 'pullguard@my-project.iam.gserviceaccount.com' } },
    }),
    annotations: { 'iam.gke.io/gcp-service-account': 'pullguard@my-project.iam.gserviceaccount.com' },
  },
  // acr-credential-provider uses no Workload Identity: a managed identity (or service principal) named in the
  // azure.json its one argument names, mounted from a Secret (cloud-provider-azure azure_credentials.go @001de37).
  'AKS (managed identity in azure.json)': {
    values: merge(enabled([provider('acr-credential-provider', ['*.azurecr.io', '*.azurecr.cn', '*.azurecr.de', '*.azurecr.us', '*.*.geo.azurecr.io'], { defaultCacheDuration: '10m', args: ['/etc/pullguard/azure/azure.json'] })]), {
      extraVolumes: [{ name: 'azure-config', secret: { secretName: 'pullguard-azure-json' } }],
      extraVolumeMounts: [{ name: 'azure-config', mountPath: '/etc/pullguard/azure', readOnly: true }],
    }),
    annotations: {},
    mountPath: '/etc/pullguard/azure',
  },
};

const work = mkdtempSync(join(tmpdir(), 'pullguard-chart-providers-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

for (const [cloud, c] of Object.entries(clouds)) {
  t.test(`${cloud}: the plugins are copied, configured and given the pod's cloud identity`, async (t) => {
    const r = template(c.values);
    const cm = r.one<V1ConfigMap>('ConfigMap');
    const parsed = parseConfigText(cm.data?.['config.yaml'] ?? '', 'config.yaml');
    if (!parsed.ok) return t.fail(parsed.errors.join('\n'));
    const cp = (parsed.value as { credentialProviders: { config: string; binDir: string } }).credentialProviders;
    t.same(cp, { config: '/etc/pullguard/credential-providers.yaml', binDir: '/var/lib/pullguard/credential-providers' });

    const pod = r.one<V1Deployment>('Deployment').spec?.template;
    const init = pod?.spec?.initContainers?.[0];
    const main = pod?.spec?.containers[0];
    t.equal(init?.image, 'registry.example.com/platform/credential-providers:v1.31.0');
    t.equal(init?.volumeMounts?.[0]?.mountPath, cp.binDir, 'the init container writes the bin dir');
    t.same(main?.volumeMounts?.find((m) => m.name === 'credential-providers'), { name: 'credential-providers', mountPath: cp.binDir, readOnly: true }, 'pullguard reads it');
    t.ok(pod?.spec?.volumes?.find((v) => v.name === 'credential-providers')?.emptyDir, 'shared through an emptyDir');
    t.equal(main?.volumeMounts?.find((m) => m.name === 'config')?.mountPath, '/etc/pullguard', 'the provider config is in the mounted ConfigMap');

    // Run the init container's command as the kubelet would, then load the rendered config as pullguard would.
    const src = join(work, `${cloud}-image`);
    const dst = join(work, `${cloud}-bin`);
    mkdirSync(src);
    mkdirSync(dst);
    const providers = (c.values['credentialProviders'] as { config: { providers: { name: string }[] } }).config.providers;
    for (const p of [...providers, { name: 'unrelated-tool' }]) {
      writeFileSync(join(src, p.name), '#!/bin/sh\n');
      chmodSync(join(src, p.name), 0o644);
    }
    const env = Object.fromEntries((init?.env ?? []).map((e) => [e.name, e.value ?? '']));
    const run = spawnSync(init?.command?.[0] ?? '', init?.command?.slice(1) ?? [], { env: { ...env, SRC: src, DST: dst, PATH: process.env['PATH'] }, encoding: 'utf8' });
    t.equal(run.status, 0, run.stderr);
    t.same(readdirSync(dst).sort(), providers.map((p) => p.name).sort(), 'exactly the configured plugins are copied');
    const confFile = join(work, `${cloud}.yaml`);
    writeFileSync(confFile, cm.data?.['credential-providers.yaml'] ?? '');
    const loaded = loadCredentialProviderConfig(confFile, dst);
    t.equal(loaded.ok, true, loaded.ok ? 'pullguard loads the rendered config with the copied plugins' : loaded.errors.join('\n'));

    const sa = r.one<V1ServiceAccount>('ServiceAccount');
    t.same(sa.metadata?.annotations ?? {}, c.annotations, 'ServiceAccount annotations');
    for (const [k, v] of Object.entries(c.labels ?? {})) t.equal(pod?.metadata?.labels?.[k], v, `pod label ${k}`);
    if (c.mountPath) t.ok(main?.volumeMounts?.some((m) => m.mountPath === c.mountPath), `the file the plugin's args name is mounted at ${c.mountPath}`);

    const lintRun = lint(c.values);
    if (!lintRun.ok) t.comment(lintRun.stdout + lintRun.stderr);
    t.equal(lintRun.ok, true, 'helm lint --strict passes');
  });
}

t.test('a copy fails loudly when the image lacks a configured plugin', async (t) => {
  const r = template(clouds['EKS Pod Identity']!.values);
  const init = r.one<V1Deployment>('Deployment').spec?.template.spec?.initContainers?.[0];
  const dst = join(work, 'missing-bin');
  mkdirSync(dst);
  const env = Object.fromEntries((init?.env ?? []).map((e) => [e.name, e.value ?? '']));
  const run = spawnSync(init?.command?.[0] ?? '', init?.command?.slice(1) ?? [], { env: { ...env, SRC: join(work, 'empty-image'), DST: dst, PATH: process.env['PATH'] }, encoding: 'utf8' });
  t.not(run.status, 0, 'the pod does not start without its plugins');
});

t.test('off by default: no init container, no extra volume, no provider config', async (t) => {
  const r = template({ credentialProviders: { serviceAccountAnnotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/x' }, env: [{ name: 'AWS_REGION', value: 'x' }] } });
  const pod = r.one<V1Deployment>('Deployment').spec?.template;
  t.equal(pod?.spec?.initContainers, undefined);
  t.notOk(pod?.spec?.volumes?.some((v) => v.name === 'credential-providers'));
  t.notOk(pod?.spec?.containers[0]?.env?.some((e) => e.name === 'AWS_REGION'), 'provider env only when enabled');
  const cm = r.one<V1ConfigMap>('ConfigMap');
  t.equal(cm.data?.['credential-providers.yaml'], undefined);
  const parsed = parseConfigText(cm.data?.['config.yaml'] ?? '', 'config.yaml');
  t.match(parsed, { ok: true, value: { credentialProviders: { config: '', binDir: '' } } });
  t.equal(r.one<V1ServiceAccount>('ServiceAccount').metadata?.annotations, undefined, 'provider annotations only when enabled');
});

t.test('the image by digest, and serviceAccount.annotations kept beside the providers\'', async (t) => {
  const values = merge(clouds['EKS with IRSA']!.values, { credentialProviders: { image: { digest: `sha256:${'a'.repeat(64)}` } }, serviceAccount: { annotations: { team: 'platform' } } });
  const r = template(values);
  t.equal(r.one<V1Deployment>('Deployment').spec?.template.spec?.initContainers?.[0]?.image, `registry.example.com/platform/credential-providers@sha256:${'a'.repeat(64)}`);
  t.same(r.one<V1ServiceAccount>('ServiceAccount').metadata?.annotations, { team: 'platform', 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/pullguard-ecr-read' });
});

t.test('enabled without providers or without an image is refused with what to set', async (t) => {
  t.match(templateError(enabled([])), 'credentialProviders.enabled needs credentialProviders.config.providers');
  t.match(templateError(merge(enabled([provider('p', ['*.azurecr.io'])]), { credentialProviders: { image: { repository: '' } } })), 'needs credentialProviders.image.repository');
  t.match(templateError(enabled([provider('p', ['*.azurecr.io'])], { credentialProviders: { typo: 1 } })), /typo/);
  t.match(templateError(enabled([{ name: 'p' }])), /matchImages/, 'the schema wants the kubelet\'s required fields');
});
