// The Dockerfile cannot be built here (no container engine), so its essentials are checked by reading it: stages,
// pinned Node 24 bases, locked installs, a non-root numeric user, exec-form entrypoint, and agreement with the chart
// (ports, config path) and with .dockerignore. dockerfile-utils lints it when installed.
import type { V1Deployment } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot } from './helm.ts';
import { template } from './render.ts';

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

const dockerfileText = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');

/** Instructions with continuation lines joined and comments dropped (no parser directives are used). */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending !== '' && line.startsWith('#')) return;
    if (pending === '') start = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = pending + line;
    pending = '';
    const [keyword = '', ...rest] = full.split(/\s+/);
    out.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), line: start });
  });
  return out;
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m?.[1]) throw new Error(`line ${ins.line}: cannot read FROM ${ins.args}`);
      stages.push({ image: m[1], name: m[2], instructions: [] });
    } else {
      const current = stages.at(-1);
      if (current === undefined) throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
      current.instructions.push(ins);
    }
  }
  return stages;
}

const stages = stagesOf(parseDockerfile(dockerfileText));
const final = stages.at(-1);
const runs = (s: Stage) => s.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
const only = (s: Stage | undefined, keyword: string) => s?.instructions.filter((i) => i.keyword === keyword) ?? [];
const execForm = (args: string | undefined): string[] | undefined => {
  try {
    const v: unknown = JSON.parse(args ?? '');
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
};

t.test('the image is built in stages from pinned Node 24 bases', async (t) => {
  t.ok(stages.length >= 2, 'multi-stage');
  for (const s of stages) {
    const ref = s.image;
    t.notMatch(ref, /\$/, `${ref}: a literal base image, not a build argument`);
    t.match(ref, /(:[\w.-]+|@sha256:[0-9a-f]{64})$/, `${ref}: tagged or pinned by digest`);
    t.notMatch(ref, /:latest$/, `${ref}: not latest`);
    t.match(ref, /(^node:24[-.]|nodejs24)/, `${ref}: Node 24, as package.json's engines require`);
  }
  t.match(final?.image, /^gcr\.io\/distroless\/nodejs24-debian12[:@]/, 'runs on distroless: no shell, no package manager');
  t.same(runs(final as Stage), [], 'nothing runs in the final stage (it has no shell)');
});

t.test('dependencies are installed from the lockfile, production only in the runtime', async (t) => {
  const build = stages.find((s) => runs(s).some((r) => /\bnpm run build\b/.test(r)));
  t.ok(build, 'a stage runs npm run build');
  t.ok(build && runs(build).some((r) => /^npm ci\b/.test(r)), 'after npm ci, which honours package-lock.json');
  const prod = stages.find((s) => runs(s).some((r) => /^npm ci\b.*--omit=dev/.test(r)));
  t.ok(prod && runs(prod).some((r) => /--omit=dev/.test(r) && /--ignore-scripts/.test(r)), 'npm ci --omit=dev --ignore-scripts');
  t.notOk(stages.some((s) => runs(s).some((r) => /\bnpm (install|i)\b/.test(r))), 'never npm install');
  const copies = only(final, 'COPY').map((c) => c.args);
  t.ok(copies.some((c) => c.includes(`--from=${prod?.name}`) && c.includes('node_modules')), 'node_modules from the production-only stage');
  t.ok(copies.some((c) => c.includes(`--from=${build?.name}`) && c.includes('dist')), 'dist/ from the build stage');
  t.ok(build && runs(build).some((r) => /\bnpm run bundle\b/.test(r)), 'the build stage bundles what the image runs');
  t.ok(copies.some((c) => /^package\.json\b/.test(c)), 'package.json ("type": "module") beside dist/');
});

t.test('it runs as a numeric non-root user with an exec-form entrypoint', async (t) => {
  const user = only(final, 'USER').at(-1)?.args ?? '';
  t.match(user, /^\d+(:\d+)?$/, 'numeric, so runAsNonRoot can be verified');
  t.not(user.split(':')[0], '0');
  const entrypoint = execForm(only(final, 'ENTRYPOINT').at(-1)?.args);
  t.ok(entrypoint, 'ENTRYPOINT in exec form (no shell to interpret it)');
  t.match(entrypoint?.[0], /node$/);
  t.equal(entrypoint?.[1], 'dist/bundle/main.js', 'the esbuild bundle (scripts/bundle.ts)');
  t.same(execForm(only(final, 'CMD').at(-1)?.args), ['serve', '--config', '/etc/pullguard/config.yaml']);
});

t.test('ports, command and labels agree with the chart', async (t) => {
  const exposed = only(final, 'EXPOSE').flatMap((e) => e.args.split(/\s+/)).sort();
  const c = template().one<V1Deployment>('Deployment').spec?.template.spec?.containers[0];
  t.same(exposed, (c?.ports ?? []).map((p) => String(p.containerPort)).sort(), 'EXPOSE lists the ports the chart uses');
  t.same(c?.args, execForm(only(final, 'CMD').at(-1)?.args), "the chart's args are the image's CMD");
  const labels = only(final, 'LABEL').map((l) => l.args).join(' ');
  for (const key of ['title', 'description', 'licenses', 'version', 'revision']) t.match(labels, `org.opencontainers.image.${key}=`);
});

t.test('.dockerignore lets in exactly what the COPY instructions need', async (t) => {
  const rules = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  t.equal(rules[0], '*', 'everything is excluded first (node_modules, .git, dist, certificates)');
  const allowed = rules.filter((r) => r.startsWith('!')).map((r) => r.slice(1));
  const sources = stages.flatMap((s) => only(s, 'COPY')).filter((c) => !c.args.startsWith('--from')).flatMap((c) => c.args.split(/\s+/).slice(0, -1));
  t.ok(sources.length > 0);
  for (const src of sources) t.ok(allowed.includes(src.replace(/\/$/, '')), `${src} is in the build context`);
});

interface Diagnostic {
  message: string;
  range: { start: { line: number } };
}

/** dockerfile-utils' validate(), when the package is installed (it is not a dependency yet). */
async function loadLinter(): Promise<((text: string) => Diagnostic[]) | undefined> {
  const name = 'dockerfile-utils';
  try {
    return ((await import(name)) as { validate: (text: string) => Diagnostic[] }).validate;
  } catch {
    return undefined;
  }
}

const validate = await loadLinter();

t.test('dockerfile-utils finds no problem', { skip: validate ? false : 'dockerfile-utils is not installed' }, async (t) => {
  const problems = (validate?.(dockerfileText) ?? []).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
  t.same(problems, [], 'no diagnostics');
});

t.test('the image runs Node with the environment the benchmark measured', async (t) => {
  const { PRODUCTION_ENV } = await import('../bench/world.ts');
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  const env = dockerfile.split('\n').find((l) => l.startsWith('ENV NODE_ENV=')) ?? '';
  for (const [k, v] of Object.entries(PRODUCTION_ENV)) t.ok(env.split(' ').includes(`${k}=${v}`), `${k}=${v}`);
});

t.test('a multi-arch build compiles once on the builder and installs runtime dependencies per target', async (t) => {
  const fromLine = (s: Stage | undefined) => dockerfileText.split('\n').find((l) => s?.name !== undefined && l.startsWith('FROM ') && l.trim().endsWith(` AS ${s.name}`)) ?? '';
  const platformOf = (s: Stage | undefined) => /--platform=(\S+)/.exec(fromLine(s))?.[1];
  const build = stages.find((s) => runs(s).some((r) => /\bnpm run build\b/.test(r)));
  const prod = stages.find((s) => runs(s).some((r) => /--omit=dev/.test(r)));
  t.equal(platformOf(build), '$BUILDPLATFORM', 'tsc output does not depend on the architecture');
  t.equal(platformOf(prod), undefined, 'node_modules for the target platform');
  t.notMatch(dockerfileText.split('\n').filter((l) => l.startsWith('FROM')).at(-1), /--platform/, 'the runtime is the target platform');
});
