#!/usr/bin/env node
// pullguard's command line: `serve` (the webhook), `resolve` (check images by name), `check` (check manifests),
// `audit` (check what runs in a cluster).
import { basename } from 'node:path';
import { EXIT_CODES_TEXT, EXIT_USAGE } from './output.ts';

const USAGE_TEXT = `pullguard — stop ImagePullBackOff before it happens

Usage:
  pullguard serve   [--config FILE] [--port N] [--metrics-port N] [--tls-cert FILE] [--tls-key FILE]
                    [--mode enforce|warn] [--docker-config FILE] [--registry-config FILE] [--hosts-dir DIR|--registries-conf FILE] [--platform os/arch[/variant]]...
  pullguard resolve IMAGE... [--platform os/arch[/variant]]... [--docker-config FILE] [--registry-config FILE] [--hosts-dir DIR|--registries-conf FILE] [--json]
  pullguard check   -f FILE|DIR|- [-f ...] [--docker-config FILE] [--registry-config FILE] [--hosts-dir DIR|--registries-conf FILE] [--platform ...]
                    [--kubeconfig FILE] [--json]
  pullguard audit   [-n NAMESPACE | -A] [--only deny|unknown] [--kubeconfig FILE] [--json] [--platform ...]
                    [--docker-config FILE] [--registry-config FILE]

Run "pullguard COMMAND --help" for a command's options.

${EXIT_CODES_TEXT}`;

// Installed as kubectl-pullguard too: kubectl runs it as `kubectl pullguard`, so the usage names what was typed.
const program = basename(process.argv[1] ?? '').startsWith('kubectl-') ? 'kubectl pullguard' : 'pullguard';
const indent = ' '.repeat(program.length - 'pullguard'.length);
const USAGE = USAGE_TEXT.replace(/^( {2})pullguard /gm, `$1${program} `)
  .replace(/^( {20})(?=\S)/gm, `$1${indent}`)
  .replace('Run "pullguard', `Run "${program}`);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // Each command loads only its own modules: `resolve` needs no web server, and --help needs nothing.
  switch (command) {
    case 'serve':
      return (await import('./serve.ts')).runServe(rest);
    case 'resolve':
      return (await import('./resolve.ts')).runResolve(rest);
    case 'check':
      return (await import('./check.ts')).runCheck(rest);
    case 'audit':
      return (await import('./audit.ts')).runAudit(rest);
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case undefined:
      process.stderr.write(`pullguard: no command given\n\n${USAGE}`);
      return EXIT_USAGE;
    default:
      process.stderr.write(`pullguard: unknown command "${command}"\n\n${USAGE}`);
      return EXIT_USAGE;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`pullguard: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = EXIT_USAGE;
  },
);
