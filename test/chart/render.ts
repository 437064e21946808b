// Runs helm against charts/pullguard with a values object and hands back the rendered objects, parsed.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import YAML from 'yaml';
import { makeTempDir } from '../harness/lifecycle.ts';
import { chartDir, helmPath, repoRoot } from './helm.ts';

export type Values = Record<string, unknown>;

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

export interface HelmResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

export const release = 'rel';
export const namespace = 'guard-system';
/** The Service, and so the certificate's names, of a release called `rel` (the chart name is appended). */
export const serviceName = 'rel-pullguard';

// Helm keeps its own state out of the developer's home directory.
const helmHome = makeTempDir('helm-home');
const helmEnv = {
  ...process.env,
  HELM_CACHE_HOME: join(helmHome, 'cache'),
  HELM_CONFIG_HOME: join(helmHome, 'config'),
  HELM_DATA_HOME: join(helmHome, 'data'),
  KUBECONFIG: join(helmHome, 'no-kubeconfig'),
};
let valuesFiles = 0;

/** `values` as a values file for helm's `-f`, and a function that removes it. */
function valuesFile(values: Values): [string, () => void] {
  const file = join(helmHome, `values-${valuesFiles++}.json`);
  writeFileSync(file, JSON.stringify(values));
  return [file, () => rmSync(file, { force: true })];
}

/** Run helm with `args`, passing `values` as a values file (`-f`) when given. Never cached. */
export function helm(args: string[], values?: Values): HelmResult {
  const [file, remove] = values === undefined ? [undefined, () => {}] : valuesFile(values);
  try {
    const run = spawnSync(helmPath(), [...args, ...(file === undefined ? [] : ['-f', file])], { encoding: 'utf8', env: helmEnv, maxBuffer: 64 * 1024 * 1024 });
    if (run.error) throw run.error;
    return { ok: run.status === 0, stdout: run.stdout, stderr: run.stderr };
  } finally {
    remove();
  }
}

// A client-side helm run is a function of the helm binary, the chart's files, the arguments and the values: the
// same question asked again (in this process or another test file) gets the answer helm gave the first time.
// Random and time-dependent output (genCA, a certificate's dates) is answered from a render at most a day old.
const RENDER_CACHE = join(repoRoot, 'node_modules/.cache/pullguard-helm-render');
const RENDER_MAX_AGE_MS = 86_400_000;
const rendered = new Map<string, HelmResult>();
let renderInputs: string | undefined;

/** Every file of the chart (path and content) and which helm binary: what a render depends on besides its request. */
function chartAndHelm(): string {
  if (renderInputs !== undefined) return renderInputs;
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else hash.update(`${relative(chartDir, path)}\0`).update(readFileSync(path)).update('\0');
    }
  };
  walk(chartDir);
  const binary = helmPath();
  const { size, mtimeMs } = statSync(binary);
  hash.update(`${binary}\0${size}\0${mtimeMs}`);
  renderInputs = hash.digest('hex');
  return renderInputs;
}

/** Evicts renders older than RENDER_MAX_AGE_MS, once per process. */
let swept = false;
function sweepRenders(now: number): void {
  if (swept) return;
  swept = true;
  for (const name of readdirSync(RENDER_CACHE)) {
    try {
      if (now - statSync(join(RENDER_CACHE, name)).mtimeMs > RENDER_MAX_AGE_MS) rmSync(join(RENDER_CACHE, name), { force: true });
    } catch {
      // Evicted by a concurrent process.
    }
  }
}

/** helm(args, values) through the render cache: in this process, then on disk (written atomically, so processes may race). */
function cachedHelm(args: string[], values: Values): HelmResult {
  const key = createHash('sha256').update(JSON.stringify([chartAndHelm(), args, values])).digest('hex');
  const hit = rendered.get(key);
  if (hit !== undefined) return { ...hit };
  const file = join(RENDER_CACHE, `${key}.json`);
  const now = Date.now();
  try {
    if (now - statSync(file).mtimeMs <= RENDER_MAX_AGE_MS) {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as HelmResult;
      rendered.set(key, stored);
      return { ...stored };
    }
  } catch {
    // Not rendered yet (or unreadable): render.
  }
  const result = helm(args, values);
  rendered.set(key, { ...result });
  try {
    mkdirSync(RENDER_CACHE, { recursive: true });
    sweepRenders(now);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(result));
    renameSync(tmp, file);
  } catch {
    // A read-only node_modules: this process still remembers it.
  }
  return result;
}

