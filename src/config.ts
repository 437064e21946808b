// pullguard's configuration: one YAML file, environment overrides, then flags; validated by ajv at start-up.
// Every key has a default, so `pullguard serve` with dev certificates starts with no file at all.
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { ajv, formatSchemaErrors } from './schema.ts';

export type Mode = 'enforce' | 'warn';
export type ModeOverride = Mode | 'off';

export interface Config {
  /** enforce: deny what certainly cannot be pulled; warn: admit everything, with warnings. */
  mode: Mode;
  server: {
    host: string;
    port: number;
    metricsHost: string;
    metricsPort: number;
    tlsCertFile: string;
    tlsKeyFile: string;
    /** AdmissionReview bodies above this are refused with 400 (the API server's own limit is 3 MiB). */
    bodyLimitBytes: number;
    /** Answer this long before the API server's `?timeout=`; unfinished images become `unknown`. */
    deadlineMarginMs: number;
    /**
     * Answer this much before the deadline besides, for event-loop lag (a timer fires late on a busy loop, and a
     * request waits before it is read): `auto` = the longest loop delay of the last seconds; at most ¼ of the time.
     */
    lagMarginMs: 'auto' | number;
    /** The timeout assumed when the API server does not send one. */
    defaultTimeoutSeconds: number;
    /** How long graceful shutdown waits for in-flight reviews. */
    shutdownGraceMs: number;
    /** /readyz fails while the serving certificate has less than this left (or has expired). */
    tlsExpiryWindowSeconds: number;
    /** A connection that has not sent its whole header block in this time is closed (slowloris). */
    headersTimeoutMs: number;
    /** A connection that has not sent its whole request (headers and body) in this time is closed. */
    requestTimeoutMs: number;
    /**
     * pullguard runs in a pod, off the nodes' network: a loopback image host (localhost:5000/app) names the node's
     * loopback, not pullguard's. auto: true for `serve` with an in-cluster service account; the CLI never.
     */
    inCluster: 'auto' | boolean;
  };
  /** Bounds on the work one review, and all of them together, may cause (README: Security model). */
  limits: {
    /** Distinct images resolved per review; the others are admitted unchecked, with a warning saying how many. */
    imagesPerReview: number;
    /** Image resolutions in flight across all reviews; the others wait, served review by review in turn. */
    resolutionsInFlight: number;
    /** AdmissionReview bodies nesting deeper than this are refused with 400 before they are parsed. */
    jsonDepth: number;
    /** Problems listed in one review's log line; the rest are counted (problemsNotLogged). */
    problemsLogged: number;
    /** Pull secrets read per review (each an API-server GET); the rest are unread, so auth failures are unknown. */
    pullSecretsPerReview: number;
  };
  /** Namespace label and workload annotation that override the mode: enforce | warn | off. */
  modeLabel: string;
  exclude: {
    /** Glob patterns (`*` any run of characters) matched against the normalised reference and the image as written. */
    images: string[];
    /** Registry host patterns, kubelet glob syntax (`*.example.com`). */
    registries: string[];
    namespaces: string[];
  };
  credentials: {
    /** Docker config.json files holding node-level credentials (what the kubelet has in /var/lib/kubelet/config.json). */
    dockerConfigFiles: string[];
    /** Registries whose credentials come from the kubelet's credential providers (ECR, GCR/Artifact Registry, ACR). */
    nodeCredentialRegistries: string[];
    /** For pod templates with no imagePullSecrets, use those of the ServiceAccount the template names. */
    serviceAccountSecrets: boolean;
  };
  /** The kubelet's image credential providers, run as the nodes run them (README: Kubelet credential providers). */
  credentialProviders: {
    /** CredentialProviderConfig file or directory, as the kubelet's --image-credential-provider-config. '' = none. */
    config: string;
    /** Where the plugin executables are, as the kubelet's --image-credential-provider-bin-dir. */
    binDir: string;
  };
  platforms: {
    /** Candidate platforms when no node inventory is available. Empty = any platform is acceptable. */
    fallback: string[];
    /** Read node platforms from the API server. */
    fromNodes: boolean;
    /**
     * A single-manifest image of another platform than every eligible node pulls, then fails with `exec format
     * error`: deny it (default), or only warn where the nodes emulate other architectures (binfmt_misc/QEMU).
     */
    execFormatError: 'deny' | 'warn';
  };
  registry: {
    /** Registry config file (CA bundles, mirrors, plain HTTP, per-registry concurrency). */
    configFile: string;
    requestTimeoutMs: number;
    /** containerd's registry config_path (a tree of `<host>/hosts.toml`), read as the nodes read it. */
    hostsDir: string;
    /** CRI-O's containers registries.conf (its `registries.conf.d` drop-ins beside it are read too). */
    registriesConf: string;
    /** CRI-O's per-host certificate directory (/etc/containers/certs.d: `<host[:port]>/*.crt`, `*.cert` + `*.key`). */
    certsDir: string;
  };
  cache: {
    tagTtlSeconds: number;
    digestTtlSeconds: number;
    negativeTtlSeconds: number;
    maxEntries: number;
    maxBytes: number;
    /** How long a clean check (every image resolved) is reused for an identical pod spec, in ms; 0: never (src/verdict/check-memo.ts). */
    cleanCheckTtlMs: number;
  };
  kubernetes: {
    /** auto: in-cluster config or KUBECONFIG when present; false: never talk to the API server. */
    enabled: 'auto' | boolean;
    kubeconfig: string;
    secretTtlSeconds: number;
  };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Continuous audit of running workloads in `serve` (src/audit/continuous.ts); off by default. */
  audit: AuditConfig;
}

