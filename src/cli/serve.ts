// `pullguard serve`: the admission webhook, until SIGTERM/SIGINT, then a graceful shutdown.
import { pino } from 'pino';
import { createMetrics } from '../metrics.ts';
import { startServers } from '../admission/server.ts';
import { buildRuntime } from './runtime.ts';
import { SERVE_OPTIONS, configFrom, parse } from './flags.ts';
import { EXIT_USAGE } from './output.ts';

export async function runServe(args: string[]): Promise<number> {
  const parsed = parse(args, SERVE_OPTIONS);
  if (!parsed.ok) {
    process.stderr.write(`pullguard serve: ${parsed.error}\n`);
    return EXIT_USAGE;
  }
  if (parsed.values['help']) {
    process.stdout.write('Usage: pullguard serve [--config FILE] [--port N] [--metrics-port N] [--tls-cert FILE] [--tls-key FILE] [--mode enforce|warn] [--docker-config FILE] [--registry-config FILE] [--platform os/arch]...\n');
    return 0;
  }
  const cfg = configFrom(parsed.values);
  if (!cfg.ok) {
    process.stderr.write(cfg.errors.map((e) => `pullguard serve: ${e}\n`).join(''));
    return EXIT_USAGE;
  }
  const config = cfg.config;
  const logger = pino({
    level: config.logLevel,
    redact: { paths: ['req.headers.authorization', '*.password', '*.auth', '*.identityToken', '*.registryToken'], censor: '[redacted]' },
  });
  const metrics = createMetrics();
  const built = buildRuntime(config, { log: logger, metrics });
  if (!built.ok) {
    for (const e of built.errors) logger.error({ error: e }, 'invalid configuration');
    return EXIT_USAGE;
  }
  const rt = built.runtime;
  let server;
  try {
    server = await startServers({ config, checker: rt.checker, cluster: rt.cluster, metrics, logger });
  } catch (err) {
    logger.error({ error: (err as Error).message }, 'cannot start');
    await rt.close();
    return EXIT_USAGE;
  }
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
  await server.close();
  await rt.close();
  logger.info('stopped');
  return 0;
}
