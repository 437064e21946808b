// How late this process's event loop runs timers now. Under load a timer set for the deadline fires that much after
// it, and a request waits about as long before its headers are even read. So the backstop fires that much early.
// Measured with perf_hooks.monitorEventLoopDelay over one-second windows; the margin is the longest delay of the last
// few windows, so a burst of load raises it at once and it falls back a few seconds after. The longest, not the p99:
// the bench (10,000 reviews, 2 loaded cores) still had 282 answers late by pullguard's own clock with a p99 margin
// (73 ms) against delays of up to 1.2 s; it is capped at a quarter of the review's time where it is used.
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LoopLag {
  /** The longest recent timer lateness, ms (0 until a window has been measured). */
  marginMs(): number;
  stop(): void;
}

export interface LoopLagOptions {
  /** Default 1000. */
  windowMs?: number;
  /** Windows remembered. Default 5. */
  windows?: number;
  /** Sampling timer period, ms. Default 10. */
  resolutionMs?: number;
  /** Called with the margin after each window (a metric). */
  onWindow?: (marginMs: number) => void;
}

export function watchLoopLag(opts: LoopLagOptions = {}): LoopLag {
  const histogram = monitorEventLoopDelay({ resolution: opts.resolutionMs ?? 10 });
  histogram.enable();
  const recent: number[] = [];
  const keep = opts.windows ?? 5;
  let margin = 0;
  const timer = setInterval(() => {
    // Nanoseconds; an empty window (count 0) reads as 0 lateness.
    recent.push(histogram.count > 0 ? histogram.max / 1e6 : 0);
    if (recent.length > keep) recent.shift();
    histogram.reset();
    margin = Math.max(...recent);
    opts.onWindow?.(margin);
  }, opts.windowMs ?? 1000);
  timer.unref();
  return {
    marginMs: () => margin,
    stop() {
      clearInterval(timer);
      histogram.disable();
    },
  };
}

/**
 * How much earlier than its deadline a review is answered: the configured margin, or with `auto` the measured loop
 * lag, never more than a quarter of the time the review has (a loop that slow answers unknown at once otherwise).
 */
export function lagMargin(setting: 'auto' | number, measuredMs: number, budgetMs: number): number {
  const wanted = setting === 'auto' ? measuredMs : setting;
  return Math.max(0, Math.min(Math.ceil(wanted), Math.floor(Math.max(0, budgetMs) / 4)));
}
