// Flag parsing shared by the commands; the essentials map onto Config (flags win over file and environment).
import { parseArgs } from 'node:util';
import { loadConfig, type Config, type ConfigFlags } from '../config.ts';
import { formatPlatform, parsePlatform } from '../reference/platform.ts';

export const COMMON_OPTIONS = {
  config: { type: 'string' },
  'docker-config': { type: 'string', multiple: true },
  'registry-config': { type: 'string' },
  'hosts-dir': { type: 'string' },
  'registries-conf': { type: 'string' },
  'certs-dir': { type: 'string' },
  platform: { type: 'string', multiple: true },
  kubeconfig: { type: 'string' },
  // The kubelet's own flag names, so the nodes' values can be copied as they are.
  'image-credential-provider-config': { type: 'string' },
  'image-credential-provider-bin-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const SERVE_OPTIONS = {
  ...COMMON_OPTIONS,
  port: { type: 'string' },
  'metrics-port': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  mode: { type: 'string' },
} as const;

export const CHECK_OPTIONS = { ...COMMON_OPTIONS, file: { type: 'string', short: 'f', multiple: true } } as const;

export const AUDIT_OPTIONS = {
  ...COMMON_OPTIONS,
  namespace: { type: 'string', short: 'n' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  only: { type: 'string' },
} as const;

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export type Parsed = { ok: true; values: Values; positionals: string[] } | { ok: false; error: string };

export function parse(args: string[], options: typeof SERVE_OPTIONS | typeof CHECK_OPTIONS | typeof AUDIT_OPTIONS | typeof COMMON_OPTIONS): Parsed {
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { ok: true, values: values as Values, positionals };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

function int(v: unknown, name: string, errors: string[]): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    errors.push(`--${name}: "${String(v)}" is not a port number`);
    return undefined;
  }
  return n;
}

/** `arm64`, `Linux/AMD64`, `linux/arm/v7` in their canonical form, so the config schema sees `os/arch[/variant]`. */
function platforms(raw: string[], errors: string[]): string[] {
  const out: string[] = [];
  for (const p of raw) {
    const parsed = parsePlatform(p);
    if (parsed && parsed.osVersion === undefined) out.push(formatPlatform(parsed));
    else errors.push(`--platform: "${p}" is not os/arch[/variant] (for example linux/amd64, linux/arm64, linux/arm/v7)`);
  }
  return out;
}

/** Config from --config, environment and flags; errors are ready to print. */
export function configFrom(values: Values, env: NodeJS.ProcessEnv = process.env): { ok: true; config: Config } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const flags: ConfigFlags = {};
  const port = int(values['port'], 'port', errors);
  const metricsPort = int(values['metrics-port'], 'metrics-port', errors);
  if (port !== undefined) flags.port = port;
  if (metricsPort !== undefined) flags.metricsPort = metricsPort;
  if (typeof values['tls-cert'] === 'string') flags.tlsCert = values['tls-cert'];
  if (typeof values['tls-key'] === 'string') flags.tlsKey = values['tls-key'];
  if (typeof values['mode'] === 'string') flags.mode = values['mode'];
  if (Array.isArray(values['docker-config'])) flags.dockerConfig = values['docker-config'] as string[];
  if (typeof values['registry-config'] === 'string') flags.registryConfig = values['registry-config'];
  if (typeof values['hosts-dir'] === 'string') flags.hostsDir = values['hosts-dir'];
  if (typeof values['registries-conf'] === 'string') flags.registriesConf = values['registries-conf'];
  if (typeof values['certs-dir'] === 'string') flags.certsDir = values['certs-dir'];
  if (Array.isArray(values['platform'])) flags.platform = platforms(values['platform'] as string[], errors);
  if (typeof values['kubeconfig'] === 'string') flags.kubeconfig = values['kubeconfig'];
  if (typeof values['image-credential-provider-config'] === 'string') flags.imageCredentialProviderConfig = values['image-credential-provider-config'];
  if (typeof values['image-credential-provider-bin-dir'] === 'string') flags.imageCredentialProviderBinDir = values['image-credential-provider-bin-dir'];
  if (errors.length > 0) return { ok: false, errors };
  return loadConfig({ ...(typeof values['config'] === 'string' ? { file: values['config'] } : {}), flags, env });
}
