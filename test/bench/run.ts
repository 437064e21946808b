// `npm run bench`: pullguard against a real registry, each figure next to a baseline measured in the same run.
// Prints a Markdown table and writes the figures to test/bench/results.json (git-ignored). BENCH_SCALE=0.1 for a
// quick run; see plan.ts for the other knobs. Always stops what it started and exits.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { planFrom } from './plan.ts';
import { details, table, type Results } from './report.ts';
import { coldLatency, herd, memory, memorySnapshot, warmLatency } from './scenarios.ts';
import { startWorld, type World } from './world.ts';
import { auditBench, auditPlan, auditTable } from './audit.ts';

const RESULTS = fileURLToPath(new URL('./results.json', import.meta.url));

function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} (src modified)` : head;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<number> {
  const plan = planFrom(process.env);
  const loadAtStart = loadavg()[0]!;
  const fromSource = process.env.BENCH_FROM_SOURCE === '1';
  const watchdog = setTimeout(() => {
    progress(`gave up after ${plan.maxSeconds} s (BENCH_MAX_SECONDS)`);
    process.exit(2); // the harness's exit hooks kill the registry and servers
  }, plan.maxSeconds * 1000);
  watchdog.unref();
  // Ctrl-C: exit through process.exit, so the harness's exit hooks still kill the registry and servers.
  process.once('SIGINT', () => process.exit(130));

  progress(`${fromSource ? 'starting' : 'compiling src/ and starting'} the registry, token server, fault proxy, fake API server, pullguard serve and the bare route`);
  let world: World | undefined;
  try {
    world = await startWorld({ fromSource });
    const atStart = await memorySnapshot(world);
    progress(`warm: ${plan.warm.count} reviews per target at ${plan.warm.concurrency} in flight (after ${plan.warm.warmup} warm-up)`);
    const warm = await warmLatency(world, plan.warm);
    progress(`cold: ${plan.cold.images} new images`);
    const cold = await coldLatency(world, plan.cold);
    progress(`herd: ${plan.herd.reviews} identical concurrent reviews`);
    const herdResult = await herd(world, plan.herd);
    progress(`memory: ${plan.memory.reviews} reviews over ${plan.memory.images} images`);
    const mem = await memory(world, plan.memory);
    // The audit brings its own registry, proxy and fake cluster: its counts must not mix with the scenarios above.
    const auditOptions = auditPlan(process.env, plan.scale);
    progress(`audit: pullguard audit -A over ${auditOptions.workloads} workloads of ${auditOptions.images} images`);
    const audit = await auditBench(auditOptions);
    const results: Results = {
      meta: { date: new Date().toISOString(), node: process.version, cpus: availableParallelism(), commit: commit(), pullguard: fromSource ? 'src/ (type-stripped)' : 'src/ compiled with tsc', loadAverage: { start: loadAtStart, end: loadavg()[0]! } },
      plan,
      cache: world.cache,
      atStart,
      warm,
      cold,
      herd: herdResult,
      memory: mem,
    };
    process.stdout.write(`\n${table(results)}\n\n${details(results)}\n\n${auditTable(audit)}\n`);
    writeFileSync(RESULTS, `${JSON.stringify({ ...results, audit }, null, 2)}\n`);
    process.stdout.write(`\nFigures written to ${RESULTS}\n`);
    return 0;
  } finally {
    progress('stopping everything');
    await world?.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
