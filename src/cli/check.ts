// `pullguard check -f FILE|DIR|-`: the CI step. Reads Kubernetes manifests (multi-document YAML or JSON,
// `List` kinds, Helm output on stdin), finds every image the way the webhook does, and resolves them with the
// same engine, printing the same explanations with the file and document they came from.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import YAML, { LineCounter } from 'yaml';
import { podSpecOf } from '../workloads/podspec.ts';
import type { Finding } from '../verdict/finding.ts';
import { explain } from '../verdict/explain.ts';
import { buildRuntime } from './runtime.ts';
import { CHECK_OPTIONS, configFrom, parse } from './flags.ts';
import { EXIT_USAGE, exitCode, toJson } from './output.ts';

const MANIFEST_FILE = /\.(ya?ml|json)$/i;
const MAX_FILE_BYTES = 16 * 1024 * 1024;

export interface ManifestObject {
  file: string;
  /** 1-based document number within the file. */
  document: number;
  /** 1-based line where the object starts. */
  line: number;
  object: Record<string, unknown>;
}

export interface ManifestProblem {
  file: string;
  document?: number;
  message: string;
}

/** Files named by -f: a file, every manifest file below a directory (sorted), or `-` for stdin. */
export function expandInputs(inputs: string[], problems: ManifestProblem[]): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (MANIFEST_FILE.test(entry.name)) files.push(path);
    }
  };
  for (const input of inputs) {
    if (input === '-') {
      files.push('-');
      continue;
    }
    try {
      if (statSync(input).isDirectory()) walk(input);
      else files.push(input);
    } catch (err) {
      problems.push({ file: input, message: `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
    }
  }
  return files;
}

/** Every object in a manifest text, `List` items expanded, with its document number and line. */
export function parseManifests(text: string, file: string, problems: ManifestProblem[]): ManifestObject[] {
  const lineCounter = new LineCounter();
  const out: ManifestObject[] = [];
  let docs: YAML.Document.Parsed[];
  try {
    docs = YAML.parseAllDocuments(text, { lineCounter }) as YAML.Document.Parsed[];
  } catch (err) {
    problems.push({ file, message: `not YAML: ${(err as Error).message}` });
    return out;
  }
  if (!Array.isArray(docs)) docs = [docs];
  docs.forEach((doc, i) => {
    const document = i + 1;
    if (doc.errors.length > 0) {
      problems.push({ file, document, message: `not valid YAML: ${doc.errors[0]?.message.split('\n')[0] ?? 'parse error'}` });
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      problems.push({ file, document, message: (err as Error).message });
      return;
    }
    if (value === null || value === undefined) return;
    const line = lineCounter.linePos(doc.contents?.range?.[0] ?? 0).line;
    const add = (v: unknown) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return;
      const o = v as Record<string, unknown>;
      if (typeof o['kind'] === 'string' && o['kind'].endsWith('List') && Array.isArray(o['items'])) {
        for (const item of o['items']) add(item);
        return;
      }
      out.push({ file, document, line, object: o });
    };
    add(value);
  });
  return out;
}

interface ObjectResult {
  source: ManifestObject;
  kind: string;
  name: string;
  namespace: string;
  findings: Finding[];
}

export async function runCheck(args: string[], io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream; stdin: () => string } = {
  out: process.stdout,
  err: process.stderr,
  stdin: () => readFileSync(0, 'utf8'),
}): Promise<number> {
  const parsed = parse(args, CHECK_OPTIONS);
  if (!parsed.ok) {
    io.err.write(`pullguard check: ${parsed.error}\n`);
    return EXIT_USAGE;
  }
  const inputs = [...((parsed.values['file'] as string[] | undefined) ?? []), ...parsed.positionals];
  if (parsed.values['help'] || inputs.length === 0) {
    (parsed.values['help'] ? io.out : io.err).write('Usage: pullguard check -f FILE|DIR|- [-f ...] [--docker-config FILE] [--registry-config FILE] [--platform os/arch]... [--kubeconfig FILE] [--json]\n');
    return parsed.values['help'] ? 0 : EXIT_USAGE;
  }
  const cfg = configFrom(parsed.values);
  if (!cfg.ok) {
    io.err.write(cfg.errors.map((e) => `pullguard check: ${e}\n`).join(''));
    return EXIT_USAGE;
  }
  const problems: ManifestProblem[] = [];
  const objects: ManifestObject[] = [];
  for (const file of expandInputs(inputs, problems)) {
    let text: string;
    try {
      if (file === '-') text = io.stdin();
      else {
        if (statSync(file).size > MAX_FILE_BYTES) {
          problems.push({ file, message: `larger than ${MAX_FILE_BYTES} bytes; skipped` });
          continue;
        }
        text = readFileSync(file, 'utf8');
      }
    } catch (err) {
      problems.push({ file, message: `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
      continue;
    }
    objects.push(...parseManifests(text, file === '-' ? '<stdin>' : file, problems));
  }
  if (problems.length > 0) {
    io.err.write(problems.map((p) => `pullguard check: ${p.file}${p.document ? ` (document ${p.document})` : ''}: ${p.message}\n`).join(''));
    return EXIT_USAGE;
  }

  const log = pino({ level: process.env['PULLGUARD_LOG_LEVEL'] ?? 'warn' }, process.stderr);
  const built = buildRuntime(cfg.config, { log, connectCluster: typeof parsed.values['kubeconfig'] === 'string' });
  if (!built.ok) {
    io.err.write(built.errors.map((e) => `pullguard check: ${e}\n`).join(''));
    return EXIT_USAGE;
  }
  const rt = built.runtime;
  const results: ObjectResult[] = [];
  try {
    await Promise.all(objects.map(async (source) => {
      const kind = typeof source.object['kind'] === 'string' ? source.object['kind'] : '';
      const spec = podSpecOf(kind, source.object);
      if (!spec.ok) return;
      const meta = (source.object['metadata'] ?? {}) as { name?: unknown; namespace?: unknown };
      const namespace = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : 'default';
      const name = typeof meta.name === 'string' ? meta.name : '(unnamed)';
      const { findings } = await rt.checker.check({ ...spec.view, namespace }, spec.view.images, Date.now() + 30_000);
      results.push({ source, kind, name, namespace, findings });
    }));
  } finally {
    await rt.close();
  }
  results.sort((a, b) => a.source.file.localeCompare(b.source.file) || a.source.document - b.source.document || a.source.line - b.source.line);
  const all = results.flatMap((r) => r.findings);
  if (parsed.values['json']) {
    const rows = results.flatMap((r) => r.findings.map((f) => ({
      file: r.source.file, document: r.source.document, line: r.source.line, kind: r.kind, name: r.name, namespace: r.namespace,
      container: f.target.containerName, field: f.target.fieldPath, ...toJson(f),
    })));
    io.out.write(`${JSON.stringify(rows, null, 2)}\n`);
  } else {
    for (const r of results) {
      for (const f of r.findings) {
        if (f.resolution.verdict === 'allow') continue;
        const mark = f.resolution.verdict === 'deny' ? 'DENY' : 'WARN';
        io.out.write(`${mark} ${r.source.file}:${r.source.line} (document ${r.source.document}) ${r.kind}/${r.name}: ${explain(f)}\n`);
      }
    }
    const denied = all.filter((f) => f.resolution.verdict === 'deny').length;
    const unknown = all.filter((f) => f.resolution.verdict === 'unknown').length;
    io.out.write(`${all.length} image${all.length === 1 ? '' : 's'} in ${results.length} object${results.length === 1 ? '' : 's'}: ${all.length - denied - unknown} pull, ${denied} cannot be pulled, ${unknown} unknown\n`);
  }
  return exitCode(all);
}
