// At most N image resolutions in flight across all reviews, the waiting ones served in turn review by review
// (round robin), so one review of 200 images cannot starve the one-image reviews behind it. Work that has not
// started when its review's deadline passes is never started: its answer would come too late to matter.

export interface QueueState {
  running: number;
  queued: number;
}

export interface ResolutionQueue {
  /** `task()` once a slot is free, or `late()` if the review's deadline (epoch ms) passes first. */
  run<T>(review: object, deadline: number, task: () => Promise<T>, late: () => T): Promise<T>;
  state(): QueueState;
}

interface Job {
  start(): void;
}

interface Group {
  jobs: Job[];
  timer: NodeJS.Timeout | undefined;
  expire(): void;
}

export function createResolutionQueue(limit: number, opts: { clock?: () => number; onChange?: (s: QueueState) => void } = {}): ResolutionQueue {
  const clock = opts.clock ?? Date.now;
  // Insertion order is the turn order: a review that got a slot goes to the back.
  const groups = new Map<object, Group>();
  let running = 0;
  let queued = 0;
  const changed = () => opts.onChange?.({ running, queued });

  function pump(): void {
    while (running < limit && groups.size > 0) {
      const [review, group] = groups.entries().next().value as [object, Group];
      groups.delete(review);
      const job = group.jobs.shift()!;
      queued--;
      if (group.jobs.length > 0) groups.set(review, group);
      else clearTimeout(group.timer);
      running++;
      job.start();
    }
    changed();
  }

  return {
    state: () => ({ running, queued }),
    run<T>(review: object, deadline: number, task: () => Promise<T>, late: () => T): Promise<T> {
      if (deadline - clock() <= 0) return Promise.resolve(late());
      return new Promise<T>((resolve) => {
        const job: Job & { late(): void } = {
          start() {
            let p: Promise<T>;
            try {
              p = task();
            } catch {
              p = Promise.resolve(late());
            }
            p.then(resolve, () => resolve(late())).finally(() => {
              running--;
              pump();
            });
          },
          late: () => resolve(late()),
        };
        let group = groups.get(review);
        if (!group) {
          const g: Group = {
            jobs: [],
            timer: undefined,
            expire() {
              if (groups.get(review) !== g) return;
              groups.delete(review);
              queued -= g.jobs.length;
              for (const j of g.jobs.splice(0)) (j as typeof job).late();
              changed();
            },
          };
          g.timer = setTimeout(() => g.expire(), deadline - clock());
          group = g;
          groups.set(review, group);
        }
        group.jobs.push(job);
        queued++;
        pump();
      });
    },
  };
}
