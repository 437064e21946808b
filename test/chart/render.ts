// Runs helm against charts/pullguard with a values object and hands back the rendered objects, parsed.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { chartDir, helmPath } from './helm.ts';

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
const helmHome = mkdtempSync(join(tmpdir(), 'pullguard-helm-home-'));
const helmEnv = {
  ...process.env,
  HELM_CACHE_HOME: join(helmHome, 'cache'),
  HELM_CONFIG_HOME: join(helmHome, 'config'),
  HELM_DATA_HOME: join(helmHome, 'data'),
  KUBECONFIG: join(helmHome, 'no-kubeconfig'),
};
process.on('exit', () => rmSync(helmHome, { recursive: true, force: true }));

/** Run helm with `args`, passing `values` as a values file (`-f`) when given. */
export function helm(args: string[], values?: Values): HelmResult {
  const dir = mkdtempSync(join(tmpdir(), 'pullguard-values-'));
  try {
    const file = join(dir, 'values.json');
    const extra: string[] = [];
    if (values !== undefined) {
      writeFileSync(file, JSON.stringify(values));
      extra.push('-f', file);
    }
    const run = spawnSync(helmPath(), [...args, ...extra], { encoding: 'utf8', env: helmEnv, maxBuffer: 64 * 1024 * 1024 });
    if (run.error) throw run.error;
    return { ok: run.status === 0, stdout: run.stdout, stderr: run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function lint(values: Values = {}): HelmResult {
  return helm(['lint', chartDir, '--strict', '--namespace', namespace], values);
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
  const dir = mkdtempSync(join(tmpdir(), 'pullguard-values-'));
  try {
    const file = join(dir, 'values.json');
    writeFileSync(file, JSON.stringify(values));
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
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `helm template`; throws with helm's message when rendering fails. The release's objects only, unless `tests`:
 * the `helm test` hooks (templates/tests/) are applied by `helm test`, not by install or upgrade.
 */
export function template(values: Values = {}, { tests = false }: { tests?: boolean } = {}): Rendered {
  const run = helm(['template', release, chartDir, '--namespace', namespace, ...(tests ? [] : ['--skip-tests'])], values);
  if (!run.ok) throw new Error(`helm template failed: ${run.stderr}`);
  return new Rendered(parseManifests(run.stdout));
}

/**
 * NOTES.txt as `helm install` prints it. `helm template` never renders it; a client-side dry-run install does,
 * without a cluster, from Helm 4 on (Helm 3 still wants one): undefined then.
 */
export function notes(values: Values = {}): string | undefined {
  const run = helm(['install', release, chartDir, '--namespace', namespace, '--dry-run=client', '--hide-secret'], values);
  if (!run.ok && /cluster unreachable/i.test(run.stderr)) return undefined;
  if (!run.ok) throw new Error(`helm install --dry-run failed: ${run.stderr}`);
  const at = run.stdout.indexOf('NOTES:\n');
  if (at < 0) throw new Error('helm install --dry-run printed no NOTES');
  return run.stdout.slice(at + 'NOTES:\n'.length);
}

/** helm's error output for values that must be refused (empty string if helm accepted them). */
export function templateError(values: Values): string {
  const run = helm(['template', release, chartDir, '--namespace', namespace], values);
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
