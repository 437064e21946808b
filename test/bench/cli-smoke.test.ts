// The CLI bench scenario (cli.ts) at a tiny size: it runs end to end and counts what it reports. Correctness only:
// speed is for `npm run bench` to print, never for a test to assert.
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { cliBench, cliPlan, cliTable } from './cli.ts';

t.setTimeout(240_000);

t.test('the CLI scenario measures resolve, the undici floor and node -e 0, and counts their requests', async (t) => {
  const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
  const r = await cliBench({ images: 4, runs: 1, main });
  t.same(r.batch.exitCodes, [0], 'every image resolved');
  t.same(r.cold.exitCodes, [0]);
  t.equal(r.repositories, 2);
  t.match(r.batch.requests.floor, { ping: 1, token: 2, manifestHead: 0, manifestGet: 4, other: 0 }, 'the floor: a ping, a token per repository, a GET per image');
  t.equal(r.batch.requests.pullguard.token, 2, 'pullguard shares one token per repository too');
  t.ok(r.batch.requests.pullguard.manifestGet >= 4, 'and reads each manifest');
  for (const f of [r.batch.pullguard, r.batch.floor, r.cold.pullguard, r.cold.nodeBare]) {
    t.ok(f.median.wallMs > 0 && f.median.cpuMs > 0 && f.median.maxRssBytes > 0, 'each process reported its CPU and RSS');
  }
  const table = cliTable(r);
  t.match(table, /`resolve` of 4 images .*\| \d+\.\d\d× \| ≤ 1\.5× /);
  t.match(table, /Cold `resolve` of one image.*`node -e 0`.*\| ≤ 12× /);
  t.match(table, /Medians of 1 run \(1-min load average \d+\.\d at start/);
});

t.test('BENCH_CLI_IMAGES and BENCH_CLI_RUNS size the scenario; bad values are refused', async (t) => {
  t.same(cliPlan({}, 1), { images: 50, runs: 3 });
  t.same(cliPlan({ BENCH_CLI_IMAGES: '8', BENCH_CLI_RUNS: '1' }, 1), { images: 8, runs: 1 });
  t.throws(() => cliPlan({ BENCH_CLI_IMAGES: 'many' }, 1), /BENCH_CLI_IMAGES/);
});
