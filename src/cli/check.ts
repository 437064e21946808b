// `pullguard check -f FILE|DIR|-`: the CI step. Reads Kubernetes manifests (multi-document YAML or JSON,
// `List` kinds, Helm output on stdin), finds every image the way the webhook does, and resolves them with the
// same engine, printing the same explanations with the file and document they came from.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import YAML, { LineCounter } from 'yaml';
import { podSpecOf } from '../workloads/podspec.ts';
import type { Finding } from '../verdict/finding.ts';
import { explain } from '../verdict/explain.ts';
import { CHECK_OPTIONS, configFrom, parse } from './flags.ts';
import { cliLog } from './log.ts';
import { EXIT_CODES_TEXT, EXIT_USAGE, exitCode, toJson, verdictMark } from './output.ts';

export const CHECK_USAGE = `Usage: pullguard check -f FILE|DIR|- [-f ...] [options]

Finds every image in Kubernetes manifests (multi-document YAML or JSON, List kinds, every .yaml/.yml/.json
below a directory, "-" for stdin such as helm template output) and checks that each would pull, as the
webhook does. Prints file:line (document N) Kind/name and the explanation for each image that would not.

Options:
  -f, --file FILE|DIR|-         manifests to read (repeatable)
  --platform os/arch[/variant]  a platform the images must run on (repeatable; default: any platform)
  --docker-config FILE          a docker config.json whose "auths" hold registry credentials (repeatable)
  --registry-config FILE        per-registry settings: CA bundles, mirrors, plain HTTP
  --hosts-dir DIR               the nodes' containerd registry config_path (<host>/hosts.toml tree)
  --registries-conf FILE        the nodes' CRI-O registries.conf (and its registries.conf.d)
  --certs-dir DIR               with --registries-conf: CRI-O's /etc/containers/certs.d (<host>/*.crt, *.cert + *.key)
  --kubeconfig FILE             use the cluster: pull secrets of pods and ServiceAccounts, node platforms;
                                objects without a namespace are in the kubeconfig context's namespace
  --image-credential-provider-config FILE|DIR
                                the kubelet's CredentialProviderConfig: run the same credential provider plugins
  --image-credential-provider-bin-dir DIR
                                where those plugin executables are
  --config FILE                 pullguard's config file
  --json                        print a JSON array (one object per image) instead of text
  -h, --help                    print this help

${EXIT_CODES_TEXT}`;

const MANIFEST_FILE = /\.(ya?ml|json)$/i;
const MAX_FILE_BYTES = 16 * 1024 * 1024;
/** Everything one object waits for the registries. */
const DEADLINE_MS = 30_000;

export interface ManifestObject {
  file: string;
  /** 1-based document number within the file. */
  document: number;
  /** 1-based line where the object starts (for a `List` item, the item's own line). */
  line: number;
  object: Record<string, unknown>;
  /** The template Helm rendered the document from (its `# Source:` comment), when there is one. */
  template?: string;
  /** The 1-based line of a field given by its JSON path (`spec.containers[0].image`), if the text has it. */
  lineOf(fieldPath: string): number | undefined;
}

export interface ManifestProblem {
  file: string;
  document?: number;
  line?: number;
  message: string;
}

/** Files named by -f: a file, every manifest file below a directory (sorted), or `-` for stdin; each once. */
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
  return [...new Set(files)];
}

/** `spec.containers[1].image` → `['spec', 'containers', 1, 'image']`. */
function pathSteps(fieldPath: string): (string | number)[] {
  const steps: (string | number)[] = [];
  for (const part of fieldPath.split('.')) {
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) return [];
    if (m[1]) steps.push(m[1]);
    for (const index of (m[2] ?? '').matchAll(/\[(\d+)\]/g)) steps.push(Number(index[1]));
  }
  return steps;
}

function helmTemplate(doc: YAML.Document.Parsed): string | undefined {
  const comments = [doc.commentBefore, doc.contents?.commentBefore].filter((c): c is string => typeof c === 'string').join('\n');
  return /^\s*Source:\s*(\S+)/m.exec(comments)?.[1];
}

