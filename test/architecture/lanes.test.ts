// `npm test` runs every test file exactly once: a file added anywhere under test/ is picked up without a list to
// edit, and a file in a lane is not run a second time in a process of its own.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, SERVER_LANES, SHARED_PROCESS_RULES, allTestFiles, serverLaneFiles, serverLanePatterns, tapConfig, tapOwnFiles, unitLaneFiles, unitLanePatterns } from './lanes.ts';

const UNIT = 'test/lanes/unit.test.ts';
const SERVER_AGGREGATORS = Object.keys(SERVER_LANES);

t.test('the lane lists are read from the files npm test uses', async (t) => {
  const config = tapConfig();
  t.same(config.include, ['test/**/*.test.ts'], '.taprc includes every test file');
  t.ok(unitLaneFiles().length >= 20, `${unitLaneFiles().length} files in the unit lane`);
  t.ok(tapOwnFiles().includes(UNIT), 'the unit lane runs, as one file of tap');
  for (const lane of SERVER_AGGREGATORS) {
    t.ok(serverLaneFiles(lane).length >= 5, `${serverLaneFiles(lane).length} files in ${lane}`);
    t.ok(tapOwnFiles().includes(lane), `${lane} runs, as one file of tap`);
  }
});

t.test('every test file runs exactly once in npm test', async (t) => {
  const runs = new Map<string, string[]>();
  const count = (file: string, how: string) => runs.set(file, [...(runs.get(file) ?? []), how]);
  for (const file of tapOwnFiles()) count(file, 'a tap process of its own');
  for (const file of unitLaneFiles()) count(file, UNIT);
  for (const lane of SERVER_AGGREGATORS) for (const file of serverLaneFiles(lane)) count(file, lane);
  for (const file of allTestFiles()) {
    const how = runs.get(file) ?? [];
    t.equal(how.length, 1, `${file} runs once (${how.join(' and ') || 'never'})`);
  }
  t.same([...runs.keys()].filter((f) => !allTestFiles().includes(f)), [], 'and nothing else is run');
  t.same(serverLanePatterns().filter((p) => tapOwnFiles({ include: [p], exclude: [] }).length === 0), [], 'every server-lane glob names a file');
});

t.test('.taprc leaves out of its own list exactly the files the lanes run', async (t) => {
  // The unit lane's globs in package.json and SERVER_LANES are the lists; .taprc `exclude` repeats them (tap reads
  // no other file). A glob added to a lane only would run its files twice, one added to the exclude only never.
  t.same(tapConfig().exclude, [...unitLanePatterns(), ...serverLanePatterns()], '.taprc exclude is test:unit then SERVER_LANES, glob for glob');
});

t.test('the checker notices a file dropped or run twice', async (t) => {
  const config = tapConfig();
  const dropped = tapOwnFiles({ include: config.include, exclude: [...config.exclude, 'test/cli/*.test.ts'] });
  t.notOk(dropped.includes('test/cli/main.test.ts'), 'an exclude nobody aggregates drops a file from tap');
  t.notOk([...unitLaneFiles(), ...serverLaneFiles()].includes('test/cli/main.test.ts'), 'which no lane picks up either');
  const twice = tapOwnFiles({ include: config.include, exclude: [] });
  t.ok(unitLaneFiles().every((f) => twice.includes(f)), 'without the exclude, every unit-lane file would also run alone');
  t.ok(serverLaneFiles().every((f) => twice.includes(f)), 'and every server-lane file');
});

t.test('no file in a server lane changes what the other files in its process see', async (t) => {
  for (const file of serverLaneFiles()) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const broken = SHARED_PROCESS_RULES.filter((rule) => rule.re.test(text)).map((rule) => rule.what);
    t.same(broken, [], `${file}: shares a process safely`);
  }
});

t.test('each rule catches what it names, and not its look-alike', async (t) => {
  for (const rule of SHARED_PROCESS_RULES) {
    t.ok(rule.re.test(rule.breaks), `${rule.what}: ${rule.breaks}`);
    t.notOk(rule.re.test(rule.fine), `but not: ${rule.fine}`);
  }
});
