// `pullguard resolve IMAGE...`: will a pull of these images succeed, and if not, exactly why?
import { COMMON_OPTIONS, configFrom, parse } from './flags.ts';
import { cliLog } from './log.ts';
import { EXIT_USAGE, EXIT_CODES_TEXT, exitCode, formatHuman, toJson } from './output.ts';
import type { ImageTarget } from '../verdict/finding.ts';

export const RESOLVE_USAGE = `Usage: pullguard resolve IMAGE... [options]

Checks that each image would pull: the tag or digest exists, the credentials are accepted, and there is a
manifest for the platforms asked for. Prints the normalised reference, the verdict, the reason and the fix.

Options:
  --platform os/arch[/variant]  a platform the image must run on (repeatable; default: any platform)
  --docker-config FILE          a docker config.json whose "auths" hold registry credentials (repeatable)
  --registry-config FILE        per-registry settings: CA bundles, mirrors, plain HTTP
  --hosts-dir DIR               the nodes' containerd registry config_path (<host>/hosts.toml tree)
  --registries-conf FILE        the nodes' CRI-O registries.conf (and its registries.conf.d)
  --certs-dir DIR               with --registries-conf: CRI-O's /etc/containers/certs.d (<host>/*.crt, *.cert + *.key)
  --kubeconfig FILE             take the platforms from the cluster's nodes instead
  --image-credential-provider-config FILE|DIR
                                the kubelet's CredentialProviderConfig: run the same credential provider plugins
  --image-credential-provider-bin-dir DIR
                                where those plugin executables are
  --config FILE                 pullguard's config file
  --json                        print a JSON array instead of text
  -h, --help                    print this help

${EXIT_CODES_TEXT}`;

/** Everything resolve waits for the registries, all images together. */
const DEADLINE_MS = 30_000;

export async function runResolve(args: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const parsed = parse(args, COMMON_OPTIONS);
  if (!parsed.ok) {
    err.write(`pullguard resolve: ${parsed.error}\nRun "pullguard resolve --help" for usage.\n`);
    return EXIT_USAGE;
  }
  if (parsed.values['help']) {
    out.write(RESOLVE_USAGE);
    return 0;
  }
  if (parsed.positionals.length === 0) {
    err.write(`pullguard resolve: no image given\n\n${RESOLVE_USAGE}`);
    return EXIT_USAGE;
  }
  const cfg = configFrom(parsed.values);
  if (!cfg.ok) {
    err.write(cfg.errors.map((e) => `pullguard resolve: ${e}\n`).join(''));
    return EXIT_USAGE;
  }
  // resolve talks to registries only: no cluster, unless --kubeconfig asks for node platforms.
  // Logs go where errors go: the caller's stream (stderr from main.ts; a buffer when a test runs it in process).
  const log = cliLog(process.env['PULLGUARD_LOG_LEVEL'] ?? 'warn', err);
  // Loaded once the arguments are known good: the registry client takes a while to load, and the Kubernetes
  // client (the slowest) is loaded only with --kubeconfig.
  const { openRuntime } = await import('./engine.ts');
  const built = await openRuntime(cfg.config, { log, connectCluster: typeof parsed.values['kubeconfig'] === 'string' });
  if (!built.ok) {
    err.write(built.errors.map((e) => `pullguard resolve: ${e}\n`).join(''));
    return EXIT_USAGE;
  }
  err.write(built.warnings.map((w) => `pullguard resolve: warning: ${w}\n`).join(''));
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
    const { findings } = await rt.checker.check(
      { namespace: 'default', isTemplate: false, serviceAccountName: '', imagePullSecrets: [], nodeSelector: {}, standalone: true },
      targets,
      Date.now() + DEADLINE_MS,
    );
    if (parsed.values['json']) out.write(`${JSON.stringify(findings.map(toJson), null, 2)}\n`);
    else out.write(`${findings.map((f) => formatHuman(f)).join('\n\n')}\n`);
    return exitCode(findings);
  } finally {
    await rt.close();
  }
}