/** Every object in a manifest text, `List` items expanded, with its document number and line. */
export function parseManifests(text: string, file: string, problems: ManifestProblem[]): ManifestObject[] {
  const lineCounter = new LineCounter();
  const line = (offset: number | undefined) => lineCounter.linePos(offset ?? 0).line;
  const out: ManifestObject[] = [];
  let docs: YAML.Document.Parsed[];
  try {
    docs = YAML.parseAllDocuments(text, { lineCounter, prettyErrors: false }) as YAML.Document.Parsed[];
  } catch (err) {
    problems.push({ file, message: `not valid YAML: ${(err as Error).message.split('\n')[0]}` });
    return out;
  }
  docs.forEach((doc, i) => {
    const document = i + 1;
    const error = doc.errors[0];
    if (error) {
      problems.push({ file, document, line: line(error.pos[0]), message: `not valid YAML: ${error.message.split('\n')[0]}` });
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      problems.push({ file, document, message: (err as Error).message.split('\n')[0] ?? 'cannot be read' });
      return;
    }
    const template = helmTemplate(doc);
    const add = (v: unknown, node: unknown) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return;
      const o = v as Record<string, unknown>;
      if (typeof o['kind'] === 'string' && o['kind'].endsWith('List') && Array.isArray(o['items'])) {
        const items = YAML.isMap(node) ? node.get('items', true) : undefined;
        o['items'].forEach((item, j) => add(item, YAML.isSeq(items) ? items.items[j] : undefined));
        return;
      }
      const start = YAML.isNode(node) ? node.range?.[0] : undefined;
      out.push({
        file,
        document,
        line: line(start ?? doc.contents?.range?.[0]),
        object: o,
        ...(template ? { template } : {}),
        lineOf(fieldPath) {
          if (!YAML.isCollection(node)) return undefined;
          const found = node.getIn(pathSteps(fieldPath), true);
          return YAML.isNode(found) && found.range ? line(found.range[0]) : undefined;
        },
      });
    };
    add(value, doc.contents);
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

/** Where an object sits, as people and editors read it: `deploy.yaml:14 (document 2, chart/templates/web.yaml)`. */
function place(source: ManifestObject, line: number): string {
  return `${source.file}:${line} (document ${source.document}${source.template ? `, ${source.template}` : ''})`;
}

/** Objects without a namespace go where `kubectl apply` would put them: the kubeconfig context's namespace. */
async function contextNamespace(kubeconfig: string | undefined): Promise<string> {
  if (!kubeconfig) return 'default';
  const { loadKubeConfig } = await import('../cluster/kubeconfig.ts');
  const kc = loadKubeConfig({ kubeconfig });
  return kc.ok ? (kc.kc.getContextObject(kc.kc.currentContext)?.namespace ?? 'default') : 'default';
}

export async function runCheck(args: string[], io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream; stdin: () => string } = {
  out: process.stdout,
  err: process.stderr,
  stdin: () => readFileSync(0, 'utf8'),
}): Promise<number> {
  const parsed = parse(args, CHECK_OPTIONS);
  if (!parsed.ok) {
    io.err.write(`pullguard check: ${parsed.error}\nRun "pullguard check --help" for usage.\n`);
    return EXIT_USAGE;
  }
  if (parsed.values['help']) {
    io.out.write(CHECK_USAGE);
    return 0;
  }
  const inputs = [...((parsed.values['file'] as string[] | undefined) ?? []), ...parsed.positionals];
  if (inputs.length === 0) {
    io.err.write(`pullguard check: no manifests given (-f FILE, -f DIR or -f - for stdin)\n\n${CHECK_USAGE}`);
    return EXIT_USAGE;
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
      problems.push({ file: file === '-' ? '<stdin>' : file, message: `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
      continue;
    }
    objects.push(...parseManifests(text, file === '-' ? '<stdin>' : file, problems));
  }
  if (problems.length > 0) {
    io.err.write(problems.map((p) => `pullguard check: ${p.file}${p.line ? `:${p.line}` : ''}${p.document ? ` (document ${p.document})` : ''}: ${p.message}\n`).join(''));
    return EXIT_USAGE;
  }

  // Logs go where errors go: the caller's stream (stderr from main.ts; a buffer when a test runs it in process).
  const log = cliLog(process.env['PULLGUARD_LOG_LEVEL'] ?? 'warn', io.err);
  const kubeconfig = typeof parsed.values['kubeconfig'] === 'string' ? parsed.values['kubeconfig'] : undefined;
  // Loaded once the arguments are known good: the registry client takes a while to load, and the Kubernetes
  // client (the slowest) is loaded only with --kubeconfig.
  const { openRuntime } = await import('./engine.ts');
  const built = await openRuntime(cfg.config, { log, connectCluster: kubeconfig !== undefined });
  if (!built.ok) {
    io.err.write(built.errors.map((e) => `pullguard check: ${e}\n`).join(''));
    return EXIT_USAGE;
  }
  const warnings = [...built.warnings];
  const defaultNamespace = await contextNamespace(kubeconfig);
  const rt = built.runtime;
  const results: (ObjectResult | undefined)[] = [];
  try {
    await Promise.all(objects.map(async (source, index) => {
      const kind = typeof source.object['kind'] === 'string' ? source.object['kind'] : '';
      const meta = (source.object['metadata'] ?? {}) as { name?: unknown; namespace?: unknown };
      const name = typeof meta.name === 'string' ? meta.name : '(unnamed)';
      const spec = podSpecOf(kind, source.object);
      if (!spec.ok) {
        // A Service or ConfigMap is not our business; a Deployment without a pod spec is worth a word.
        if (spec.code === 'NoPodSpec') warnings.push(`${place(source, source.line)} ${kind}/${name}: ${spec.reason}; nothing to check`);
        return;
      }
      for (const p of spec.view.problems) warnings.push(`${place(source, source.line)} ${kind}/${name}: ${p}; skipped`);
      const namespace = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : defaultNamespace;
      const { findings } = await rt.checker.check({ ...spec.view, namespace }, spec.view.images, Date.now() + DEADLINE_MS);
      results[index] = { source, kind, name, namespace, findings };
    }));
  } finally {
    await rt.close();
  }
  io.err.write(warnings.map((w) => `pullguard check: warning: ${w}\n`).join(''));
  const checked = results.filter((r): r is ObjectResult => r !== undefined);
  const all = checked.flatMap((r) => r.findings);
  const lineOf = (r: ObjectResult, f: Finding) => r.source.lineOf(f.target.fieldPath) ?? r.source.line;
  if (parsed.values['json']) {
    const rows = checked.flatMap((r) => r.findings.map((f) => ({
      file: r.source.file, document: r.source.document, line: lineOf(r, f), ...(r.source.template ? { template: r.source.template } : {}),
      kind: r.kind, name: r.name, namespace: r.namespace, container: f.target.containerName, field: f.target.fieldPath, ...toJson(f),
    })));
    io.out.write(`${JSON.stringify(rows, null, 2)}\n`);
  } else {
    for (const r of checked) {
      for (const f of r.findings) {
        if (f.resolution.verdict === 'allow') continue;
        io.out.write(`${verdictMark(f)} ${place(r.source, lineOf(r, f))} ${r.kind}/${r.name}: ${explain(f)}\n`);
      }
    }
    const denied = all.filter((f) => f.resolution.verdict === 'deny').length;
    const unknown = all.filter((f) => f.resolution.verdict === 'unknown').length;
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    io.out.write(`${plural(all.length, 'image')} in ${plural(checked.length, 'object')}: ${all.length - denied - unknown} pull, ${denied} cannot be pulled, ${unknown} could not be checked\n`);
  }
  if (objects.length === 0) io.err.write('pullguard check: warning: the input holds no Kubernetes objects\n');
  const needSecrets = all.filter((f) => f.resolution.reason === 'SecretsUnreadable').length;
  if (needSecrets > 0 && kubeconfig === undefined) {
    io.err.write(`pullguard check: note: ${needSecrets} image${needSecrets === 1 ? ' needs' : 's need'} credentials that only the cluster's pull secrets can give; `
      + 'run with --kubeconfig to check with them, or give the registry credentials with --docker-config\n');
  }
  return exitCode(all);
}
