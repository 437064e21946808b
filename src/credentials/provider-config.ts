// The kubelet's CredentialProviderConfig (--image-credential-provider-config), read and validated as the kubelet
// reads it, so pullguard runs the same plugins for the same images. Rules from kubernetes
// pkg/credentialprovider/plugin/config.go (readCredentialProviderConfig, validateCredentialProviderConfig) and
// plugin.go (apiVersions, RegisterCredentialProviderPlugins), master at 03db2278 / 01302639.
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { ajv, formatSchemaErrors, type SchemaWording } from '../schema.ts';
import YAML from 'yaml';
import { normalizeKey } from './keyring.ts';

/** The kubelet decodes the config in any of its kubelet.config.k8s.io versions. */
export const CONFIG_API_VERSIONS = ['kubelet.config.k8s.io/v1', 'kubelet.config.k8s.io/v1beta1', 'kubelet.config.k8s.io/v1alpha1'] as const;
/** The exec protocol versions a provider may name (plugin.go apiVersions). */
export const PLUGIN_API_VERSIONS = ['credentialprovider.kubelet.k8s.io/v1', 'credentialprovider.kubelet.k8s.io/v1beta1', 'credentialprovider.kubelet.k8s.io/v1alpha1'] as const;

export interface CredentialProviderSpec {
  /** The executable's name in the bin dir. */
  name: string;
  /** Where it was declared, for messages: `FILE` or `FILE (providers[2])`. */
  source: string;
  matchImages: string[];
  defaultCacheDurationMs: number;
  apiVersion: (typeof PLUGIN_API_VERSIONS)[number];
  args: string[];
  env: { name: string; value: string }[];
  /** KEP-4412 service-account-token mode: the kubelet sends each pod's token; pullguard does not run these. */
  tokenAttributes: boolean;
  /** Absolute path of the executable. */
  path: string;
}

export type ProviderConfigResult = { ok: true; providers: CredentialProviderSpec[] } | { ok: false; errors: string[] };

const str = { type: 'string' } as const;
const strings = { type: 'array', items: str } as const;
const provider = {
  type: 'object',
  // The kubelet decodes strictly: an unknown or misspelt field fails the whole config.
  additionalProperties: false,
  properties: {
    name: str,
    matchImages: strings,
    defaultCacheDuration: str,
    apiVersion: str,
    args: strings,
    env: { type: 'array', items: { type: 'object', additionalProperties: false, required: ['name', 'value'], properties: { name: str, value: str } } },
    tokenAttributes: {
      type: 'object',
      additionalProperties: false,
      properties: {
        serviceAccountTokenAudience: str,
        requireServiceAccount: { type: 'boolean' },
        requiredServiceAccountAnnotationKeys: strings,
        optionalServiceAccountAnnotationKeys: strings,
        cacheType: str,
      },
    },
  },
} as const;

export const credentialProviderConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind'],
  properties: {
    apiVersion: { enum: [...CONFIG_API_VERSIONS] },
    kind: { const: 'CredentialProviderConfig' },
    providers: { type: 'array', items: provider },
  },
} as const;

// The kubelet decodes this file strictly: an unknown field is an error it would refuse the file for.
const KUBELET_WORDING: SchemaWording = {
  unknownKey: (name) => `unknown field "${name}" (the kubelet decodes strictly and would refuse this file)`,
  enumAsJson: false,
};

// Compiled on first use: most runs configure no providers, and start-up time matters to the CLI.
let validateDocument: ValidateFunction | undefined;
const documentValidator = (): ValidateFunction => (validateDocument ??= ajv.compile(credentialProviderConfigSchema));

interface RawProvider {
  name?: string;
  matchImages?: string[];
  defaultCacheDuration?: string;
  apiVersion?: string;
  args?: string[];
  env?: { name: string; value: string }[];
  tokenAttributes?: Record<string, unknown>;
}

const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration (what metav1.Duration unmarshals with), in milliseconds; undefined where Go errors. */
export function parseGoDuration(text: unknown): number | undefined {
  if (typeof text !== 'string' || text === '') return undefined;
  let s = text;
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  const part = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = part.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * (GO_UNITS[m[2] ?? ''] ?? Number.NaN);
    s = s.slice(m[0].length);
  }
  return Number.isFinite(total) ? sign * total : undefined;
}


/** One document's providers, or errors (a document the kubelet's strict decoder would refuse). */
export function parseProviderConfigText(text: string, source: string): { ok: true; providers: (RawProvider & { source: string })[] } | { ok: false; errors: string[] } {
  let doc: unknown;
  try {
    doc = YAML.parse(text, { maxAliasCount: 100, uniqueKeys: true });
  } catch (err) {
    return { ok: false, errors: [`${source}: not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`] };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { ok: false, errors: [`${source}: must be a CredentialProviderConfig object (apiVersion: kubelet.config.k8s.io/v1, kind: CredentialProviderConfig, providers: [...])`] };
  }
  const strictDecode = documentValidator();
  if (!strictDecode(doc)) return { ok: false, errors: formatSchemaErrors(strictDecode.errors, source, KUBELET_WORDING) };
  const providers = ((doc as { providers?: RawProvider[] }).providers ?? []).map((p, i) => ({ ...p, source: `${source} (providers[${i}])` }));
  return { ok: true, providers };
}

