// The CLI as a user runs it: `node src/cli/main.ts ...` in a child process (cli), or the same commands in this
// process (run, most cases: no Node start-up each), against real registries (none, basic and token auth) with
// images pushed into them (the kit's startWorld), configured only through files and flags.
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { TestRegistry } from '../harness/registry.ts';
import type { PushedImage } from '../harness/push.ts';
import type { FaultProxy } from '../harness/fault-proxy.ts';

export const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const LOADED_MARK = 'pullguard-test-loaded-modules:';
// Prints the URL of every module loaded (ES and CommonJS, through the same hooks) as one line on stderr at exit.
const LOADED_HOOK = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from 'node:module';
import { writeSync } from 'node:fs';
const loaded = [];
registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
process.on('exit', () => writeSync(2, '\\n${LOADED_MARK}' + JSON.stringify(loaded) + '\\n'));
`)}`;

/**
 * Runs `node script ...args` as a user runs it, with a module hook (node:module registerHooks) that lists every module
 * the process loads: `loaded` (undefined if the hook printed nothing), and stderr without the hook's line.
 */
export async function runNodeListingModules(script: string, args: string[]): Promise<CliResult & { loaded: string[] | undefined }> {
  const r = await runNode(['--import', LOADED_HOOK, script, ...args]);
  const line = r.stderr.split('\n').find((l) => l.startsWith(LOADED_MARK));
  if (line === undefined) return { ...r, loaded: undefined };
  return { ...r, stderr: r.stderr.replace(`\n${line}`, ''), loaded: JSON.parse(line.slice(LOADED_MARK.length)) as string[] };
}

/** Runs `node MAIN ...args` to completion; `input` goes to stdin (closed either way, as in CI). */
export function cli(args: string[], opts: { input?: string; env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  return runNode([MAIN, ...args], opts);
}

export function runNode(args: string[], opts: { input?: string; env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // No KUBECONFIG or PULLGUARD_* from the developer's shell: the flags under test are the only configuration.
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('PULLGUARD_') && k !== 'KUBECONFIG') env[k] = v;
    const child = execFile(process.execPath, args, { env: { ...env, ...opts.env }, cwd: opts.cwd ?? REPO, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(new Error(`${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
    child.stdin?.end(opts.input ?? '');
  });
}

/** Collects what a command writes to one of its streams. */
class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/**
 * Runs `pullguard ...` in this process through the streams program.ts's main() takes: the same code the bin
 * (main.ts) calls, without a Node start-up per case. The environment is the child's (no PULLGUARD_* or KUBECONFIG
 * from the shell, plus `env`), and so is the working directory; an exception is exit 3 as in main.ts. Keep one
 * spawned `cli()` case per command so the real entry point stays covered; `serve` runs here only for its usage
 * cases (with good flags it would serve until killed).
 */
export async function run(args: string[], opts: { input?: string; env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  const out = new Capture();
  const err = new Capture();
  const saved = { ...process.env };
  const cwd = process.cwd();
  for (const k of Object.keys(process.env)) if (k.startsWith('PULLGUARD_') || k === 'KUBECONFIG') delete process.env[k];
  Object.assign(process.env, opts.env);
  process.chdir(opts.cwd ?? REPO);
  let code: number;
  try {
    code = await (await import('../../src/cli/program.ts')).main(args, { out, err, stdin: () => opts.input ?? '', program: 'pullguard' });
  } catch (e) {
    err.write(`pullguard: ${(e as Error).stack ?? String(e)}\n`);
    code = 3;
  } finally {
    process.chdir(cwd);
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  return { code, stdout: out.text, stderr: err.text };
}

/** The 1-based line of the first line of `text` containing `needle`. */
export function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`"${needle}" is not in the text`);
  return i + 1;
}

/** The `--json` output of a run, parsed. */
export function rows<T = Record<string, unknown>>(r: CliResult): T[] {
  try {
    return JSON.parse(r.stdout) as T[];
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface CliEnv {
  /** auth none: team/app 1.0, 1.1, latest (amd64+arm64), team/amd-only 1.0 (amd64 only). */
  open: TestRegistry;
  /** htpasswd auth: private/app 1.0 (amd64+arm64). */
  basic: TestRegistry;
  /** token auth: public/app 1.0, private/app 1.0; anonymous may pull public/*. */
  token: TestRegistry;
  /** A fault proxy in front of `open`, configured as a registry of its own. */
  proxy: FaultProxy;
  /** By `open/team/app:1.0`, `basic/private/app:1.0`, `token/public/app:1.0`. */
  pushed: Record<string, PushedImage>;
  dir: string;
  /** A registry config file trusting the test CA for every registry above. */
  registryConfig: string;
  /** Writes a file in the temp dir and returns its path. */
  file(name: string, content: string): string;
  /** A docker config.json with `auths` for the given registries. */
  dockerConfig(name: string, auths: Record<string, { username: string; password: string }>, extra?: Record<string, unknown>): string;
  close(): Promise<void>;
}

/**
 * The kit's world (test/harness/kit-world.ts) for the CLI: three registries and a proxy, no cluster. Loaded here, not
 * at the top: a file that only runs commands in process (main.test.ts) then starts without the registry harness.
 */
export async function startCliEnv(): Promise<CliEnv> {
  const { AMD64, ARM64, dockerConfigJson, startWorld } = await import('../harness/kit-world.ts');
  const world = await startWorld({
    registries: { open: { auth: 'none' }, basic: { auth: 'basic' }, token: { auth: 'token' } },
    proxyFor: 'open',
    images: [
      { registry: 'open', repository: 'team/app', tag: '1.0', platforms: [AMD64, ARM64] },
      { registry: 'open', repository: 'team/app', tag: '1.1', platforms: [AMD64, ARM64] },
      { registry: 'open', repository: 'team/app', tag: 'latest', platforms: [AMD64, ARM64] },
      { registry: 'open', repository: 'team/amd-only', tag: '1.0', platforms: [AMD64] },
      { registry: 'basic', repository: 'private/app', tag: '1.0', platforms: [AMD64, ARM64] },
      { registry: 'token', repository: 'public/app', tag: '1.0', platforms: [AMD64] },
      { registry: 'token', repository: 'private/app', tag: '1.0', platforms: [AMD64] },
    ],
    dirPrefix: 'pullguard-cli-',
  });
  const { open, basic, token } = world.registries as Record<'open' | 'basic' | 'token', TestRegistry>;
  return {
    open,
    basic,
    token,
    proxy: world.proxy!,
    pushed: world.pushed,
    dir: world.dir,
    registryConfig: world.registryConfig,
    file: world.file,
    dockerConfig: (name, auths, extra = {}) => world.file(name, dockerConfigJson(auths, 'auth', extra)),
    close: world.close,
  };
}
