// `npm test` runs every test file exactly once: a file added anywhere under test/ is picked up without a list to
// edit, and a file in the unit lane is not run a second time in a process of its own.
import t from 'tap';
import { allTestFiles, tapConfig, tapOwnFiles, unitLaneFiles, unitLanePatterns } from './lanes.ts';

const AGGREGATOR = 'test/lanes/unit.test.ts';

t.test('the lane lists are read from the files npm test uses', async (t) => {
  const config = tapConfig();
  t.same(config.include, ['test/**/*.test.ts'], '.taprc includes every test file');
  t.ok(unitLaneFiles().length >= 20, `${unitLaneFiles().length} files in the unit lane`);
  t.ok(tapOwnFiles().includes(AGGREGATOR), 'the unit lane runs, as one file of tap');
});

t.test('every test file runs exactly once in npm test', async (t) => {
  const runs = new Map<string, string[]>();
  const count = (file: string, how: string) => runs.set(file, [...(runs.get(file) ?? []), how]);
  for (const file of tapOwnFiles()) count(file, 'a tap process of its own');
  for (const file of unitLaneFiles()) count(file, AGGREGATOR);
  for (const file of allTestFiles()) {
    const how = runs.get(file) ?? [];
    t.equal(how.length, 1, `${file} runs once (${how.join(' and ') || 'never'})`);
  }
  t.same([...runs.keys()].filter((f) => !allTestFiles().includes(f)), [], 'and nothing else is run');
});

t.test('.taprc leaves out of its own list exactly the files the unit lane runs', async (t) => {
  // The unit lane's globs in package.json are the list; .taprc `exclude` repeats them (tap reads no other file).
  // A file added to test:unit only would run twice, one added to the exclude only never in test:unit.
  t.same(tapConfig().exclude, unitLanePatterns(), '.taprc exclude is package.json test:unit, glob for glob');
});

t.test('the checker notices a file dropped or run twice', async (t) => {
  const config = tapConfig();
  const dropped = tapOwnFiles({ include: config.include, exclude: [...config.exclude, 'test/cli/*.test.ts'] });
  t.notOk(dropped.includes('test/cli/main.test.ts'), 'an exclude nobody aggregates drops a file from tap');
  t.notOk(unitLaneFiles().includes('test/cli/main.test.ts'), 'which no lane picks up either');
  const twice = tapOwnFiles({ include: config.include, exclude: [] });
  t.ok(unitLaneFiles().every((f) => twice.includes(f)), 'without the exclude, every unit-lane file would also run alone');
});