/** validateCredentialProviderConfig, on the merged providers. */
function validate(providers: (RawProvider & { source: string })[], errors: string[]): void {
  if (providers.length === 0) errors.push('credential provider config: at least 1 item in providers is required');
  const seen = new Set<string>();
  for (const p of providers) {
    const at = p.source;
    const name = p.name ?? '';
    if (name === '') errors.push(`${at}: name is required`);
    if (name.includes('/')) errors.push(`${at}: provider name ${JSON.stringify(name)} cannot contain '/'`);
    if (name.includes(' ')) errors.push(`${at}: provider name ${JSON.stringify(name)} cannot contain spaces`);
    if (name === '.' || name === '..') errors.push(`${at}: provider name cannot be '${name}'`);
    if (seen.has(name)) errors.push(`${at}: duplicate provider name ${JSON.stringify(name)}`);
    seen.add(name);
    if (!p.apiVersion) errors.push(`${at}: apiVersion is required`);
    else if (!(PLUGIN_API_VERSIONS as readonly string[]).includes(p.apiVersion)) errors.push(`${at}: apiVersion ${JSON.stringify(p.apiVersion)} is not supported (one of ${PLUGIN_API_VERSIONS.join(', ')})`);
    if (!p.matchImages || p.matchImages.length === 0) errors.push(`${at}: at least 1 item in matchImages is required`);
    for (const m of p.matchImages ?? []) {
      // ParseSchemelessURL: url.Parse("https://" + matchImage).
      if (normalizeKey(`https://${m}`) === undefined) errors.push(`${at}: match image ${JSON.stringify(m)} is invalid`);
    }
    if (p.defaultCacheDuration === undefined) errors.push(`${at}: defaultCacheDuration is required`);
    else {
      const d = parseGoDuration(p.defaultCacheDuration);
      if (d === undefined) errors.push(`${at}: defaultCacheDuration ${JSON.stringify(p.defaultCacheDuration)} is not a duration (like 12h, 30m, 0s)`);
      else if (d < 0) errors.push(`${at}: defaultCacheDuration must be greater than or equal to 0`);
    }
    if (p.tokenAttributes && p.apiVersion !== 'credentialprovider.kubelet.k8s.io/v1') errors.push(`${at}: tokenAttributes is only supported for credentialprovider.kubelet.k8s.io/v1`);
  }
}

/**
 * Read the config as the kubelet does: a file, or a directory whose `*.json`, `*.yaml`, `*.yml` files are read in
 * lexicographic order and their providers concatenated (a name twice is an error); then each provider's executable
 * must exist in binDir, or the kubelet refuses to start.
 */
export function loadCredentialProviderConfig(path: string, binDir: string): ProviderConfigResult {
  const errors: string[] = [];
  if (!path) return { ok: false, errors: ['credential provider config path is empty'] };
  if (!binDir) return { ok: false, errors: [`credential provider config ${path}: the plugin bin dir is not set (--image-credential-provider-bin-dir, credentialProviders.binDir)`] };
  let files: string[];
  try {
    if (statSync(path).isDirectory()) {
      files = readdirSync(path, { withFileTypes: true })
        .filter((e) => !e.isDirectory() && ['.json', '.yaml', '.yml'].includes(extname(e.name)))
        .map((e) => join(path, e.name))
        .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      if (files.length === 0) return { ok: false, errors: [`credential provider config: no configuration files found in directory ${path}`] };
    } else {
      files = [path];
    }
  } catch (err) {
    return { ok: false, errors: [`credential provider config ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`] };
  }
  const raw: (RawProvider & { source: string })[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      errors.push(`credential provider config ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      continue;
    }
    const parsed = parseProviderConfigText(text, `credential provider config ${file}`);
    if (!parsed.ok) errors.push(...parsed.errors);
    else raw.push(...parsed.providers);
  }
  if (errors.length > 0) return { ok: false, errors };
  validate(raw, errors);
  if (errors.length > 0) return { ok: false, errors };
  try {
    if (!statSync(binDir).isDirectory()) return { ok: false, errors: [`plugin binary directory ${binDir} is not a directory`] };
  } catch {
    return { ok: false, errors: [`plugin binary directory ${binDir} did not exist`] };
  }
  const providers: CredentialProviderSpec[] = [];
  for (const p of raw) {
    const bin = join(binDir, p.name as string);
    try {
      accessSync(bin, constants.X_OK);
    } catch {
      errors.push(`${p.source}: plugin binary executable ${bin} did not exist or is not executable`);
      continue;
    }
    providers.push({
      name: p.name as string,
      source: p.source,
      matchImages: p.matchImages ?? [],
      defaultCacheDurationMs: parseGoDuration(p.defaultCacheDuration) ?? 0,
      apiVersion: p.apiVersion as CredentialProviderSpec['apiVersion'],
      args: p.args ?? [],
      env: p.env ?? [],
      tokenAttributes: p.tokenAttributes !== undefined,
      path: bin,
    });
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, providers };
}
