// The chart and the server must never disagree about configuration: the rendered config.yaml passes the server's
// own validation, the chart's defaults are the server's defaults, and values.schema.json's `config` section is the
// server's schema less the keys the chart owns.
import type { V1ConfigMap, V1Deployment } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { configSchema, DEFAULT_CONFIG, parseConfigText } from '../../src/config.ts';
import { chartDir } from './helm.ts';
import { merge, modes, template, tlsVariants, type Rendered, type Values } from './render.ts';

/** Keys the chart derives from the rest of its values; setting them directly would let the two drift apart. */
const chartOwned: [section: 'server' | 'registry', key: string][] = [
  ['server', 'tlsCertFile'],
  ['server', 'tlsKeyFile'],
  ['server', 'defaultTimeoutSeconds'],
  ['registry', 'configFile'],
];

function withoutChartOwned<T>(value: T, nested: (v: T, section: string) => Record<string, unknown>): T {
  const copy = structuredClone(value);
  for (const [section, key] of chartOwned) delete nested(copy, section)[key];
  return copy;
}

/** A schema with every description (a string under `description`) removed, at any depth. */
function withoutDescriptions(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDescriptions);
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(Object.entries(node).filter(([k, v]) => !(k === 'description' && typeof v === 'string')).map(([k, v]) => [k, withoutDescriptions(v)]));
}

interface RenderedConfig {
  config: Record<string, unknown> & { server: Record<string, unknown>; registry: Record<string, unknown>; credentials: Record<string, unknown> };
  registries: unknown;
}

function configOf(r: Rendered): RenderedConfig {
  const cm = r.one<V1ConfigMap>('ConfigMap');
  const text = cm.data?.['config.yaml'];
  if (text === undefined) throw new Error('no config.yaml in the ConfigMap');
  const parsed = parseConfigText(text, 'config.yaml');
  if (!parsed.ok) throw new Error(`the server rejects the rendered config:\n${parsed.errors.join('\n')}`);
  const registriesText = cm.data?.['registries.yaml'];
  return { config: parsed.value as RenderedConfig['config'], registries: registriesText === undefined ? undefined : YAML.parse(registriesText) };
}

for (const [tlsName, tls] of Object.entries(tlsVariants)) {
  for (const mode of modes) {
    t.test(`with tls ${tlsName} in ${mode} mode config.yaml passes the server's validation and points at the mounts`, async (t) => {
      const r = template(merge(tls, { config: { mode } }));
      const { config, registries } = configOf(r);
      t.equal(config['mode'], mode);
      t.equal(config.server['defaultTimeoutSeconds'], 10, "the webhook's timeoutSeconds");
      t.equal(config.registry['configFile'], '', 'no registries file unless registries are configured');
      t.equal(registries, undefined);

      const d = r.one<V1Deployment>('Deployment');
      const c = d.spec?.template.spec?.containers[0];
      const mountOf = (name: string) => c?.volumeMounts?.find((m) => m.name === name)?.mountPath;
      t.equal(dirname(String(config.server['tlsCertFile'])), mountOf('tls'), 'certificate read from the mounted Secret');
      t.equal(dirname(String(config.server['tlsKeyFile'])), mountOf('tls'));
      t.same([config.server['tlsCertFile'], config.server['tlsKeyFile']].map((f) => String(f).split('/').pop()), ['tls.crt', 'tls.key']);
      t.equal(c?.args?.[2], join(mountOf('config') ?? '?', 'config.yaml'), 'the server is started with the mounted config');
      t.same(c?.ports?.map((p) => p.containerPort), [config.server['port'], config.server['metricsPort']]);
    });
  }
}

t.test('the chart exposes every server config key, defaulting to the server defaults', async (t) => {
  const values = YAML.parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as { config: unknown };
  const expected = withoutChartOwned(DEFAULT_CONFIG, (v, s) => (v as unknown as Record<string, Record<string, unknown>>)[s] ?? {});
  t.same(values.config, expected);
});

t.test("values.schema.json's config section is the server's config schema less the chart-owned keys", async (t) => {
  const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as { properties: { config: Record<string, unknown> } };
  // Descriptions come from values.yaml's comments (docs.test.ts checks them); everything else is the server's.
  const chartConfigSchema = withoutDescriptions(schema.properties.config);
  type SchemaNode = { properties: Record<string, { properties: Record<string, unknown> }> };
  const expected = withoutChartOwned(configSchema as unknown as SchemaNode, (v, s) => v.properties[s]?.properties ?? {});
  t.same(chartConfigSchema, JSON.parse(JSON.stringify(expected)));
});

