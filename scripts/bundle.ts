// What the container image runs (issue #13): src/cli/main.ts and its dependencies as one esbuild bundle. Node then
// parses one minified file per chunk instead of ~1,000 modules of @kubernetes/client-node alone, whose source text
// it keeps in memory (measured: importing client-node bundled costs 88 MiB RSS and 0.56 s CPU against 114 MiB and
// 1.29 s from node_modules). Code splitting keeps every dynamic import() of src/ a chunk of its own, loaded only when
// the command needs it (test/cli/lazy-load.test.ts, test/cli/bundle.test.ts).
// Usage: node scripts/bundle.ts [OUTDIR]   (default dist/bundle; entry point OUTDIR/main.js, source maps beside it)
import { build, type Metafile } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
export const DEFAULT_OUTDIR = fileURLToPath(new URL('../dist/bundle/', import.meta.url));

/** Bundles the CLI into `outdir` (emptied first); returns the entry point's path and esbuild's metafile. */
export async function bundle(outdir: string = DEFAULT_OUTDIR): Promise<{ main: string; metafile: Metafile }> {
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: { main: 'src/cli/main.ts' },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'silent',
    // CommonJS dependencies bundled into ESM call require() for Node builtins; ESM has none, so give them one.
    banner: { js: "import{createRequire as __pgCreateRequire}from'node:module';const require=__pgCreateRequire(import.meta.url);" },
    // tr46 (whatwg-url, under node-fetch in client-node) requires 'punycode', meaning the userland package; resolved
    // by esbuild it would be Node's deprecated builtin, which warns (DEP0040) from code outside node_modules.
    alias: { punycode: 'punycode/' },
    // ws loads these optional native speed-ups in a try/catch; they are not installed and must stay optional.
    external: ['bufferutil', 'utf-8-validate'],
  });
  if (result.errors.length > 0) throw new Error(`esbuild failed: ${result.errors.map((e) => e.text).join('; ')}`);
  return { main: `${outdir.replace(/\/$/, '')}/main.js`, metafile: result.metafile };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { main } = await bundle(process.argv[2]);
  process.stdout.write(`bundled ${main}\n`);
}
