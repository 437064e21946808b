// The `pullguard` entry point: top-level usage and exit codes and each command's --help (in process, through
// program.ts's main()), `npm run pullguard`, the published build (dist/cli/main.js, compiled by tsc with
// rewriteRelativeImportExtensions) actually running as a process, and `serve` starting and stopping as a process.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import t from 'tap';
import { makeTestPki } from '../harness/pki.ts';
import { closedPort, MAIN, REPO, run, runNode } from './env.ts';

// Spawns processes, and one case runs a tsc emit: a minute or more on a busy CI machine.
t.setTimeout(600_000);

t.test('with no command it prints the usage on stderr and exits 3', async (t) => {
  const r = await run([]);
  t.equal(r.code, 3);
  t.equal(r.stdout, '');
  t.match(r.stderr, /^pullguard: no command given\n/);
  t.match(r.stderr, /pullguard serve +\[--config FILE\]/);
  t.match(r.stderr, /pullguard resolve IMAGE\.\.\./);
  t.match(r.stderr, /pullguard check +-f FILE\|DIR\|-/);
  t.match(r.stderr, /Exit codes: 0 every image pulls, 1 some image cannot be pulled, 2 .*, 3 usage or configuration error/s);
});

t.test('--help, -h and help print the usage on stdout and exit 0', async (t) => {
  for (const arg of ['--help', '-h', 'help']) {
    const r = await run([arg]);
    t.equal(r.code, 0, arg);
    t.match(r.stdout, /^pullguard — stop ImagePullBackOff before it happens/, arg);
    t.equal(r.stderr, '', arg);
  }
});

t.test('installed as the kubectl plugin, the usage names `kubectl pullguard`, as the user typed it', async (t) => {
  const { main } = await import('../../src/cli/program.ts');
  let text = '';
  const out = new Writable({ write(chunk: Buffer, _enc, done) { text += chunk.toString(); done(); } });
  t.equal(await main(['--help'], { out, err: out, stdin: () => '', program: 'kubectl pullguard' }), 0);
  t.match(text, /^ {2}kubectl pullguard serve +\[--config FILE\]/m);
  t.match(text, /^ {28}\[--mode enforce\|warn\]/m, 'continuation lines stay aligned under the longer name');
  t.match(text, /Run "kubectl pullguard COMMAND --help"/);
});

t.test('an unknown command is a usage error that names it', async (t) => {
  const r = await run(['resolv', 'nginx']);
  t.equal(r.code, 3);
  t.match(r.stderr, /^pullguard: unknown command "resolv"\n/);
  t.equal(r.stdout, '');
});

t.test('every command has its own --help with its options', async (t) => {
  const expected: Record<string, string[]> = {
    serve: ['--config', '--port', '--metrics-port', '--tls-cert', '--tls-key', '--mode', '--docker-config', '--registry-config', '--platform', '--kubeconfig'],
    resolve: ['--platform', '--docker-config', '--registry-config', '--kubeconfig', '--config', '--json'],
    check: ['--file', '--platform', '--docker-config', '--registry-config', '--kubeconfig', '--config', '--json'],
  };
  for (const [command, flags] of Object.entries(expected)) {
    const r = await run([command, '--help']);
    t.equal(r.code, 0, command);
    t.match(r.stdout, new RegExp(`^Usage: pullguard ${command} `), command);
    for (const flag of flags) t.match(r.stdout, flag, `${command} --help mentions ${flag}`);
  }
});

t.test('serve refuses stray arguments and unknown flags before starting anything', async (t) => {
  const stray = await run(['serve', 'now']);
  t.equal(stray.code, 3);
  t.match(stray.stderr, /^pullguard serve: unexpected argument "now"/);
  const flag = await run(['serve', '--prot', '8443']);
  t.equal(flag.code, 3);
  t.match(flag.stderr, /^pullguard serve: Unknown option '--prot'/);
  const port = await run(['serve', '--port', 'https']);
  t.equal(port.code, 3);
  t.match(port.stderr, /^pullguard serve: --port: "https" is not a port number/);
});