export interface AuditConfig {
  enabled: boolean;
  /** A run starts this often; its registry requests are spread over the first half of the interval. */
  intervalMinutes: number;
  /** Namespaces audited (empty: all) and left out (wins over include). */
  namespaces: { include: string[]; exclude: string[] };
  /** Series of pullguard_audit_workload_problems at most; the rest are counted as dropped. */
  maxSeries: number;
  /** A Warning Event (reason ImageWouldNotPull) on each workload with an image that cannot be pulled. */
  events: boolean;
  /** The Lease that lets one replica audit at a time; namespace '' is pullguard's own (in-cluster or context). */
  lease: { name: string; namespace: string; durationSeconds: number };
}

export const DEFAULT_CONFIG: Config = {
  mode: 'enforce',
  server: {
    host: '0.0.0.0',
    port: 8443,
    metricsHost: '0.0.0.0',
    metricsPort: 9090,
    tlsCertFile: 'certs/out/tls.crt',
    tlsKeyFile: 'certs/out/tls.key',
    bodyLimitBytes: 3 * 1024 * 1024,
    deadlineMarginMs: 1500,
    lagMarginMs: 'auto',
    defaultTimeoutSeconds: 10,
    shutdownGraceMs: 10_000,
    tlsExpiryWindowSeconds: 3600,
    headersTimeoutMs: 5000,
    requestTimeoutMs: 10_000,
    inCluster: 'auto',
  },
  limits: { imagesPerReview: 200, resolutionsInFlight: 64, jsonDepth: 64, problemsLogged: 20, pullSecretsPerReview: 32 },
  modeLabel: 'pullguard.io/mode',
  exclude: { images: [], registries: [], namespaces: [] },
  credentials: {
    dockerConfigFiles: [],
    nodeCredentialRegistries: ['*.dkr.ecr.*.amazonaws.com', '*.dkr.ecr.*.amazonaws.com.cn', 'gcr.io', '*.gcr.io', '*-docker.pkg.dev', '*.azurecr.io', '*.azurecr.cn'],
    serviceAccountSecrets: true,
  },
  credentialProviders: { config: '', binDir: '' },
  platforms: { fallback: [], fromNodes: true, execFormatError: 'deny' },
  registry: { configFile: '', requestTimeoutMs: 4000, hostsDir: '', registriesConf: '', certsDir: '' },
  cache: { tagTtlSeconds: 60, digestTtlSeconds: 86_400, negativeTtlSeconds: 10, maxEntries: 10_000, maxBytes: 64 * 1024 * 1024, cleanCheckTtlMs: 1000 },
  kubernetes: { enabled: 'auto', kubeconfig: '', secretTtlSeconds: 5 },
  logLevel: 'info',
  audit: {
    enabled: false,
    intervalMinutes: 60,
    namespaces: { include: [], exclude: [] },
    maxSeries: 1000,
    events: false,
    lease: { name: 'pullguard-audit', namespace: '', durationSeconds: 60 },
  },
};

const str = { type: 'string' } as const;
const strings = { type: 'array', items: str } as const;
const posInt = { type: 'integer', minimum: 1 } as const;
const nonNegInt = { type: 'integer', minimum: 0 } as const;
const port = { type: 'integer', minimum: 0, maximum: 65535 } as const;
const obj = (properties: Record<string, unknown>) => ({ type: 'object', additionalProperties: false, properties }) as const;

