// Tag suggestions for TagNotFound: edit distance with transpositions, version-aware ranking, bounded output.
import t from 'tap';
import { editDistance, suggestTags, versionOf } from '../../src/registry/suggest.ts';

t.test('editDistance counts insertions, deletions, substitutions and adjacent transpositions', async (t) => {
  const table: [string, string, number][] = [
    ['', '', 0],
    ['latest', 'latest', 0],
    ['', 'abc', 3],
    ['abc', '', 3],
    ['lates', 'latest', 1],
    ['latset', 'latest', 1],
    ['1.52', '1.25', 1],
    ['kitten', 'sitting', 3],
    ['v1.2.3', '1.2.3', 1],
    ['alpine', 'aplnie', 2],
  ];
  for (const [a, b, d] of table) t.equal(editDistance(a, b), d, `${a} → ${b}`);
  t.equal(editDistance('ab', 'ba'), 1, 'a transposition is one edit');
});

t.test('versionOf reads leading numeric versions', async (t) => {
  t.same(versionOf('1.25.3-alpine'), [1, 25, 3]);
  t.same(versionOf('v2'), [2]);
  t.equal(versionOf('latest'), undefined);
});

t.test('a typo of latest suggests latest first', async (t) => {
  t.same(suggestTags('lastest', ['1.0', 'latest', 'stable', 'edge']).slice(0, 1), ['latest']);
  t.same(suggestTags('latset', ['latest', 'late', 'lat']).slice(0, 1), ['latest']);
});

t.test('a missing version suggests the same version line, nearest first', async (t) => {
  const tags = ['1.24.0', '1.25.0', '1.25.1', '1.25.3', '1.26.0', '2.0.0', 'latest', 'mainline'];
  const got = suggestTags('1.25.2', tags);
  t.ok(got.length <= 5, 'at most five');
  t.same(got.slice(0, 3).sort(), ['1.25.0', '1.25.1', '1.25.3'].sort(), 'the 1.25 line comes first');
  t.notOk(got.includes('mainline'), 'unrelated tags are not suggested');
});

t.test('the flavour suffix counts: 1.25-alpine suggests alpine variants first', async (t) => {
  const got = suggestTags('1.25-alpine', ['1.25', '1.25-alpine3.19', '1.26-alpine', '1.25-bookworm']);
  t.equal(got[0], '1.26-alpine');
});

t.test('no suggestions when nothing is close, and never the wanted tag itself', async (t) => {
  t.same(suggestTags('v9.9.9-special', ['alpha', 'beta', 'gamma']), []);
  t.same(suggestTags('x', []), []);
  t.notOk(suggestTags('1.0', ['1.0', '1.1']).includes('1.0'));
});

t.test('at most five suggestions from a large tag list, deterministically', async (t) => {
  const tags = Array.from({ length: 10_000 }, (_, i) => `build-${i}`);
  const a = suggestTags('build-5000x', tags);
  const b = suggestTags('build-5000x', [...tags].reverse());
  t.equal(a.length, 5);
  t.same(a, b, 'order of the registry listing does not matter');
  t.equal(a[0], 'build-5000');
});

t.test('hostile tag lists are ignored safely', async (t) => {
  const weird = ['x'.repeat(10_000), '', 'latest', 'latest', 42 as unknown as string];
  t.same(suggestTags('lates', weird), ['latest']);
});

t.test('a bounded distance is exact up to the bound and bound+1 beyond it', async (t) => {
  const { editDistance } = await import('../../src/registry/suggest.ts');
  const pairs: [string, string][] = [['1.25', '1.52'], ['latest', 'lates'], ['alpine', 'alpnie'], ['v1.2.3', 'v1.2.4-rc1'], ['a'.repeat(120), 'b'.repeat(120)], ['', 'abc']];
  for (const [a, b] of pairs) {
    const full = editDistance(a, b);
    for (const limit of [0, 1, 2, 3, 5, 200]) {
      t.equal(editDistance(a, b, limit), full <= limit ? full : limit + 1, `${a.slice(0, 10)} / ${b.slice(0, 10)} limit ${limit}`);
    }
  }
});

t.test('tags a registry sends that are not tags (control characters, too long) are never suggested', async (t) => {
  const { suggestTags } = await import('../../src/registry/suggest.ts');
  const got = suggestTags('1.25', ['1.25\nWarning: injected', '1.26', `1.2${'5'.repeat(200)}`, '-1.25', '1.24']);
  t.same(got.sort(), ['1.24', '1.26']);
});
