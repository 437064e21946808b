// The registry config file: YAML or JSON, every key documented in fixtures/registries.yaml, defaults filled in,
// and clear path + problem messages for mistakes.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { DEFAULT_REGISTRY_DEFAULTS, loadRegistryConfig, registryConfigSchema, validateRegistryConfig, withDefaults } from '../../src/registry/config.ts';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

t.test('the documented YAML fixture loads with every key', async (t) => {
  const r = loadRegistryConfig(fixture('registries.yaml'), 'registries.yaml');
  if (!r.ok) throw new Error(r.errors.join('\n'));
  const host = r.config.registries['registry.example.com:5000'];
  t.equal(host?.ca, '/etc/pullguard/ca/registry.pem');
  t.equal(host?.maxConcurrency, 8);
  t.same(host?.mirrors?.[0], { host: 'mirror.local:5000', plainHTTP: false, ca: '/etc/pullguard/ca/mirror.pem', insecureSkipVerify: false });
  t.equal(r.config.registries['123456789012.dkr.ecr.eu-west-1.amazonaws.com']?.nodeCredentials, true);
  t.same(r.config.defaults, { requestTimeoutMs: 4000, maxManifestBytes: 4194304, maxTagPages: 10, tagPageSize: 1000, maxConcurrency: 16, pullBudgetReserve: 10, internalNetworks: ['10.0.0.0/8'] });
  t.same(host?.allowedHosts, ['127.0.0.1:9000']);
});

t.test('every key of the schema appears in the documented fixture', async (t) => {
  const text = fixture('registries.yaml');
  type Node = { properties?: Record<string, Node>; additionalProperties?: Node; items?: Node };
  const schema = registryConfigSchema as unknown as Node;
  const host = schema.properties?.registries?.additionalProperties;
  const hostKeys = Object.keys(host?.properties ?? {});
  const mirrorKeys = Object.keys(host?.properties?.mirrors?.items?.properties ?? {});
  const defaultKeys = Object.keys(schema.properties?.defaults?.properties ?? {});
  t.ok(hostKeys.length > 4 && mirrorKeys.length === 4 && defaultKeys.length === 7, 'the schema was walked');
  for (const k of [...hostKeys, ...mirrorKeys, ...defaultKeys]) t.match(text, new RegExp(`\\b${k}:`), `${k} is documented`);
});

t.test('JSON works too, with IPv6 and localhost registry keys', async (t) => {
  const r = loadRegistryConfig(fixture('registries.json'), 'registries.json');
  t.ok(r.ok);
  if (r.ok) t.equal(r.config.registries['localhost:5000']?.plainHTTP, true);
});

t.test('an empty file is all defaults', async (t) => {
  for (const text of ['', '{}', '# nothing\n', 'registries: {}']) {
    const r = loadRegistryConfig(text, 'empty');
    t.ok(r.ok, JSON.stringify(text));
    if (r.ok) t.same(r.config.defaults, DEFAULT_REGISTRY_DEFAULTS);
  }
});

t.test('mistakes are reported with the file, the path and the problem', async (t) => {
  const table: [string, string, RegExp][] = [
    ['a typo in a key', 'registries:\n  r.example.com:\n    insecureSkipVerfy: true\n', /cfg: \/registries\/r\.example\.com: unknown key "insecureSkipVerfy"/],
    ['a string where a boolean goes', 'registries:\n  r.example.com:\n    plainHTTP: "yes"\n', /cfg: \/registries\/r\.example\.com\/plainHTTP: must be boolean/],
    ['a registry key that is not a host', 'registries:\n  "https://r.example.com/":\n    plainHTTP: true\n', /registry key "https:\/\/r\.example\.com\/" is not host\[:port\]/],
    ['a mirror without a host', 'registries:\n  r.example.com:\n    mirrors:\n      - plainHTTP: true\n', /\/registries\/r\.example\.com\/mirrors\/0: missing required key "host"/],
    ['a mirror host with a scheme', 'registries:\n  r.example.com:\n    mirrors:\n      - host: https://m.example.com\n', /\/mirrors\/0\/host: must be host\[:port\], got "https:\/\/m\.example\.com"/],
    ['an internal network that is not a CIDR', 'defaults:\n  internalNetworks: ["10.0.0.0"]\n', /cfg: \/defaults\/internalNetworks\/0: must be a CIDR \(address\/prefix\), got "10\.0\.0\.0"/],
    ['a zero concurrency', 'defaults:\n  maxConcurrency: 0\n', /\/defaults\/maxConcurrency: must be >= 1/],
    ['an unknown top-level key', 'registry:\n  a: 1\n', /cfg: \/: unknown key "registry"/],
    ['a list where a map goes', '- a\n- b\n', /cfg: \/: must be object/],
    ['broken YAML', 'registries: {a: [\n', /cfg: invalid YAML\/JSON: /],
    ['duplicate keys', 'registries: {}\nregistries: {}\n', /cfg: invalid YAML\/JSON: .*[Uu]nique|cfg: invalid YAML\/JSON: .*[Dd]uplicate/],
  ];
  for (const [why, text, want] of table) {
    const r = loadRegistryConfig(text, 'cfg');
    t.notOk(r.ok, why);
    if (!r.ok) t.match(r.errors.join('\n'), want, why);
  }
});

t.test('all errors are reported at once', async (t) => {
  const r = loadRegistryConfig('registries:\n  a.example:\n    plainHTTP: 1\n    maxConcurrency: -1\ndefaults:\n  foo: 1\n', 'cfg');
  t.notOk(r.ok);
  if (!r.ok) t.equal(r.errors.length, 3);
});

t.test('a YAML alias bomb is refused', async (t) => {
  const bomb = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n';
  const r = loadRegistryConfig(bomb, 'bomb');
  t.notOk(r.ok);
});

t.test('the defaults filled in are the ones the schema documents', async (t) => {
  const documented = Object.fromEntries(Object.entries(registryConfigSchema.properties.defaults.properties)
    .flatMap(([key, s]) => ('default' in s ? [[key, s.default]] : [])));
  t.same(documented, DEFAULT_REGISTRY_DEFAULTS);
  const r = loadRegistryConfig('registries:\n  a.example: {}\ndefaults:\n  maxTagPages: 2\n', 'cfg');
  t.same(r.ok && r.config, { registries: { 'a.example': {} }, defaults: { ...DEFAULT_REGISTRY_DEFAULTS, maxTagPages: 2 } });
});

t.test('validating fills defaults into a copy, never into the document given', async (t) => {
  const doc = { registries: { 'a.example': { plainHTTP: true } } };
  const r = validateRegistryConfig(doc, 'doc');
  t.ok(r.ok);
  t.same(doc, { registries: { 'a.example': { plainHTTP: true } } });
});

t.test('withDefaults completes a programmatic config', async (t) => {
  t.same(withDefaults({ defaults: { requestTimeoutMs: 500 } }).defaults, { ...DEFAULT_REGISTRY_DEFAULTS, requestTimeoutMs: 500 });
  t.same(withDefaults(undefined).registries, {});
});
