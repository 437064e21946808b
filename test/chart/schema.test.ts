// values.schema.json rejects typos and impossible values at every level, and the templates refuse combinations
// the schema cannot express, each with a message that says what to set. Each schema case is validated in process
// with Ajv (draft-07, as helm reads it) against the values helm would validate: values.yaml with the case merged
// in. One `helm template` and one `helm lint` of every case at once then prove helm applies the same schema: helm
// reports every violation, and it must name each case's key. (A helm run per case was ~60 helm processes.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import t from 'tap';
import YAML from 'yaml';
import { chartDir } from './helm.ts';
import { lint, merge, templateError, testCA, type Values } from './render.ts';

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

// Helm's validator is not strict about the schema itself; Ajv is, except for union types, which the chart uses.
// Its patterns are JavaScript regular expressions where helm's are Go's: the chart's patterns mean the same in both.
const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(
  JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as object,
);
const defaults = YAML.parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as Values;

const pointer = (segments: string[]) => segments.map((s) => `/${s.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');

/** Every path to a scalar, an array element or an empty object in `values`, as JSON pointers. */
function leafPaths(values: unknown, at: string[] = []): string[] {
  if (Array.isArray(values)) return values.flatMap((v, i) => leafPaths(v, [...at, String(i)]));
  if (values !== null && typeof values === 'object' && Object.keys(values).length > 0) {
    return Object.entries(values).flatMap(([k, v]) => leafPaths(v, [...at, k]));
  }
  return [pointer(at)];
}

/** Where an error is: the value's path, or for an unknown key the path of that key. */
const located = (e: ErrorObject) =>
  e.keyword === 'additionalProperties' ? `${e.instancePath}${pointer([String(e.params['additionalProperty'])])}` : e.instancePath;

/** The schema's errors for `values` as helm validates them: merged over the chart's defaults. */
function schemaErrors(values: Values): ErrorObject[] {
  return validate(merge(defaults, values)) ? [] : [...(validate.errors ?? [])];
}

interface NamedKey {
  /** The key above, array indexes skipped ('' at the top level). */
  parent: string;
  key: string;
  unknown: boolean;
}

/** The key an error is about and the one above it, as helm's message names them. */
function namedKey(e: ErrorObject): NamedKey {
  const segments = located(e).split('/').slice(1).filter((s) => !/^\d+$/.test(s));
  return { key: segments.at(-1) ?? '', parent: segments.at(-2) ?? '', unknown: e.keyword === 'additionalProperties' };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * How helm's message names a key, one line per error. Helm 4: `at '/config/mode': ...` and
 * `at '/tls': additional properties 'mod' not allowed`; Helm 3: `config.mode: ...` and `tls: Additional property mod ...`.
 */
function helmNames({ parent, key, unknown }: NamedKey): RegExp {
  if (parent === '') return new RegExp(`\\b${escape(key)}\\b`);
  return new RegExp(`\\b${escape(parent)}${unknown ? '\\b[^\\n]*' : '[/.]'}\\b${escape(key)}\\b`);
}

const cases = { ...typos, ...invalid };
const offending = new Map<string, NamedKey[]>();

for (const [name, values] of Object.entries(cases)) {
  t.test(`the schema rejects ${name}`, async (t) => {
    const errors = schemaErrors(values);
    t.ok(errors.length > 0, 'the merged values fail the schema');
    // Rejected for what the case sets, not for anything else: every error lies on a path the case wrote.
    const paths = leafPaths(values);
    for (const e of errors) {
      const where = located(e);
      t.ok(paths.some((p) => p === where || p.startsWith(`${where}/`)), `${where} (${e.message}) is one the case set: ${paths.join(', ')}`);
    }
    offending.set(name, errors.map(namedKey));
  });
}

t.test('the schema accepts the chart defaults and a parent chart\'s global values', async (t) => {
  t.same(schemaErrors({}), [], 'values.yaml as it is');
  t.same(schemaErrors({ global: { imageRegistry: 'mirror.example.com' } }), [], 'with global values');
});

t.test('helm applies the same schema: every case at once fails helm template and helm lint, naming each key', async (t) => {
  const all = merge(...Object.values(cases));
  t.equal(leafPaths(all).length, Object.values(cases).reduce((n, v) => n + leafPaths(v).length, 0), 'no two cases set the same key');
  const error = templateError(all);
  t.match(error, /schema/i, 'helm template fails on the values schema');
  const linted = lint(all);
  t.equal(linted.ok, false, 'helm lint fails too');
  t.equal(offending.size, Object.keys(cases).length, 'every case was validated first');
  for (const [name, keys] of offending) {
    t.ok(keys.length > 0, `${name}: Ajv named a key`);
    for (const named of keys) {
      const what = `${named.parent ? `${named.parent}: ` : ''}${named.key} (${name})`;
      t.match(error, helmNames(named), `helm template names ${what}`);
      t.match(linted.stdout + linted.stderr, helmNames(named), `helm lint names ${what}`);
    }
  }
});

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
