// The unit lane (package.json `test:unit`) in one process for `npm test`: each file is imported in turn and its
// top-level tests join this file's run, so a failure is reported under the test's own name with the file and line
// it is in. A file that cannot even load fails here by name and the rest still run. Each file still runs on its own
// with `npx tap test/x/y.test.ts`, and `npm run test:unit` runs them a process each.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, unitLaneFiles } from '../architecture/lanes.ts';

const files = unitLaneFiles();
t.ok(files.length > 0, `${files.length} files in the unit lane`);
for (const file of files) {
  try {
    await import(pathToFileURL(join(ROOT, file)).href);
  } catch (err) {
    t.fail(`${file} loads`, { error: err });
  }
}
