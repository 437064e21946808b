// The GitHub workflows and the action are validated offline by @action-validator (GitHub's workflow and action
// schemas, from SchemaStore, compiled into the package; in process through its library, and once through its CLI),
// and agree with what the README and the chart promise: the release publishes the image the chart defaults to, for
// linux/amd64 and linux/arm64, the chart as an OCI artifact and the npm package with provenance.
import { validateAction, validateWorkflow } from '@action-validator/core';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { makeTempDir } from '../harness/lifecycle.ts';
import { chartDir, repoRoot } from './helm.ts';

const validatorCli = createRequire(import.meta.url).resolve('@action-validator/cli/cli.mjs');

/** What @action-validator/cli does with a file (cli.mjs): action.yml/.yaml is an action, anything else a workflow. */
function validate(file: string): { ok: boolean; output: string } {
  const text = readFileSync(file, 'utf8');
  const result = /action\.ya?ml$/.test(file) ? validateAction(text) : validateWorkflow(text);
  return { ok: result.errors.length === 0, output: JSON.stringify(result, null, 2) };
}

/** The same through the CLI, as a developer runs it. */
function validateWithCli(file: string): { ok: boolean; output: string } {
  const run = spawnSync(process.execPath, [validatorCli, file], { encoding: 'utf8', cwd: repoRoot });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

const workflowDir = join(repoRoot, '.github/workflows');
const files = [...readdirSync(workflowDir).filter((f) => /\.ya?ml$/.test(f)).map((f) => join('.github/workflows', f)), 'action.yml'];

t.test('there is a CI workflow, a release workflow and an action', async (t) => {
  t.same(files.sort(), ['.github/workflows/ci.yml', '.github/workflows/release.yml', 'action.yml']);
});

for (const file of files) {
  t.test(`${file} is valid`, async (t) => {
    const { ok, output } = validate(join(repoRoot, file));
    t.ok(ok, output);
  });
}

t.test('the validator rejects a misspelt workflow key (it really checks)', async (t) => {
  const dir = join(makeTempDir('workflows'), '.github/workflows');
  mkdirSync(dir, { recursive: true });
  const broken = readFileSync(join(workflowDir, 'ci.yml'), 'utf8').replace('runs-on:', 'run-on:');
  writeFileSync(join(dir, 'ci.yml'), broken);
  const { ok, output } = validate(join(dir, 'ci.yml'));
  t.notOk(ok);
  t.match(output, /run-on/);
  const cli = validateWithCli(join(dir, 'ci.yml'));
  t.notOk(cli.ok, 'the CLI exits non-zero on it too');
  t.match(cli.output, /run-on/);
  t.ok(validateWithCli(join(workflowDir, 'ci.yml')).ok, 'and passes the real ci.yml');
});

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  on: Record<string, unknown>;
  env?: Record<string, string>;
  jobs: Record<string, { steps?: Step[]; uses?: string; strategy?: { matrix?: Record<string, unknown> }; permissions?: Record<string, string> }>;
}

const load = (file: string) => YAML.parse(readFileSync(join(repoRoot, file), 'utf8')) as Workflow;
const ci = load('.github/workflows/ci.yml');
const release = load('.github/workflows/release.yml');
const steps = (w: Workflow) => Object.values(w.jobs).flatMap((j) => j.steps ?? []);
/** An expression with ${{ github.repository_owner }} as it is for this project's GitHub organisation. */
const forOwner = (s: string | undefined) => (s ?? '').replaceAll('${{ github.repository_owner }}', 'pullguard');

t.test('CI runs on pull requests, on Node 22 and 24, and the release runs it first', async (t) => {
  t.ok('pull_request' in ci.on);
  t.same(ci.jobs['test']?.strategy?.matrix?.['node'], [22, 24]);
  t.ok(steps(ci).some((s) => s.run === 'npm test'), 'the tests .ci/run runs');
  t.ok(steps(ci).some((s) => /apt-get install .*docker-registry/.test(s.run ?? '')), 'with the real registry the tests need');
  t.equal(release.jobs['test']?.uses, './.github/workflows/ci.yml');
});

t.test('the release pushes the chart’s default image, multi-arch, with buildx', async (t) => {
  const values = YAML.parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as { image: { repository: string } };
  t.equal(forOwner(release.env?.['IMAGE']), values.image.repository, 'image.repository is what the release publishes');
  const build = steps(release).find((s) => s.uses?.startsWith('docker/build-push-action@'));
  t.equal(build?.with?.['platforms'], 'linux/amd64,linux/arm64');
  t.equal(build?.with?.['push'], true);
  t.ok(steps(release).some((s) => s.uses?.startsWith('docker/setup-buildx-action@')));
  t.ok(steps(release).some((s) => s.uses?.startsWith('docker/setup-qemu-action@')), 'QEMU, to build arm64 on amd64 runners');
  t.equal(release.jobs['image']?.permissions?.['packages'], 'write');
});