t.test('npm run pullguard -- resolve --help works from the repository', async (t) => {
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile('npm', ['run', '--silent', 'pullguard', '--', 'resolve', '--help'], { cwd: REPO, env: { ...process.env, PATH: `${join(REPO, 'node_modules/.bin')}:${process.env['PATH'] ?? ''}` } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^Usage: pullguard resolve IMAGE\.\.\./);
});

t.test('the tsc build runs: dist/cli/main.js with every relative import rewritten to .js', async (t) => {
  // Built into a temp dir (not the shared dist/), with node_modules and the ESM package type the repo gives it.
  const dir = mkdtempSync(join(tmpdir(), 'pullguard-build-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  // --noCheck: emit only. The same sources are type-checked under this tsconfig (tsconfig.test.json extends it) by
  // `npm run typecheck`, which `npm test` runs first; checking them again here doubled this case's time.
  // --noResolve: only src/ and the lib are parsed, not the ~1,100 declaration files of the dependencies (two thirds
  // of the emit's CPU). The emit is the same byte for byte: with verbatimModuleSyntax and erasableSyntaxOnly (checked
  // here) each file is emitted from its own text, and rewriteRelativeImportExtensions only rewrites specifiers.
  const options = (JSON.parse(readFileSync(join(REPO, 'tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown> }).compilerOptions;
  t.equal(options['verbatimModuleSyntax'], true, 'tsconfig.json emits each import as written');
  t.equal(options['erasableSyntaxOnly'], true, 'tsconfig.json allows only syntax that is erased, never transformed');
  const build = await runNode([join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.json'), '--noCheck', '--noResolve', '--outDir', join(dir, 'dist')]);
  t.equal(build.code, 0, build.stdout + build.stderr);

  const js = readdirSync(join(dir, 'dist'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
  t.ok(js.includes(join('cli', 'main.js')), 'the bin is emitted');
  const tsSpecifiers = js.filter((f) => /(from\s+|import\()\s*["']\.{1,2}\/[^"']*\.ts["']/.test(readFileSync(join(dir, 'dist', f), 'utf8')));
  t.same(tsSpecifiers, [], 'no emitted file imports a .ts path');
  t.match(readFileSync(join(dir, 'dist/cli/main.js'), 'utf8'), /^#!\/usr\/bin\/env node\n/, 'the shebang survives');

  const main = join(dir, 'dist/cli/main.js');
  const help = await runNode([main, 'resolve', '--help']);
  t.equal(help.code, 0, help.stderr);
  t.match(help.stdout, /^Usage: pullguard resolve IMAGE\.\.\./);
  const usage = await runNode([main]);
  t.equal(usage.code, 3);
  // A real resolution loads the registry client, the runtime and the Kubernetes client through dynamic imports.
  const down = await runNode([main, 'resolve', '--json', `127.0.0.1:${await closedPort()}/team/app:1.0`]);
  t.equal(down.code, 2, down.stderr);
  t.equal((JSON.parse(down.stdout) as { reason: string }[])[0]?.reason, 'RegistryUnreachable');
  const check = await runNode([main, 'check', '-f', '-'], { input: 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\n' });
  t.equal(check.code, 0, check.stderr);
});

t.test('serve starts from flags alone, logs where it listens, and stops cleanly on SIGTERM', async (t) => {
  const pki = await makeTestPki();
  const dir = mkdtempSync(join(tmpdir(), 'pullguard-serve-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // A developer's docker config: a credential helper and an entry without credentials are warnings, not fatal.
  const dockerConfig = join(dir, 'config.json');
  writeFileSync(dockerConfig, JSON.stringify({ auths: { 'ghcr.io': {} }, credsStore: 'desktop' }));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('PULLGUARD_') && k !== 'KUBECONFIG') env[k] = v;
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--metrics-port', '0', '--tls-cert', pki.certFile, '--tls-key', pki.keyFile, '--docker-config', dockerConfig], {
    env: { ...env, PULLGUARD_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const serving = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry['msg'] === 'pullguard is serving') resolve(entry);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  const started = await serving;
  const opsPort = Number(/:(\d+)$/.exec(String(started['ops']))?.[1]);
  const health = await fetch(`http://127.0.0.1:${opsPort}/healthz`);
  t.equal(health.status, 200);
  t.ok(logs.some((l) => l['msg'] === 'configuration warning' && /credential helpers/.test(String(l['warning']))), 'the docker config notes are logged as warnings');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  t.equal(await exited, 0, stderr);
  t.ok(logs.some((l) => l['msg'] === 'stopped'), 'logs that it stopped');
});
