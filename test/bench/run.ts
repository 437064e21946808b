// `npm run bench`: pullguard against a real registry, each figure next to a baseline measured in the same run.
// Prints a Markdown table and writes the figures to test/bench/results.json (git-ignored). BENCH_SCALE=0.1 for a
// quick run; see plan.ts for the other knobs. Always stops what it started and exits.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { planFrom } from './plan.ts';
import { details, nodesTable, table, type Results } from './report.ts';
import { nodeScale } from './nodes.ts';
import { chartMemoryLimitBytes } from './chart-limits.ts';
import { coldLatency, herd, memory, memorySnapshot, warmLatency } from './scenarios.ts';
import { hostileReport, stallingRegistry, wideReview } from './hostile.ts';
import { startWorld, type World } from './world.ts';
import { auditBench, auditPlan, auditTable } from './audit.ts';
import { cliBench, cliMain, cliPlan, cliTable } from './cli.ts';

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
    const wants = new Set(plan.scenarios);
    const all = ['warm', 'cold', 'herd', 'memory'].every((n) => wants.has(n as never));
    const figures: Record<string, unknown> = { meta: undefined, plan, cache: world.cache, atStart };
    if (wants.has('warm')) {
      progress(`warm: ${plan.warm.count} reviews per target at ${plan.warm.concurrency} in flight (after ${plan.warm.warmup} warm-up)`);
      figures['warm'] = await warmLatency(world, plan.warm);
    }
    if (wants.has('cold')) {
      progress(`cold: ${plan.cold.images} new images`);
      figures['cold'] = await coldLatency(world, plan.cold);
    }
    if (wants.has('herd')) {
      progress(`herd: ${plan.herd.reviews} identical concurrent reviews`);
      figures['herd'] = await herd(world, plan.herd);
    }
    if (wants.has('memory')) {
      progress(`memory: ${plan.memory.reviews} reviews over ${plan.memory.images} images`);
      figures['memory'] = await memory(world, plan.memory);
    }
    // The audit brings its own registry, proxy and fake cluster: its counts must not mix with the scenarios above.
    let audit: Awaited<ReturnType<typeof auditBench>> | undefined;
    if (all) {
      const auditOptions = auditPlan(process.env, plan.scale);
      progress(`audit: pullguard audit -A over ${auditOptions.workloads} workloads of ${auditOptions.images} images`);
      audit = await auditBench(auditOptions);
    }
    const stall = wants.has('stall') ? (progress(`stall: ${plan.stall.reviews} reviews at ${plan.stall.concurrency} in flight against a registry that never answers`), await stallingRegistry(world, plan.stall)) : undefined;
    const wide = wants.has('wide') ? (progress(`wide: one review of ${plan.wide.images} distinct images`), await wideReview(world, plan.wide)) : undefined;
    // The CLI brings its own registry (token auth) and runs the build the world compiled, one process per command.
    const cli = wants.has('cli') ? await (async () => {
      const cliOptions = { ...cliPlan(process.env, plan.scale), main: cliMain(process.env, fromSource) };
      progress(`cli: pullguard resolve of ${cliOptions.images} images and of one image, ${cliOptions.runs} runs, against the undici floor and node -e 0`);
      return cliBench(cliOptions);
    })() : undefined;
    const nodes = wants.has('nodes') ? (progress(`nodes: pullguard with ${plan.nodes.counts.join(', ')} realistic Node objects after 2 of them (${plan.nodes.reviews} warm reviews each)`), await nodeScale(world, plan.nodes)) : undefined;
    figures['meta'] = { date: new Date().toISOString(), node: process.version, cpus: availableParallelism(), commit: commit(), pullguard: fromSource ? 'src/ (type-stripped)' : process.env.BENCH_BUILD === 'tsc' ? 'src/ compiled with tsc' : 'src/ bundled by esbuild', loadAverage: { start: loadAtStart, end: loadavg()[0]! } };
    if (stall) figures['stall'] = stall;
    if (wide) figures['wide'] = wide;
    if (audit) figures['audit'] = audit;
    if (nodes) figures['nodes'] = nodes;
    if (all) {
      const results = figures as unknown as Results;
      process.stdout.write(`\n${table(results)}\n\n${details(results)}\n${audit ? `\n${auditTable(audit)}\n` : ''}`);
    }
    if (stall || wide) process.stdout.write(`\n${hostileReport(stall, wide)}\n`);
    if (cli) {
      figures['cli'] = cli;
      process.stdout.write(`\n${cliTable(cli)}\n`);
    }
    if (nodes) process.stdout.write(`\n${nodesTable(nodes, chartMemoryLimitBytes())}\n`);
    writeFileSync(RESULTS, `${JSON.stringify(figures, null, 2)}\n`);
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
