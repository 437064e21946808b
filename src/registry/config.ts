// Per-registry connection settings (TLS, plain HTTP, mirrors, limits), read from a YAML or JSON file and
// validated with the shared Ajv (src/schema.ts). Pure: text in, typed config or readable errors out; CA files are
// read by transport.ts.
import type { ErrorObject, JSONSchemaType } from 'ajv';
import { parseDocument } from 'yaml';
import { ajv, formatSchemaErrors, type SchemaWording } from '../schema.ts';
import type { NodeRegistries } from './node-hosts.ts';

/** A mirror tried before the upstream registry, with containerd hosts.toml semantics. */
export interface MirrorConfig {
  /** `host[:port]` of the mirror; requests go to `https://host/v2/…` (or http with plainHTTP). */
  host: string;
  /** Talk plain HTTP to the mirror. */
  plainHTTP?: boolean;
  /** Extra CA bundle (PEM file path) trusted for the mirror, on top of the system roots. */
  ca?: string;
  /** Do not verify the mirror's TLS certificate (as containerd `skip_verify`). */
  insecureSkipVerify?: boolean;
}

export interface RegistryHostConfig {
  /** Extra CA bundle (PEM file path) trusted for this registry (and its token realm), on top of system roots. */
  ca?: string;
  /** Do not verify the registry's TLS certificate. */
  insecureSkipVerify?: boolean;
  /** Talk plain HTTP to the registry. */
  plainHTTP?: boolean;
  /** Pull credentials come from the nodes' kubelet credential provider (ECR, GCR, ACR): a 401/403 is not a deny. */
  nodeCredentials?: boolean;
  /** At most this many requests in flight to this registry (connections per origin). */
  maxConcurrency?: number;
  /** Tried in order before the upstream; a mirror that fails or lacks the image falls through to the next. */
  mirrors?: MirrorConfig[];
  /** Loopback/link-local hosts this registry may redirect to or name as token realm (refused otherwise). */
  allowedHosts?: string[];
}

export interface RegistryDefaults {
  /** Deadline for one HTTP request (connect + headers + body), unless the caller's deadline is sooner. */
  requestTimeoutMs: number;
  /** Largest manifest or index accepted (containerd's limit is 4 MiB). */
  maxManifestBytes: number;
  /** At most this many `tags/list` pages are read for suggestions. */
  maxTagPages: number;
  /** Tags asked per `tags/list` page (`?n=`). */
  tagPageSize: number;
  /** Default for registries without their own maxConcurrency. */
  maxConcurrency: number;
  /**
   * Docker Hub pull budget: when `ratelimit-remaining` is at or below this, no manifest GET is spent on a platform
   * check (the platform is not checked: PullBudgetLow, unknown). HEADs, which do not count, still run.
   */
  pullBudgetReserve: number;
  /** CIDRs treated as internal like loopback: redirects and token realms into them are refused unless allowed. */
  internalNetworks?: string[];
}

export interface RegistryConfig {
  /** Keyed by the registry as written in image references (`docker.io` for Docker Hub, `host:port`). */
  registries: Record<string, RegistryHostConfig>;
  defaults: RegistryDefaults;
  /** The nodes' own registry configuration (hosts.toml tree, registries.conf): wins over `registries` mirrors. */
  node?: NodeRegistries;
  /** pullguard runs in a pod (server.inCluster): a loopback host the node would ask is the node's, not ours. */
  loopbackIsNodes?: boolean;
}

/** Input form: every section optional. */
export interface RegistryConfigInput {
  registries?: Record<string, RegistryHostConfig>;
  defaults?: Partial<RegistryDefaults>;
  node?: NodeRegistries;
  loopbackIsNodes?: boolean;
}

export const DEFAULT_REGISTRY_DEFAULTS: Readonly<RegistryDefaults> = Object.freeze({
  requestTimeoutMs: 4000,
  maxManifestBytes: 4 * 1024 * 1024,
  maxTagPages: 10,
  tagPageSize: 1000,
  maxConcurrency: 16,
  pullBudgetReserve: 10,
});

const HOST_PATTERN = '^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?$';

const mirrorSchema: JSONSchemaType<MirrorConfig> = {
  type: 'object',
  additionalProperties: false,
  required: ['host'],
  properties: {
    host: { type: 'string', pattern: HOST_PATTERN, maxLength: 260 },
    plainHTTP: { type: 'boolean', nullable: true },
    ca: { type: 'string', minLength: 1, nullable: true },
    insecureSkipVerify: { type: 'boolean', nullable: true },
  },
};

