// Polls until a condition holds, bounded by a number of attempts, so tests wait for asynchronous effects (watch
// events) without asserting anything about time. The caller asserts on the value returned.
export async function eventually<T>(probe: () => T | Promise<T>, done: (value: T) => boolean, attempts = 1000): Promise<T> {
  let value = await probe();
  for (let i = 0; i < attempts && !done(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    value = await probe();
  }
  return value;
}

/** A logger that keeps what it is given, to assert on what was (and was not) logged. */
export function captureLogger() {
  const lines: { level: 'warn' | 'info' | 'debug'; fields: object; message: string }[] = [];
  return {
    lines,
    warn: (fields: object, message: string) => void lines.push({ level: 'warn', fields, message }),
    info: (fields: object, message: string) => void lines.push({ level: 'info', fields, message }),
    debug: (fields: object, message: string) => void lines.push({ level: 'debug', fields, message }),
  };
}
