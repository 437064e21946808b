// values.schema.json rejects typos and impossible values at every level, and the templates refuse combinations
// the schema cannot express, each with a message that says what to set.
import t from 'tap';
import { lint, templateError, testCA, type Values } from './render.ts';

const typos: Record<string, Values> = {
  'a top-level key': { replicaCont: 3 },
  'a key under image': { image: { tagg: 'v1' } },
  'a key under webhook': { webhook: { failurePolicyy: 'Fail' } },
  'a key under tls': { tls: { mod: 'helm' } },
  'a key under tls.certManager': { tls: { certManager: { durration: '1h' } } },
  'a key under rbac': { rbac: { readSecret: false } },
  'a key under config': { config: { mod: 'warn' } },
  'a key under config.server': { config: { server: { prot: 8443 } } },
  'a key under config.cache': { config: { cache: { maxEntires: 10 } } },
  'a key under a registry': { registries: { 'r.example.com': { insecureSkipVerfy: true } } },
  'a key under a registry mirror': { registries: { 'r.example.com': { mirrors: [{ host: 'm', plainHttp: true }] } } },
  'a key under registryDefaults': { registryDefaults: { requestTimeout: 10 } },
  'a key under monitoring.serviceMonitor': { monitoring: { serviceMonitor: { enable: true } } },
  'a key under networkPolicy': { networkPolicy: { enable: true } },
  'a key under a probe': { livenessProbe: { periodSecond: 5 } },
  'a key under a topology spread constraint': { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'k', whenUnsatisfiable: 'ScheduleAnyway', labelSelectr: {} }] },
  'a chart-owned config key (server.tlsCertFile)': { config: { server: { tlsCertFile: '/x' } } },
  'a chart-owned config key (registry.configFile)': { config: { registry: { configFile: '/x' } } },
};

const invalid: Record<string, Values> = {
  'an unknown mode': { config: { mode: 'audit' } },
  'an unknown TLS mode': { tls: { mode: 'selfSigned' } },
  'an unknown failure policy': { webhook: { failurePolicy: 'Retry' } },
  'a webhook timeout above the API server maximum': { webhook: { timeoutSeconds: 31 } },
  'a webhook name with fewer than three segments': { webhook: { name: 'pullguard.io' } },
  'a plain-HTTP webhook URL': { webhook: { url: 'http://localhost:8443/validate' }, tls: { caBundle: testCA } },
  'an excluded namespace that is not a DNS label': { webhook: { excludeNamespaces: ['team-*'] } },
  'a malformed digest': { image: { digest: 'latest' } },
  'a string where an integer belongs': { config: { cache: { maxEntries: 'many' } } },
  'a malformed fallback platform': { config: { platforms: { fallback: ['amd64'] } } },
  'zero replicas': { replicaCount: 0 },
};

for (const [name, values] of Object.entries({ ...typos, ...invalid })) {
  t.test(`the schema rejects ${name}`, async (t) => {
    const error = templateError(values);
    t.match(error, /schema/i, 'helm template fails on the values schema');
    t.equal(lint(values).ok, false, 'helm lint fails too');
  });
}

const refused: Record<string, [Values, RegExp]> = {
  'existingSecret without a Secret name': [{ tls: { mode: 'existingSecret', caBundle: testCA } }, /needs tls\.existingSecret/],
  'existingSecret without a caBundle': [{ tls: { mode: 'existingSecret', existingSecret: 's' } }, /needs tls\.caBundle/],
  'webhook.url without a caBundle': [{ webhook: { url: 'https://10.0.0.1:8443/validate' } }, /webhook\.url needs tls\.caBundle/],
  'webhook.external without a URL': [{ webhook: { external: true } }, /webhook\.external=true needs webhook\.url/],
};

for (const [name, [values, message]] of Object.entries(refused)) {
  t.test(`the chart refuses ${name}, saying what to set`, async (t) => {
    t.match(templateError(values), message);
  });
}

t.test('a parent chart may pass global values', async (t) => {
  t.equal(templateError({ global: { imageRegistry: 'mirror.example.com' } }), '');
});