const hostSchema: JSONSchemaType<RegistryHostConfig> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ca: { type: 'string', minLength: 1, nullable: true },
    insecureSkipVerify: { type: 'boolean', nullable: true },
    plainHTTP: { type: 'boolean', nullable: true },
    nodeCredentials: { type: 'boolean', nullable: true },
    maxConcurrency: { type: 'integer', minimum: 1, maximum: 1024, nullable: true },
    mirrors: { type: 'array', items: mirrorSchema, maxItems: 16, nullable: true },
    allowedHosts: { type: 'array', items: { type: 'string', pattern: HOST_PATTERN, maxLength: 260 }, maxItems: 64, nullable: true },
  },
};

/** JSON schema of the registry configuration file. */
export const registryConfigSchema = {
  $id: 'https://pullguard.dev/schemas/registry-config.json',
  type: 'object',
  additionalProperties: false,
  properties: {
    registries: {
      type: 'object',
      default: {},
      propertyNames: { pattern: HOST_PATTERN, maxLength: 260 },
      additionalProperties: hostSchema,
    },
    defaults: {
      type: 'object',
      default: {},
      additionalProperties: false,
      properties: {
        requestTimeoutMs: { type: 'integer', minimum: 100, maximum: 300_000, default: DEFAULT_REGISTRY_DEFAULTS.requestTimeoutMs },
        maxManifestBytes: { type: 'integer', minimum: 1024, maximum: 64 * 1024 * 1024, default: DEFAULT_REGISTRY_DEFAULTS.maxManifestBytes },
        maxTagPages: { type: 'integer', minimum: 0, maximum: 1000, default: DEFAULT_REGISTRY_DEFAULTS.maxTagPages },
        tagPageSize: { type: 'integer', minimum: 1, maximum: 10_000, default: DEFAULT_REGISTRY_DEFAULTS.tagPageSize },
        maxConcurrency: { type: 'integer', minimum: 1, maximum: 1024, default: DEFAULT_REGISTRY_DEFAULTS.maxConcurrency },
        pullBudgetReserve: { type: 'integer', minimum: 0, maximum: 100_000, default: DEFAULT_REGISTRY_DEFAULTS.pullBudgetReserve },
        internalNetworks: { type: 'array', items: { type: 'string', pattern: '^[0-9A-Fa-f:.]+/[0-9]{1,3}$', maxLength: 64 }, maxItems: 256, nullable: true },
      },
    },
  },
} as const;

// The schema's `default`s document the file; withDefaults (the same values) fills them in after validation.
const validate = ajv.compile<RegistryConfigInput>(registryConfigSchema);

export type LoadResult = { ok: true; config: RegistryConfig } | { ok: false; errors: string[] };

/** Parses and validates a registry config file (YAML or JSON). `source` names the file in messages. */
export function loadRegistryConfig(text: string, source: string): LoadResult {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map((e) => `${source}: invalid YAML/JSON: ${firstLine(e.message)}`) };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { ok: false, errors: [`${source}: ${firstLine(e instanceof Error ? e.message : String(e))}`] };
  }
  if (data === null || data === undefined) data = {};
  return validateRegistryConfig(data, source);
}

/** Validates an already-parsed value (defaults filled in on a copy). */
export function validateRegistryConfig(data: unknown, source: string): LoadResult {
  const copy: unknown = structuredClone(data);
  if (validate(copy)) return { ok: true, config: withDefaults(copy) };
  // A bad registry key yields both a `pattern` and a `propertyNames` error: keep the clearer one.
  const errors = (validate.errors ?? []).filter((e) => !e.schemaPath.includes('/propertyNames/'));
  return { ok: false, errors: formatSchemaErrors(errors, source, wording(copy)) };
}

/** Fills defaults for a programmatic config (what createRegistryClient accepts). */
export function withDefaults(input: RegistryConfigInput | RegistryConfig | undefined): RegistryConfig {
  return {
    registries: { ...(input?.registries ?? {}) },
    defaults: { ...DEFAULT_REGISTRY_DEFAULTS, ...(input?.defaults ?? {}) },
    ...(input?.node ? { node: input.node } : {}),
    ...(input?.loopbackIsNodes ? { loopbackIsNodes: true } : {}),
  };
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

/** Registry keys are host names (dots), hence JSON pointers; a pattern is said as what it means, with the value. */
function wording(doc: unknown): SchemaWording {
  return {
    path: 'pointer',
    explain(e: ErrorObject): string | undefined {
      const p = e.params as Record<string, unknown>;
      switch (e.keyword) {
        case 'required':
          return `missing required key "${String(p['missingProperty'])}"`;
        case 'pattern':
          return `must be ${p['pattern'] === HOST_PATTERN ? 'host[:port]' : 'a CIDR (address/prefix)'}, got ${JSON.stringify(valueAt(doc, e.instancePath))}`;
        case 'propertyNames':
          return `registry key "${String(p['propertyName'])}" is not host[:port]`;
        default:
          return undefined;
      }
    },
  };
}

/** The value a JSON pointer (`/registries/a.example/mirrors/0/host`) names in `doc`. */
function valueAt(doc: unknown, pointer: string): unknown {
  let at = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined;
  }
  return at;
}
