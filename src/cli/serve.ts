// `pullguard serve`: the admission webhook, until SIGTERM/SIGINT, then a graceful shutdown.
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from '../config.ts';
import { SERVE_OPTIONS, configFrom, parse } from './flags.ts';
import { EXIT_USAGE } from './output.ts';

export const SERVE_USAGE = `Usage: pullguard serve [options]

Runs the admission webhook (HTTPS, POST /validate) and the ops server (/healthz, /readyz, /metrics, and /audit
when the config enables the continuous audit) until SIGTERM or SIGINT. Flags override the PULLGUARD_* environment variables, which override the config file.

Options:
  --config FILE                 pullguard's config file (YAML)
  --port N                      webhook port (default 8443)
  --metrics-port N              ops port (default 9090)
  --tls-cert FILE, --tls-key FILE
                                serving certificate and key, reloaded when they change
  --mode enforce|warn           deny what cannot be pulled, or only warn
  --docker-config FILE          node-level credentials, e.g. the kubelet's config.json (repeatable)
  --registry-config FILE        per-registry settings: CA bundles, mirrors, plain HTTP
  --hosts-dir DIR               the nodes' containerd registry config_path (<host>/hosts.toml tree)
  --registries-conf FILE        the nodes' CRI-O registries.conf (and its registries.conf.d)
  --certs-dir DIR               with --registries-conf: CRI-O's /etc/containers/certs.d (<host>/*.crt, *.cert + *.key)
  --platform os/arch[/variant]  platforms to check when there is no node inventory (repeatable)
  --kubeconfig FILE             the API server to read pull secrets and nodes from (default: in-cluster)
  --image-credential-provider-config FILE|DIR
                                the kubelet's CredentialProviderConfig: run the same credential provider plugins
  --image-credential-provider-bin-dir DIR
                                where those plugin executables are
  -h, --help                    print this help
`;

/**
 * The server's logger. Secrets are kept out of log objects by construction (credentials are never logged, URLs are
 * redacted by the registry transport); these paths are the second line of defence for anything that slips in.
 */
export function createServeLogger(level: Config['logLevel'], destination?: DestinationStream): Logger {
  const options = {
    level,
    redact: { paths: ['req.headers.authorization', '*.password', '*.auth', '*.identityToken', '*.registryToken', '*.authorization', '*.headers.authorization'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}

export async function runServe(args: string[], io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream } = { out: process.stdout, err: process.stderr }): Promise<number> {
  const parsed = parse(args, SERVE_OPTIONS);
  if (!parsed.ok) {
    io.err.write(`pullguard serve: ${parsed.error}\nRun "pullguard serve --help" for usage.\n`);
    return EXIT_USAGE;
  }
  if (parsed.values['help']) {
    io.out.write(SERVE_USAGE);
    return 0;
  }
  if (parsed.positionals.length > 0) {
    io.err.write(`pullguard serve: unexpected argument "${parsed.positionals[0]}"\nRun "pullguard serve --help" for usage.\n`);
    return EXIT_USAGE;
  }
  const cfg = configFrom(parsed.values);
  if (!cfg.ok) {
    io.err.write(cfg.errors.map((e) => `pullguard serve: ${e}\n`).join(''));
    return EXIT_USAGE;
  }
  const config = cfg.config;
  // Loaded once the flags are known good, so --help and usage errors answer at once.
  const [{ createMetrics }, { startServers }, { buildRuntime }] = await Promise.all([import('../metrics.ts'), import('../admission/server.ts'), import('./runtime.ts')]);
  const logger = createServeLogger(config.logLevel);
  const metrics = createMetrics();
  const built = buildRuntime(config, { log: logger, metrics, detectInCluster: true, reloadNodeFiles: true });
  if (!built.ok) {
    for (const e of built.errors) logger.error({ error: e }, 'invalid configuration');
    return EXIT_USAGE;
  }
  for (const w of built.warnings) logger.warn({ warning: w }, 'configuration warning');
  const rt = built.runtime;
  // The continuous audit (off by default): its own module, sharing the runtime's registry client and cache.
  const { setupContinuousAudit } = await import('../audit/in-serve.ts');
  const { checkerFor } = await import('./runtime.ts');
  const audit = setupContinuousAudit(config, {
    registry: rt.registry,
    checkerFor: (registry) => checkerFor(config, { registry, cluster: rt.cluster, nodeCredentials: rt.nodeCredentials, fallbackPlatforms: rt.fallbackPlatforms, ...(rt.inCluster ? { inCluster: rt.inCluster } : {}) }),
    metricsRegistry: metrics.registry,
    logger,
  });
  if (!audit.ok) {
    logger.error({ error: audit.error }, 'invalid configuration');
    await rt.close();
    return EXIT_USAGE;
  }
  let server;
  try {
    server = await startServers({ config, checker: rt.checker, cluster: rt.cluster, metrics, logger }, audit.value ? { opsRoutes: audit.value.routes } : {});
  } catch (err) {
    logger.error({ error: (err as Error).message }, 'cannot start');
    await rt.close();
    return EXIT_USAGE;
  }
  audit.value?.audit.start();
  logger.info({
    webhook: `https://${config.server.host}:${server.webhookPort}/validate`,
    ops: `http://${config.server.metricsHost}:${server.opsPort}`,
    mode: config.mode,
    cluster: rt.cluster.connected,
    nodeCredentials: rt.nodeCredentials.length,
    fallbackPlatforms: config.platforms.fallback,
  }, 'pullguard is serving');
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down: finishing in-flight reviews');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await audit.value?.audit.stop();
  await server.close();
  await rt.close();
  logger.info('stopped');
  return 0;
}
