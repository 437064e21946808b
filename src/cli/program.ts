// pullguard's command line as a function: argv and streams in, exit code out. src/cli/main.ts (the bin) calls it
// with the process's own streams; tests call it in process.
import { readFileSync } from 'node:fs';
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

export interface CliIo {
  out: NodeJS.WritableStream;
  /** Progress lines (audit) go here only when it is a terminal. */
  err: NodeJS.WritableStream & { isTTY?: boolean };
  /** All of stdin, read when `check -f -` asks for it. */
  stdin: () => string;
  /** What the user typed to run us: `kubectl pullguard` when installed as the kubectl plugin. */
  program: string;
}

export const PROCESS_IO: CliIo = {
  out: process.stdout,
  err: process.stderr,
  stdin: () => readFileSync(0, 'utf8'),
  program: 'pullguard',
};

function usage(program: string): string {
  const indent = ' '.repeat(program.length - 'pullguard'.length);
  return USAGE_TEXT.replace(/^( {2})pullguard /gm, `$1${program} `)
    .replace(/^( {20})(?=\S)/gm, `$1${indent}`)
    .replace('Run "pullguard', `Run "${program}`);
}

export async function main(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  const [command, ...rest] = argv;
  // Each command loads only its own modules: `resolve` needs no web server, and --help needs nothing.
  switch (command) {
    case 'serve':
      return (await import('./serve.ts')).runServe(rest, io);
    case 'resolve':
      return (await import('./resolve.ts')).runResolve(rest, io.out, io.err);
    case 'check':
      return (await import('./check.ts')).runCheck(rest, io);
    case 'audit':
      return (await import('./audit.ts')).runAudit(rest, io);
    case '-h':
    case '--help':
    case 'help':
      io.out.write(usage(io.program));
      return 0;
    case undefined:
      io.err.write(`pullguard: no command given\n\n${usage(io.program)}`);
      return EXIT_USAGE;
    default:
      io.err.write(`pullguard: unknown command "${command}"\n\n${usage(io.program)}`);
      return EXIT_USAGE;
  }
}
