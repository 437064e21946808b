// Runs a lane's test files in this one process, in turn: each file is imported and its top-level tests join this
// process's run, so a failure is reported under the test's own name with the file and line it is in. A file that
// cannot even load fails here by name and the rest still run.
// A file's top-level `t.teardown` would bind to the lane's root and run only when the whole lane ends, keeping its
// servers and registries up meanwhile: it is held back while the file loads and run right after the file's own tests
// instead, as it would at the end of the file's own process. A top-level `t.before` is queued by tap behind the
// tests already queued, where a failure would go unreported (tap waits on a deferred before() without a handler):
// the lane reports it as a failure of the file.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import t from 'tap';
import { ROOT } from '../architecture/lanes.ts';

type Hook = (this: unknown) => unknown;
const root = t as unknown as { teardown: (fn: Hook) => void; before: (fn: Hook) => void };

// .taprc's timeout (120 s) is for one file; a lane is many, each of which had that long on its own. On a loaded
// 2-core machine the server lanes have taken 75-135 s (quiet, far less): they get 300 s, as audit/continuous does.
const LANE_TIMEOUT_MS = 300_000;

export async function runLane(files: readonly string[]): Promise<void> {
  t.setTimeout(LANE_TIMEOUT_MS);
  t.ok(files.length > 0, `${files.length} files in this lane`);
  let last = { wall: performance.now(), cpu: process.cpuUsage() };
  for (const file of files) {
    const teardowns: Hook[] = [];
    const { teardown, before } = root;
    root.teardown = (fn) => void teardowns.push(fn);
    root.before = (fn) =>
      before.call(t, async function (this: unknown) {
        try {
          await fn.call(this);
        } catch (err) {
          t.fail(`${file}: its before() succeeds`, { error: err });
        }
      });
    try {
      await import(pathToFileURL(join(ROOT, file)).href);
    } catch (err) {
      t.fail(`${file} loads`, { error: err });
    } finally {
      Object.assign(root, { teardown, before });
    }
    // Queued behind the file's own tests: the time since the previous file's end is this file's share of the lane
    // (wall, and this process's CPU: a loaded machine stretches the first, hardly the second).
    t.test(`${file}: its top-level teardowns close what it started`, async (t) => {
      for (const fn of teardowns) await fn();
      const now = { wall: performance.now(), cpu: process.cpuUsage() };
      const cpu = (now.cpu.user + now.cpu.system - last.cpu.user - last.cpu.system) / 1000;
      t.pass(`${teardowns.length} top-level teardown(s) ran; the file took ${Math.round(now.wall - last.wall)} ms (${Math.round(cpu)} ms CPU)`);
      last = now;
    });
  }
}
