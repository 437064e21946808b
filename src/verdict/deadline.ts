// Waiting for I/O no longer than the review's deadline: whatever has not answered by then gets a fallback value.

/** `p`, or `late()` if the deadline (epoch ms on `clock`) comes first; the work behind `p` carries on unobserved. */
export function beforeDeadline<T>(p: Promise<T>, deadline: number, late: () => T, clock: () => number = Date.now): Promise<T> {
  const left = deadline - clock();
  if (left <= 0) return Promise.resolve(late());
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(late()), left);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
