#!/usr/bin/env node
// pullguard's command line: `serve` (the webhook), `resolve` (check images by name), `check` (check manifests),
// `audit` (check what runs in a cluster). The commands live in program.ts; this file only binds the process to it.
import { basename } from 'node:path';
import { EXIT_USAGE } from './output.ts';
import { main, PROCESS_IO } from './program.ts';

// Installed as kubectl-pullguard too: kubectl runs it as `kubectl pullguard`, so the usage names what was typed.
const program = basename(process.argv[1] ?? '').startsWith('kubectl-') ? 'kubectl pullguard' : 'pullguard';

main(process.argv.slice(2), { ...PROCESS_IO, program }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`pullguard: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = EXIT_USAGE;
  },
);
