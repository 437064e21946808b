// A server lane (test/architecture/lanes.ts SERVER_LANES) in one process for `npm test` (see lane.ts): files whose
// servers run in process, so most of what each costs on its own is a process's start-up. Each file still runs on
// its own with `npx tap test/x/y.test.ts`.
import { serverLaneFiles } from '../architecture/lanes.ts';
import { runLane } from './lane.ts';

await runLane(serverLaneFiles('test/lanes/resolve.test.ts'));