/** The config file's JSON schema: every key optional, unknown keys rejected (typos must not pass silently). */
export const configSchema = obj({
  mode: { enum: ['enforce', 'warn'] },
  server: obj({
    host: str, port, metricsHost: str, metricsPort: port, tlsCertFile: str, tlsKeyFile: str,
    bodyLimitBytes: { type: 'integer', minimum: 1024, maximum: 64 * 1024 * 1024 },
    deadlineMarginMs: nonNegInt, lagMarginMs: { anyOf: [{ const: 'auto' }, { type: 'integer', minimum: 0, maximum: 10_000 }] }, defaultTimeoutSeconds: { type: 'integer', minimum: 1, maximum: 30 }, shutdownGraceMs: nonNegInt,
    tlsExpiryWindowSeconds: nonNegInt, headersTimeoutMs: { type: 'integer', minimum: 100 }, requestTimeoutMs: { type: 'integer', minimum: 100 },
    inCluster: { enum: ['auto', true, false] },
  }),
  limits: obj({
    imagesPerReview: { type: 'integer', minimum: 1, maximum: 100_000 }, resolutionsInFlight: { type: 'integer', minimum: 1, maximum: 10_000 },
    jsonDepth: { type: 'integer', minimum: 16, maximum: 10_000 }, problemsLogged: { type: 'integer', minimum: 1, maximum: 10_000 },
    pullSecretsPerReview: { type: 'integer', minimum: 1, maximum: 10_000 },
  }),
  modeLabel: { type: 'string', minLength: 1 },
  exclude: obj({ images: strings, registries: strings, namespaces: strings }),
  credentials: obj({ dockerConfigFiles: strings, nodeCredentialRegistries: strings, serviceAccountSecrets: { type: 'boolean' } }),
  credentialProviders: obj({ config: str, binDir: str }),
  platforms: obj({ fallback: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$' } }, fromNodes: { type: 'boolean' }, execFormatError: { enum: ['deny', 'warn'] } }),
  registry: obj({ configFile: str, requestTimeoutMs: posInt, hostsDir: str, registriesConf: str, certsDir: str }),
  cache: obj({ tagTtlSeconds: nonNegInt, digestTtlSeconds: nonNegInt, negativeTtlSeconds: nonNegInt, maxEntries: posInt, maxBytes: posInt, cleanCheckTtlMs: { type: 'integer', minimum: 0, maximum: 60_000 } }),
  kubernetes: obj({ enabled: { enum: ['auto', true, false] }, kubeconfig: str, secretTtlSeconds: nonNegInt }),
  logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
  audit: obj({
    enabled: { type: 'boolean' },
    // Fractions of a minute are for tests and demos; production intervals are tens of minutes.
    intervalMinutes: { type: 'number', exclusiveMinimum: 0, maximum: 10_080 },
    namespaces: obj({ include: strings, exclude: strings }),
    maxSeries: posInt,
    events: { type: 'boolean' },
    lease: obj({ name: { type: 'string', minLength: 1 }, namespace: str, durationSeconds: { type: 'integer', minimum: 1, maximum: 3600 } }),
  }),
});

/** Command-line flags that win over the file. */
export interface ConfigFlags {
  port?: number;
  metricsPort?: number;
  tlsCert?: string;
  tlsKey?: string;
  mode?: string;
  dockerConfig?: string[];
  registryConfig?: string;
  hostsDir?: string;
  registriesConf?: string;
  certsDir?: string;
  platform?: string[];
  kubeconfig?: string;
  imageCredentialProviderConfig?: string;
  imageCredentialProviderBinDir?: string;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] };

const validateConfig = ajv.compile(configSchema);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function merge<T>(base: T, over: unknown): T {
  if (over === undefined) return base;
  if (typeof base !== 'object' || base === null || Array.isArray(base) || typeof over !== 'object' || over === null || Array.isArray(over)) {
    return over as T;
  }
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) out[k] = merge(out[k], v);
  return out as T;
}

