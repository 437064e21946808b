// `pullguard resolve IMAGE...`: will a pull of these images succeed, and if not, exactly why?
import { pino } from 'pino';
import { buildRuntime } from './runtime.ts';
import { COMMON_OPTIONS, configFrom, parse } from './flags.ts';
import { EXIT_USAGE, exitCode, formatHuman, toJson } from './output.ts';
import type { ImageTarget } from '../verdict/finding.ts';

export async function runResolve(args: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const parsed = parse(args, COMMON_OPTIONS);
  if (!parsed.ok) {
    err.write(`pullguard resolve: ${parsed.error}\n`);
    return EXIT_USAGE;
  }
  if (parsed.values['help'] || parsed.positionals.length === 0) {
    (parsed.values['help'] ? out : err).write('Usage: pullguard resolve IMAGE... [--platform os/arch[/variant]]... [--docker-config FILE] [--registry-config FILE] [--json]\n');
    return parsed.values['help'] ? 0 : EXIT_USAGE;
  }
  const cfg = configFrom(parsed.values);
  if (!cfg.ok) {
    err.write(cfg.errors.map((e) => `pullguard resolve: ${e}\n`).join(''));
    return EXIT_USAGE;
  }
  // resolve talks to registries only: no cluster, unless --kubeconfig asks for node platforms.
  const log = pino({ level: process.env['PULLGUARD_LOG_LEVEL'] ?? 'warn' }, process.stderr);
  const built = buildRuntime(cfg.config, { log, connectCluster: typeof parsed.values['kubeconfig'] === 'string' });
  if (!built.ok) {
    err.write(built.errors.map((e) => `pullguard resolve: ${e}\n`).join(''));
    return EXIT_USAGE;
  }
  const rt = built.runtime;
  try {
    const targets: ImageTarget[] = parsed.positionals.map((image, i) => ({
      containerName: `image-${i}`,
      field: 'containers',
      image,
      fieldPath: `args[${i}]`,
      pullPolicy: 'IfNotPresent',
      pullPolicyDefaulted: false,
    }));
    const deadline = Date.now() + 30_000;
    const { findings } = await rt.checker.check(
      { namespace: 'default', isTemplate: false, serviceAccountName: '', imagePullSecrets: [], nodeSelector: {} },
      targets,
      deadline,
    );
    if (parsed.values['json']) out.write(`${JSON.stringify(findings.map(toJson), null, 2)}\n`);
    else out.write(`${findings.map((f) => formatHuman(f)).join('\n\n')}\n`);
    return exitCode(findings);
  } finally {
    await rt.close();
  }
}
