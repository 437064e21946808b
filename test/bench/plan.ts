// How much each scenario does: the sizes at BENCH_SCALE=1, scaled down (never to nothing) for a quick run,
// each overridable on its own by environment variable. Every loop is bounded by count and by time.
import type { ColdOptions, HerdOptions, MemoryOptions, WarmOptions } from './scenarios.ts';
import type { StallOptions } from './hostile.ts';
import type { NodesOptions } from './nodes.ts';

export const SCENARIOS = ['warm', 'cold', 'herd', 'memory', 'stall', 'wide', 'cli', 'nodes'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface Plan {
  scale: number;
  warm: WarmOptions;
  cold: ColdOptions;
  herd: HerdOptions;
  memory: MemoryOptions;
  /** Reviews against a registry that never answers: late answers and RSS. */
  stall: StallOptions;
  /** One review naming this many distinct images. */
  wide: { images: number };
  /** pullguard against thousands of realistic Node objects, next to 2 of them. */
  nodes: NodesOptions;
  /** BENCH_SCENARIOS=stall,wide runs only those (default: all). */
  scenarios: Scenario[];
  /** The whole run gives up after this long. */
  maxSeconds: number;
}

type Env = Readonly<Record<string, string | undefined>>;

function positive(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${JSON.stringify(raw)}: expected a positive number`);
  return n;
}

export function planFrom(env: Env): Plan {
  const scale = positive(env, 'BENCH_SCALE', 1);
  const scaled = (name: string, full: number, least: number): number => Math.round(positive(env, name, Math.max(least, Math.round(full * scale))));
  const concurrency = scaled('BENCH_CONCURRENCY', 16, 16);
  return {
    scale,
    warm: { count: scaled('BENCH_WARM_REVIEWS', 5000, 50), warmup: scaled('BENCH_WARMUP_REVIEWS', 1000, 20), concurrency, rounds: 2, maxMs: 60_000 },
    cold: { images: scaled('BENCH_COLD_IMAGES', 30, 3), maxMs: 60_000 },
    herd: { reviews: scaled('BENCH_HERD_REVIEWS', 500, 10) },
    memory: {
      reviews: scaled('BENCH_MEMORY_REVIEWS', 100_000, 100),
      images: scaled('BENCH_MEMORY_IMAGES', 10_000, 20),
      repositories: scaled('BENCH_MEMORY_REPOSITORIES', 20, 2),
      existingTags: Math.round(positive(env, 'BENCH_MEMORY_EXISTING_TAGS', 10)),
      concurrency,
      maxMs: positive(env, 'BENCH_MEMORY_MAX_SECONDS', 150) * 1000,
      rssCapBytes: positive(env, 'BENCH_RSS_CAP_MIB', 2048) * 1024 * 1024,
    },
    stall: {
      // The target: 0 late of 10,000 at 50 in flight (about 5 minutes: each review waits out its deadline).
      reviews: scaled('BENCH_STALL_REVIEWS', 10_000, 100),
      concurrency: scaled('BENCH_STALL_CONCURRENCY', 50, 50),
      timeoutSeconds: positive(env, 'BENCH_STALL_TIMEOUT_SECONDS', 3),
      maxMs: positive(env, 'BENCH_STALL_MAX_SECONDS', 600) * 1000,
    },
    wide: { images: scaled('BENCH_WIDE_IMAGES', 20_000, 1000) },
    nodes: {
      counts: nodeCounts(env['BENCH_NODES'], scale),
      reviews: scaled('BENCH_NODES_REVIEWS', 3000, 50),
      warmup: scaled('BENCH_NODES_WARMUP', 500, 20),
      concurrency,
      maxMs: 60_000,
      syncTimeoutMs: positive(env, 'BENCH_NODES_SYNC_SECONDS', 180) * 1000,
    },
    scenarios: scenariosFrom(env['BENCH_SCENARIOS']),
    maxSeconds: positive(env, 'BENCH_MAX_SECONDS', scenariosFrom(env['BENCH_SCENARIOS']).includes('stall') ? 1200 : 600),
  };
}

/** BENCH_NODES=5000,15000 (the default, scaled by BENCH_SCALE, never below 100). */
function nodeCounts(raw: string | undefined, scale: number): number[] {
  if (raw === undefined || raw.trim() === '') return [5000, 15_000].map((n) => Math.max(100, Math.round(n * scale)));
  return raw.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_NODES: "${s}" is not a node count`);
    return n;
  });
}

function scenariosFrom(raw: string | undefined): Scenario[] {
  if (raw === undefined || raw.trim() === '') return [...SCENARIOS];
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!(SCENARIOS as readonly string[]).includes(n)) throw new Error(`BENCH_SCENARIOS: unknown scenario "${n}" (one of ${SCENARIOS.join(', ')})`);
  return names as Scenario[];
}