t.test('the release pushes the chart as an OCI artifact and publishes the npm package with provenance', async (t) => {
  const run = steps(release).map((s) => s.run ?? '').join('\n');
  t.match(run, /helm package charts\/pullguard/);
  t.match(run, /helm push .*"\$CHART_REPO"/);
  t.equal(forOwner(release.env?.['CHART_REPO']), 'oci://ghcr.io/pullguard/charts');
  t.match(run, /npm publish --provenance/);
  t.equal(release.jobs['npm']?.permissions?.['id-token'], 'write', 'provenance needs the OIDC token');
});

t.test('the README installs what the release publishes', async (t) => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  t.match(readme, 'helm install pullguard oci://ghcr.io/pullguard/charts/pullguard');
  t.match(readme, 'ghcr.io/pullguard/pullguard');
  t.match(readme, 'uses: pullguard/pullguard@v');
});

t.test('the action runs `pullguard check` on the given paths', async (t) => {
  const action = YAML.parse(readFileSync(join(repoRoot, 'action.yml'), 'utf8')) as { inputs: Record<string, { required?: boolean }>; runs: { using: string; steps: Step[] } };
  t.equal(action.runs.using, 'composite');
  t.equal(action.inputs['path']?.required, true);
  const script = action.runs.steps.map((s) => s.run ?? '').join('\n');
  t.match(script, /args=\(check\)/);
  t.match(script, /npx --yes "pullguard@\$version" "\$\{args\[@\]\}"/);
});

/** Runs the action's script with `inputs`, `npx` replaced by this checkout's CLI (and recording what it was asked). */
function runAction(inputs: Record<string, string>): { code: number | null; out: string; outputs: string; npxSpec: string } {
  const action = YAML.parse(readFileSync(join(repoRoot, 'action.yml'), 'utf8')) as { runs: { steps: Step[] } };
  const script = action.runs.steps.find((s) => s.run !== undefined)?.run ?? '';
  const dir = makeTempDir('action');
  writeFileSync(join(dir, 'npx'), `#!/usr/bin/env bash\necho "$2" > "${dir}/npx-spec"\nshift 2\nexec node "${repoRoot}/src/cli/main.ts" "$@"\n`, { mode: 0o755 });
  writeFileSync(join(dir, 'outputs'), '');
  writeFileSync(join(dir, 'npx-spec'), '');
  const run = spawnSync('bash', ['-e', '-c', script], {
    encoding: 'utf8',
    env: {
      PATH: [dir, dirname(process.execPath), process.env['PATH'] ?? ''].join(':'),
      HOME: dir,
      ACTION_PATH: repoRoot,
      GITHUB_OUTPUT: join(dir, 'outputs'),
      PULLGUARD_PATHS: inputs['path'] ?? '',
      PULLGUARD_PLATFORMS: inputs['platform'] ?? '',
      PULLGUARD_DOCKER_CONFIG: inputs['docker-config'] ?? '',
      PULLGUARD_FAIL_ON_UNKNOWN: inputs['fail-on-unknown'] ?? 'false',
    },
  });
  return { code: run.status, out: `${run.stdout}${run.stderr}`, outputs: readFileSync(join(dir, 'outputs'), 'utf8'), npxSpec: readFileSync(join(dir, 'npx-spec'), 'utf8').trim() };
}

const manifest = (image: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: app, image: "${image}"}]}\n`;

t.test('the action checks every path it is given with the CLI of its own version, failing on a bad image', async (t) => {
  const dir = makeTempDir('action-manifests');
  mkdirSync(join(dir, 'deploy'));
  writeFileSync(join(dir, 'deploy/also-bad.yaml'), manifest('Redis:7'));
  writeFileSync(join(dir, 'bad.yaml'), manifest('Nginx:1.27'));
  const run = runAction({ path: `${join(dir, 'deploy')}\n${join(dir, 'bad.yaml')}\n` });
  t.equal(run.code, 1, run.out);
  t.match(run.out, /bad\.yaml:4 .*Pod\/web.*InvalidReference/);
  t.match(run.out, /deploy\/also-bad\.yaml:4 .*Redis/, 'the directory was read too');
  t.match(run.outputs, 'exit-code=1');
  const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  t.equal(run.npxSpec, `pullguard@${version}`);
});

t.test('an image that could not be checked warns, and fails only with fail-on-unknown', async (t) => {
  const dir = makeTempDir('action-manifests');
  writeFileSync(join(dir, 'pod.yaml'), manifest('127.0.0.1:1/app:v1'));
  const lenient = runAction({ path: join(dir, 'pod.yaml') });
  t.equal(lenient.code, 0, lenient.out);
  t.match(lenient.out, /::warning::pullguard could not check some images/);
  t.match(lenient.outputs, 'exit-code=2');
  const strict = runAction({ path: join(dir, 'pod.yaml'), 'fail-on-unknown': 'true' });
  t.equal(strict.code, 2, strict.out);
});
