// The log of `resolve` and `check`: pino, loaded on the first line that is logged at an enabled level. At the
// default level (warn) a run usually logs nothing, and loading pino and its streams cost ~85 ms CPU of every start.
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import type { RuntimeLog } from './engine.ts';

const LEVELS: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

export type CliLog = RuntimeLog & { error(obj: object, msg: string): void };

/** A pino logger at `level` writing to `stream`, created when first needed; an unknown level fails now, as pino would. */
export function cliLog(level: string, stream: NodeJS.WritableStream): CliLog {
  let logger: Logger | undefined;
  const load = (): Logger => (logger ??= (createRequire(import.meta.url)('pino') as typeof import('pino')).pino({ level }, stream));
  const threshold = LEVELS[level];
  if (threshold === undefined) load();
  const at = (name: 'debug' | 'info' | 'warn' | 'error') => (obj: object, msg: string): void => {
    if (LEVELS[name]! >= threshold!) load()[name](obj, msg);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
