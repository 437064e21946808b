// The stall scenario's load generator in a process of its own: the bench's main process also runs the fault proxy
// (holding every stalled request) and the fake API server, and their work would otherwise delay the reading of
// answers and count as pullguard's lateness. It measures its own event-loop delay (perf_hooks), so what is left
// of a late answer after the client's lag can be told apart.
//
// Protocol: argv[2] is a ClientJob as JSON. The client opens its connections, prints {"ready":true}, waits for a
// line on stdin (the parent sets the fault in between), runs the load, prints the ClientResult as one JSON line.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { openPool, runLoad, sendReview, type LoadResult } from './load.ts';
import { deploymentReviewBody } from './review-body.ts';

export interface ClientJob {
  origin: string;
  caPem: string;
  count: number;
  concurrency: number;
  maxMs: number;
  path: string;
  /** Review i asks for `${imagePrefix}${i % 50}:t${run}-${i}` (each review its own image). */
  imagePrefix: string;
  run: string;
  /** An image that answers, to open the connections with. */
  openImage: string;
}

export interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ClientResult {
  load: LoadResult;
  /** The client's own event-loop delay while the load ran. */
  loopDelay: LoopDelay;
  /** CPU time the client used while the load ran (user + system), ms. */
  cpuMs: number;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as ClientJob;
  const body = deploymentReviewBody();
  const pool = openPool(job.origin, job.caPem, job.concurrency);
  try {
    // Open every connection first (the API server keeps them alive): a TLS handshake is no part of a review.
    const opened = await Promise.all(Array.from({ length: job.concurrency }, (_, i) => sendReview(pool, { uid: `stall-open-${i}`, body: body(`stall-open-${i}`, job.openImage) })));
    const broken = opened.find((r) => r.failure !== undefined);
    if (broken) throw new Error(`opening connections failed: ${broken.failure}`);
    process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
    const lines = createInterface({ input: process.stdin });
    await new Promise<void>((resolve) => lines.once('line', () => resolve()));
    lines.close();

    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const cpu0 = process.cpuUsage();
    const load = await runLoad({
      pool,
      count: job.count,
      concurrency: job.concurrency,
      maxMs: job.maxMs,
      path: job.path,
      review: (i) => {
        const uid = `stall-${job.run}-${i}`;
        return { uid, body: body(uid, `${job.imagePrefix}${i % 50}:t${job.run}-${i}`) };
      },
    });
    delay.disable();
    const cpu = process.cpuUsage(cpu0);
    const result: ClientResult = {
      load,
      loopDelay: { p50Ms: delay.percentile(50) / 1e6, p99Ms: delay.percentile(99) / 1e6, maxMs: delay.max / 1e6 },
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
    // A pipe is written asynchronously: exit only once the whole line is out.
    await new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(result)}\n`, () => resolve()));
  } finally {
    await pool.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`load client failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
