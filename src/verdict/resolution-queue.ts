// At most N image resolutions in flight across all reviews, the waiting ones served in turn review by review
// (round robin), so one review of 200 images cannot starve the one-image reviews behind it. Work that has not
// started when its review's deadline passes (or its review's signal fires: the review was answered) is never
// started: its answer would come too late to matter.

export interface QueueState {
  running: number;
  queued: number;
}

export interface ResolutionQueue {
  /**
   * `task()` once a slot is free, or `late()` if the review's deadline (epoch ms) passes or its `signal` fires
   * first (the first call of a review brings the signal for all of its work).
   */
  run<T>(review: object, deadline: number, task: () => Promise<T>, late: () => T, signal?: AbortSignal): Promise<T>;
  state(): QueueState;
}

interface Job {
  deadline: number;
  start(): void;
  late(): void;
}

interface Group {
  jobs: Job[];
  running: number;
  /** When it last got a slot (a turn number; 0: never). */
  servedAt: number;
  timer: NodeJS.Timeout | undefined;
  /** Detaches the review signal's listener. */
  unlisten: (() => void) | undefined;
}

/**
 * Work with less time left than this is not started: its answer could not come back in time, and the abort at the
 * deadline (which frees the slot it would take) may fire a millisecond before the clock reads the deadline.
 */
const LEAST_USEFUL_MS = 20;

/** Whether run() would answer `late()` at once, starting nothing: too little time left, or the review has ended. */
export function tooLateToStart(deadline: number, clock: () => number, signal?: { readonly aborted: boolean }): boolean {
  return deadline - clock() < LEAST_USEFUL_MS || signal?.aborted === true;
}

export function createResolutionQueue(limit: number, opts: { clock?: () => number; onChange?: (s: QueueState) => void } = {}): ResolutionQueue {
  const clock = opts.clock ?? Date.now;
  // A review stays here while it has work queued or running. The next slot goes to the review served longest ago
  // (or never; among those, the one that came first).
  const groups = new Map<object, Group>();
  let turn = 0;
  let running = 0;
  let queued = 0;
  const changed = () => opts.onChange?.({ running, queued });

  function forget(review: object, group: Group): void {
    if (group.jobs.length > 0 || group.running > 0) return;
    clearTimeout(group.timer);
    group.unlisten?.();
    if (groups.get(review) === group) groups.delete(review);
  }

  function pump(): void {
    while (running < limit && queued > 0) {
      let next: [object, Group] | undefined;
      for (const entry of groups) {
        if (entry[1].jobs.length > 0 && (next === undefined || entry[1].servedAt < next[1].servedAt)) next = entry;
      }
      if (!next) break;
      const [review, group] = next;
      group.servedAt = ++turn;
      const job = group.jobs.shift()!;
      queued--;
      // Its deadline may pass while the slot was being freed (the abort at the deadline frees it).
      if (job.deadline - clock() < LEAST_USEFUL_MS) {
        job.late();
        forget(review, group);
        continue;
      }
      running++;
      group.running++;
      job.start();
    }
    changed();
  }

  return {
    state: () => ({ running, queued }),
    run<T>(review: object, deadline: number, task: () => Promise<T>, late: () => T, signal?: AbortSignal): Promise<T> {
      if (tooLateToStart(deadline, clock, signal)) return Promise.resolve(late());
      let group = groups.get(review);
      if (!group) {
        const g: Group = { jobs: [], running: 0, servedAt: 0, timer: undefined, unlisten: undefined };
        // At the deadline, whatever of this review still waits gets its late answer and never starts.
        const drop = (): void => {
          queued -= g.jobs.length;
          for (const j of g.jobs.splice(0)) j.late();
          forget(review, g);
          changed();
        };
        g.timer = setTimeout(drop, deadline - clock());
        if (signal) {
          signal.addEventListener('abort', drop, { once: true });
          g.unlisten = () => signal.removeEventListener('abort', drop);
        }
        groups.set(review, g);
        group = g;
      }
      const owner = group;
      return new Promise<T>((resolve) => {
        owner.jobs.push({
          deadline,
          start() {
            let p: Promise<T>;
            try {
              p = task();
            } catch {
              p = Promise.resolve(late());
            }
            p.then(resolve, () => resolve(late())).finally(() => {
              running--;
              owner.running--;
              forget(review, owner);
              pump();
            });
          },
          late: () => resolve(late()),
        });
        queued++;
        pump();
      });
    },
  };
}