export function lint(values: Values = {}): HelmResult {
  return cachedHelm(['lint', chartDir, '--strict', '--namespace', namespace], values);
}

/** The objects a release renders, by kind and name. */
export class Rendered {
  readonly docs: Manifest[];
  constructor(docs: Manifest[]) {
    this.docs = docs;
  }

  all<T = Manifest>(kind: string): T[] {
    return this.docs.filter((d) => d.kind === kind) as unknown as T[];
  }

  /** The one object of `kind` (and `name`); throws if there is none or several. */
  one<T = Manifest>(kind: string, name?: string): T {
    const found = this.all(kind).filter((d) => name === undefined || d.metadata.name === name);
    if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
    return found[0] as unknown as T;
  }

  has(kind: string): boolean {
    return this.all(kind).length > 0;
  }
}

function parseManifests(text: string): Manifest[] {
  return YAML.parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`helm rendered invalid YAML: ${doc.errors[0]?.message}`);
      return doc.toJS() as unknown;
    })
    .filter((d): d is Manifest => d !== null && typeof d === 'object');
}

/**
 * `helm template --dry-run=server` against the cluster in `kubeconfig`, so `lookup` sees it as `helm upgrade` would.
 * Asynchronous: the cluster may be a fake served by this very process.
 */
export async function templateAgainst(kubeconfig: string, values: Values = {}): Promise<Rendered> {
  const [file, remove] = valuesFile(values);
  try {
    const args = ['template', release, chartDir, '--namespace', namespace, '--dry-run=server', '--disable-openapi-validation', '--skip-tests', '-f', file];
    const child = spawn(helmPath(), args, { env: { ...helmEnv, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const status = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    if (status !== 0) throw new Error(`helm template --dry-run=server failed: ${stderr}`);
    return new Rendered(parseManifests(stdout));
  } finally {
    remove();
  }
}

/**
 * `helm template`; throws with helm's message when rendering fails. The release's objects only, unless `tests`:
 * the `helm test` hooks (templates/tests/) are applied by `helm test`, not by install or upgrade. `fresh`: a new
 * helm run, not the render cache's answer, for a test about what two separate renders give.
 */
export function template(values: Values = {}, { tests = false, fresh = false }: { tests?: boolean; fresh?: boolean } = {}): Rendered {
  const args = ['template', release, chartDir, '--namespace', namespace, ...(tests ? [] : ['--skip-tests'])];
  const run = fresh ? helm(args, values) : cachedHelm(args, values);
  if (!run.ok) throw new Error(`helm template failed: ${run.stderr}`);
  return new Rendered(parseManifests(run.stdout));
}

/**
 * NOTES.txt as `helm install` prints it. `helm template` never renders it; a client-side dry-run install does,
 * without a cluster, from Helm 4 on (Helm 3 still wants one): undefined then.
 */
export function notes(values: Values = {}): string | undefined {
  const run = cachedHelm(['install', release, chartDir, '--namespace', namespace, '--dry-run=client', '--hide-secret'], values);
  if (!run.ok && /cluster unreachable/i.test(run.stderr)) return undefined;
  if (!run.ok) throw new Error(`helm install --dry-run failed: ${run.stderr}`);
  const at = run.stdout.indexOf('NOTES:\n');
  if (at < 0) throw new Error('helm install --dry-run printed no NOTES');
  return run.stdout.slice(at + 'NOTES:\n'.length);
}

/** helm's error output for values that must be refused (empty string if helm accepted them). */
export function templateError(values: Values): string {
  const run = cachedHelm(['template', release, chartDir, '--namespace', namespace], values);
  return run.ok ? '' : run.stderr;
}

const testCA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n').toString('base64');

/** The three ways the chart provides webhook TLS, as values. */
export const tlsVariants: Record<string, Values> = {
  helm: { tls: { mode: 'helm' } },
  certManager: { tls: { mode: 'certManager' } },
  existingSecret: { tls: { mode: 'existingSecret', existingSecret: 'my-webhook-tls', caBundle: testCA } },
};

export const modes = ['enforce', 'warn'] as const;

export { testCA };

/** Deep merge of plain objects (arrays and scalars replace), for building values from variants. */
export function merge(...parts: Values[]): Values {
  const out: Values = {};
  for (const part of parts) {
    for (const [k, v] of Object.entries(part)) {
      const prev = out[k];
      out[k] = isPlain(prev) && isPlain(v) ? merge(prev, v) : v;
    }
  }
  return out;
}

function isPlain(v: unknown): v is Values {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