/** Environment overrides: PULLGUARD_MODE, PULLGUARD_LOG_LEVEL, PULLGUARD_PORT, PULLGUARD_METRICS_PORT. */
function fromEnv(env: NodeJS.ProcessEnv): { value: Record<string, Json>; errors: string[] } {
  const value: Record<string, Json> = {};
  const errors: string[] = [];
  const server: Record<string, Json> = {};
  const int = (name: string, set: (n: number) => void) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return;
    const n = Number(raw);
    if (!Number.isInteger(n)) errors.push(`environment ${name}: "${raw}" is not a whole number`);
    else set(n);
  };
  if (env['PULLGUARD_MODE']) value['mode'] = env['PULLGUARD_MODE'];
  if (env['PULLGUARD_LOG_LEVEL']) value['logLevel'] = env['PULLGUARD_LOG_LEVEL'];
  int('PULLGUARD_PORT', (n) => (server['port'] = n));
  int('PULLGUARD_METRICS_PORT', (n) => (server['metricsPort'] = n));
  if (Object.keys(server).length > 0) value['server'] = server;
  return { value, errors };
}

function fromFlags(flags: ConfigFlags): Record<string, Json> {
  const value: Record<string, Json> = {};
  const server: Record<string, Json> = {};
  if (flags.port !== undefined) server['port'] = flags.port;
  if (flags.metricsPort !== undefined) server['metricsPort'] = flags.metricsPort;
  if (flags.tlsCert !== undefined) server['tlsCertFile'] = flags.tlsCert;
  if (flags.tlsKey !== undefined) server['tlsKeyFile'] = flags.tlsKey;
  if (Object.keys(server).length > 0) value['server'] = server;
  if (flags.mode !== undefined) value['mode'] = flags.mode;
  if (flags.dockerConfig?.length) value['credentials'] = { dockerConfigFiles: flags.dockerConfig };
  const registry: Record<string, Json> = {};
  if (flags.registryConfig !== undefined) registry['configFile'] = flags.registryConfig;
  if (flags.hostsDir !== undefined) registry['hostsDir'] = flags.hostsDir;
  if (flags.registriesConf !== undefined) registry['registriesConf'] = flags.registriesConf;
  if (flags.certsDir !== undefined) registry['certsDir'] = flags.certsDir;
  if (Object.keys(registry).length > 0) value['registry'] = registry;
  if (flags.platform?.length) value['platforms'] = { fallback: flags.platform };
  if (flags.kubeconfig !== undefined) value['kubernetes'] = { kubeconfig: flags.kubeconfig, enabled: true };
  const providers: Record<string, Json> = {};
  if (flags.imageCredentialProviderConfig !== undefined) providers['config'] = flags.imageCredentialProviderConfig;
  if (flags.imageCredentialProviderBinDir !== undefined) providers['binDir'] = flags.imageCredentialProviderBinDir;
  if (Object.keys(providers).length > 0) value['credentialProviders'] = providers;
  return value;
}

/** Parse and validate a config document (YAML or JSON text) without defaults applied. */
export function parseConfigText(text: string, source: string): { ok: true; value: Record<string, unknown> } | { ok: false; errors: string[] } {
  let doc: unknown;
  try {
    doc = YAML.parse(text, { maxAliasCount: 100 });
  } catch (err) {
    return { ok: false, errors: [`${source}: not valid YAML: ${(err as Error).message.split('\n')[0]}`] };
  }
  if (doc === null || doc === undefined) return { ok: true, value: {} };
  if (typeof doc !== 'object' || Array.isArray(doc)) return { ok: false, errors: [`${source}: must be a mapping of keys (see README: Configuration)`] };
  if (!validateConfig(doc)) return { ok: false, errors: formatSchemaErrors(validateConfig.errors, source) };
  return { ok: true, value: doc as Record<string, unknown> };
}

/** defaults ← file ← environment ← flags, validated as a whole. */
export function loadConfig(opts: { file?: string; flags?: ConfigFlags; env?: NodeJS.ProcessEnv }): ConfigResult {
  let fileValue: Record<string, unknown> = {};
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      return { ok: false, errors: [`config file ${opts.file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`] };
    }
    const parsed = parseConfigText(text, opts.file);
    if (!parsed.ok) return parsed;
    fileValue = parsed.value;
  }
  const env = fromEnv(opts.env ?? {});
  if (env.errors.length > 0) return { ok: false, errors: env.errors };
  const merged = merge(merge(merge(structuredClone(DEFAULT_CONFIG), fileValue), env.value), fromFlags(opts.flags ?? {}));
  if (!validateConfig(merged)) return { ok: false, errors: formatSchemaErrors(validateConfig.errors, 'configuration (file, environment and flags)') };
  return { ok: true, config: merged };
}
