// Which process runs each test file in `npm test`. tap starts one Node process per file (.taprc `include`), and
// start-up costs about a second of CPU each; the pure files of the unit lane (package.json `test:unit`, the one list
// of them) are left out of tap's list by .taprc `exclude` and run together in one process by test/lanes/unit.test.ts.
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
