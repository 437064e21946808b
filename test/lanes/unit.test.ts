// The unit lane (package.json `test:unit`) in one process for `npm test` (see lane.ts). Each file still runs on its
// own with `npx tap test/x/y.test.ts`, and `npm run test:unit` runs them a process each.
import { unitLaneFiles } from '../architecture/lanes.ts';
import { runLane } from './lane.ts';

await runLane(unitLaneFiles());