t.test('the chart-owned keys follow the values they derive from', async (t) => {
  const { config } = configOf(template({ webhook: { timeoutSeconds: 7 } }));
  t.equal(config.server['defaultTimeoutSeconds'], 7, 'server and API server share one deadline');
  for (const [section, key] of chartOwned) t.ok(key in config[section], `${section}.${key} is always written`);
});

t.test('every config value set in the chart reaches config.yaml unchanged, integers included', async (t) => {
  const custom = {
    mode: 'warn',
    server: { host: '::', port: 9443, metricsHost: '127.0.0.1', metricsPort: 9091, bodyLimitBytes: 67108864, deadlineMarginMs: 2500, lagMarginMs: 50, shutdownGraceMs: 25000, tlsExpiryWindowSeconds: 0, headersTimeoutMs: 3000, requestTimeoutMs: 20000, inCluster: false },
    limits: { imagesPerReview: 1000, resolutionsInFlight: 256, jsonDepth: 128, problemsLogged: 5, pullSecretsPerReview: 8 },
    modeLabel: 'example.com/pull-mode',
    exclude: { images: ['registry.example.com/scratch/*'], registries: ['*.internal'], namespaces: ['sandbox'] },
    credentials: { dockerConfigFiles: ['/etc/extra/config.json'], nodeCredentialRegistries: [], serviceAccountSecrets: false },
    credentialProviders: { config: '/etc/kubernetes/credential-providers', binDir: '/opt/credential-providers' },
    platforms: { fallback: ['linux/amd64', 'linux/arm64/v8'], fromNodes: false, execFormatError: 'warn' },
    registry: { requestTimeoutMs: 12000, certsDir: '/etc/pullguard/certs.d' },
    cache: { tagTtlSeconds: 0, digestTtlSeconds: 604800, negativeTtlSeconds: 30, maxEntries: 250000, maxBytes: 1073741824, cleanCheckTtlMs: 250 },
    kubernetes: { enabled: true, kubeconfig: '/etc/kube/config', secretTtlSeconds: 0 },
    logLevel: 'debug',
    audit: { enabled: true, intervalMinutes: 30, namespaces: { include: ['team-*'], exclude: ['kube-system'] }, maxSeries: 500, events: true, lease: { name: 'audit-lock', namespace: 'ops', durationSeconds: 30 } },
  };
  const r = template({ config: custom });
  const { config } = configOf(r);
  const { tlsCertFile: _c, tlsKeyFile: _k, defaultTimeoutSeconds: _d, ...server } = config.server;
  const { configFile: _f, ...registry } = config.registry;
  t.same({ ...config, server, registry }, custom);
  const c = r.one<V1Deployment>('Deployment').spec?.template.spec?.containers[0];
  t.same(c?.ports?.map((p) => p.containerPort), [9443, 9091], 'container ports follow the config');
});

t.test('registries and registryDefaults render registries.yaml and point the config at it', async (t) => {
  const registries = {
    'registry.example.com:5000': {
      ca: '/etc/pullguard-ca/example.pem', insecureSkipVerify: false, plainHTTP: false, nodeCredentials: true, maxConcurrency: 4,
      mirrors: [{ host: 'mirror.local:5000', plainHTTP: true }],
    },
  };
  const registryDefaults = { requestTimeoutMs: 3000, maxManifestBytes: 4194304, maxTagPages: 5, maxConcurrency: 8 };
  const both = configOf(template({ registries, registryDefaults }));
  t.equal(both.config.registry['configFile'], '/etc/pullguard/registries.yaml');
  t.same(both.registries, { registries, defaults: registryDefaults });

  const onlyDefaults = configOf(template({ registryDefaults }));
  t.same(onlyDefaults.registries, { defaults: registryDefaults });
  t.equal(onlyDefaults.config.registry['configFile'], '/etc/pullguard/registries.yaml');
});

t.test('node credentials are appended to the configured docker config files', async (t) => {
  const values: Values = { nodeCredentials: { existingSecret: 'node-creds' }, config: { credentials: { dockerConfigFiles: ['/a/config.json'] } } };
  const { config } = configOf(template(values));
  t.same(config.credentials['dockerConfigFiles'], ['/a/config.json', '/etc/pullguard-docker/config.json']);
});
