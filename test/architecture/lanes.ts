// Which process runs each test file in `npm test`. tap starts one Node process per file (.taprc `include`), and
// start-up costs one to two seconds of CPU each (tap, type stripping, @kubernetes/client-node). Lanes run many
// files in one process instead, each left out of tap's own list by .taprc `exclude`:
// - the unit lane, the pure files (package.json `test:unit`, the one list of them): test/lanes/unit.test.ts;
// - the server lanes, files whose servers run in process (SERVER_LANES below): test/lanes/servers.test.ts,
//   registries.test.ts and resolve.test.ts.
// test/architecture/lanes.test.ts checks that every test file runs exactly once.
import { globSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const globs = (patterns: readonly string[]): string[] =>
  [...new Set(patterns.flatMap((p) => globSync(p, { cwd: ROOT })))].sort();

/** The quoted globs of package.json's `test:unit` script. */
export function unitLanePatterns(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  return [...(pkg.scripts['test:unit'] ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1] ?? '');
}

/** The unit lane's files, relative to the repository (`test/reference/reference.test.ts`). */
export function unitLaneFiles(): string[] {
  return globs(unitLanePatterns());
}

/**
 * The server lanes, each aggregator file with its globs: files that start servers in this process (the fake API
 * server, registry fronts, Fastify inject/listen, the kit) or real registries they stop themselves, spawn no CLI,
 * change nothing process-wide (SHARED_PROCESS_RULES below), and assert no timing. Their CPU is mostly start-up; their
 * wall time adds up in one process, and tap runs two files at a time, so no lane should run much longer than the
 * suite's slowest files: a lane that grows past ~40 s on a quiet machine is better split in two.
 */
export const SERVER_LANES: Readonly<Record<string, readonly string[]>> = {
  // The API server, the webhook, the test harness's own servers, and the verdict over real registries.
  'test/lanes/servers.test.ts': [
    'test/admission/@(bad-input|check-memo|logs|node-loopback).test.ts',
    'test/audit/@(lease|workloads-list).test.ts',
    'test/cluster/@(fake-apiserver|kubeconfig|nodes|reader).test.ts',
    'test/credentials/provider-@(config|wiring).test.ts',
    'test/e2e/registry-logs.test.ts',
    'test/harness/@(bcrypt|connect-proxy|pullguard-kit|redirect|token-server).test.ts',
    'test/registry/@(node-files-reload|node-hosts-tls|transport).test.ts',
    'test/verdict/check-@(node-facts-e2e|platforms|runtimes).test.ts',
  ],
  // Real registries behind fronts and the fault proxy: the webhook's and the harness's view, and the resolver's
  // basics and faults.
  'test/lanes/registries.test.ts': [
    'test/admission/@(hostile-registry|registry-hosts).test.ts',
    'test/harness/@(fault-proxy|push).test.ts',
    'test/registry/resolve-@(basic|contradictions|faults|get-first).test.ts',
  ],
  // The resolver against real registries: hosts, mirrors and node configuration, manifests, network, tokens.
  'test/lanes/resolve.test.ts': [
    'test/registry/resolve-@(hosts|manifests|network|node-hosts|platformless|redirects|registries-conf|token|token-sharing).test.ts',
  ],
};

/** Every server lane's globs, in the order of SERVER_LANES. */
export function serverLanePatterns(): string[] {
  return Object.values(SERVER_LANES).flat();
}

/** One server lane's files (by its aggregator, `test/lanes/servers.test.ts`), or all of them. */
export function serverLaneFiles(aggregator?: string): string[] {
  return globs(aggregator === undefined ? serverLanePatterns() : (SERVER_LANES[aggregator] ?? []));
}

/**
 * What one file may not do in a process it shares with others (lanes.test.ts checks each server-lane file's text):
 * change the environment, the global dispatcher, process handlers or the working directory; give the lane's root
 * a timeout, a plan or hooks for every later test; mock modules; spawn the CLI or helm. Its top-level before and
 * teardown are fine (test/lanes/lane.ts). Each rule has a line it catches and a look-alike it lets through; they
 * live here, not in the test, because the unit lane's own check reads test files for spawns and servers.
 */
export const SHARED_PROCESS_RULES: readonly { what: string; re: RegExp; breaks: string; fine: string }[] = [
  { what: 'changes process.env', re: /process\.env(\.\w+|\[[^\]]+\])?\s*=[^=]|delete process\.env/, breaks: "process.env['HTTPS_PROXY'] = url;", fine: "process.env['HOME'] === undefined" },
  { what: 'sets undici\'s global dispatcher', re: /setGlobalDispatcher/, breaks: 'setGlobalDispatcher(agent);', fine: 'request(url, { dispatcher: agent })' },
  { what: 'adds a process handler', re: /process\.(on|once|addListener|prependListener)\(/, breaks: "process.once('exit', stop);", fine: 'child.once(\'exit\', stop);' },
  { what: 'changes directory', re: /process\.chdir|\bt\.chdir/, breaks: 'process.chdir(dir);', fine: 't.testdir({})' },
  { what: 'sets the root test\'s timeout, plan or hooks for every test', re: /^t\.(setTimeout|plan|beforeEach|afterEach)\(/m, breaks: 't.beforeEach(() => proxy.reset());', fine: '  t.beforeEach(() => proxy.reset());' },
  { what: 'mocks modules', re: /\bt\.mock(Import|Require)?\(|mockImport/, breaks: "await t.mockImport('../../src/x.ts', {})", fine: "await import('../../src/x.ts')" },
  { what: 'spawns the CLI or helm', re: /src\/cli\/main\.ts|chart\/(helm|render)\.ts|process\.execPath/, breaks: "import { helm } from '../chart/helm.ts';", fine: "import { runCheck } from '../../src/cli/check.ts';" },
];

export interface TapFiles {
  include: string[];
  exclude: string[];
}

/** .taprc's `include` and `exclude` globs. */
export function tapConfig(): TapFiles {
  const rc = parse(readFileSync(join(ROOT, '.taprc'), 'utf8')) as Partial<TapFiles>;
  return { include: rc.include ?? [], exclude: rc.exclude ?? [] };
}

/** The files tap runs in a process each when `npm test` calls it with no arguments. */
export function tapOwnFiles(config: TapFiles = tapConfig()): string[] {
  const excluded = new Set(globs(config.exclude));
  return globs(config.include).filter((f) => !excluded.has(f));
}

/** Every `*.test.ts` under test/, found by walking the folders (not by any of the globs above). */
export function allTestFiles(dir = join(ROOT, 'test')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    if (d.name === 'node_modules' || d.name.startsWith('.')) return [];
    const path = join(dir, d.name);
    if (d.isDirectory()) return allTestFiles(path);
    return d.name.endsWith('.test.ts') ? [relative(ROOT, path)] : [];
  }).sort();
}
